"""What people do with their inbox: read it, mark messages read, answer a reminder, choose what
they are told; and what administrators read of the outside deliveries."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from events.envelope import utcnow
from services.common.auth import Principal
from services.common.errors import Conflict, DomainError, NotFound
from services.notifications.kinds import KINDS, REMINDER_KINDS
from services.notifications.models import (
    ActivityView,
    Delivery,
    DeliveryAttempt,
    Notification,
    Preference,
    UnitView,
    VolunteerView,
)
from services.notifications.telling import inbox_views, message, preference


def _shown(session: Session, found: Notification, views: dict | None = None) -> dict:
    words = message(session, found, views)
    activity = (views or {}).get((ActivityView, found.activity_id)) if found.activity_id else None
    answerable = (
        found.kind in REMINDER_KINDS
        and found.answer is None
        and (activity is None or activity.starts_at > utcnow())
    )
    return {
        "id": found.id,
        "kind": found.kind,
        "text": str(words),
        "message": words.meaning(),
        "link": found.link,
        "urgent": found.urgent,
        "created_at": found.created_at,
        "read_at": found.read_at,
        "activity_id": found.activity_id,
        "signup_id": found.signup_id,
        "answerable": answerable,
        "answer": found.answer,
    }


def unread(session: Session, account_id: str) -> int:
    """How many of the person's messages are unread."""
    return session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == account_id, Notification.read_at.is_(None))
    )


def inbox(session: Session, account_id: str, page: int, per_page: int, only_unread: bool) -> dict:
    """A page of the person's messages, newest first."""
    where = [Notification.recipient_id == account_id]
    if only_unread:
        where.append(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Notification).where(*where))
    rows = session.scalars(
        select(Notification)
        .where(*where)
        .order_by(Notification.created_at.desc(), Notification.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    views = inbox_views(session, rows)
    return {
        "items": [_shown(session, row, views) for row in rows],
        "total": total,
        "unread": unread(session, account_id),
        "page": page,
        "per_page": per_page,
    }


def _own(session: Session, account_id: str, notification_id: str) -> Notification:
    found = session.get(Notification, notification_id)
    if found is None or found.recipient_id != account_id:
        raise NotFound("没有这条消息", code="unknown-notification")
    return found


def mark_read(session: Session, account_id: str, notification_id: str) -> dict:
    """Mark one of the person's messages read (again is fine)."""
    found = _own(session, account_id, notification_id)
    if found.read_at is None:
        found.read_at = utcnow()
    return _shown(session, found, inbox_views(session, [found]))


def read_all(session: Session, account_id: str) -> int:
    """Mark every message of the person read."""
    session.execute(
        update(Notification)
        .where(Notification.recipient_id == account_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return 0


def answer(session: Session, account_id: str, notification_id: str, reply: str) -> dict:
    """Record a reminder's answer (the sign-up itself is cancelled through services/volunteers
    before ``not_coming`` is recorded here)."""
    found = _own(session, account_id, notification_id)
    if found.kind not in REMINDER_KINDS:
        raise Conflict("这条消息不需要回复", code="not-a-reminder")
    if found.answer == "not_coming":
        raise Conflict("你已经回复不能来了，报名已取消", code="already-answered")
    now = utcnow()
    found.answer, found.answered_at = reply, now
    found.read_at = found.read_at or now
    return _shown(session, found, inbox_views(session, [found]))


def preferences(session: Session, account_id: str) -> dict:
    """The person's choices and every kind they may choose from."""
    found = preference(session, account_id)
    return {
        "muted_kinds": list(found.muted_kinds),
        "quiet_at_night": found.quiet_at_night,
        "outside_channels": found.outside_channels,
        "kinds": [
            {"name": k.name, "label": k.label, "audience": k.audience, "essential": k.essential}
            for k in KINDS.values()
        ],
    }


def set_preferences(session: Session, account_id: str, body: dict) -> dict:
    """Change the person's choices; kinds that change where they must be cannot be turned off."""
    essential = sorted(k for k in body["muted_kinds"] if KINDS[k].essential)
    if essential:
        raise DomainError(
            "这些消息关系到你是否要到场，不能关闭：{kinds}",
            code="essential-kind",
            status=422,
            values={"kinds": "、".join(KINDS[k].label for k in essential)},
        )
    found = session.get(Preference, account_id)
    if found is None:
        found = preference(session, account_id)
        session.add(found)
    found.muted_kinds = sorted(set(body["muted_kinds"]))
    found.quiet_at_night, found.outside_channels = body["quiet_at_night"], body["outside_channels"]
    found.updated_at = utcnow()
    session.flush()
    return preferences(session, account_id)


def deliveries(session: Session, who: Principal, state: str | None, page: int, per_page: int):
    """Outside deliveries an administrator may read: those to volunteers of their units (and,
    for administrators of a whole city, to staff with no volunteer profile)."""
    query = (
        select(Delivery, Notification.kind, VolunteerView.display_name)
        .join(Notification, Notification.id == Delivery.notification_id)
        .outerjoin(VolunteerView, VolunteerView.volunteer_id == Delivery.recipient_id)
        .outerjoin(UnitView, UnitView.unit_id == VolunteerView.home_unit_id)
    )
    if not who.system:
        paths = who.paths("admin")
        scope = [UnitView.path.startswith(path) for path in paths]
        if any(path.count("/") == 2 for path in paths):  # a root of the tree: /nb/
            scope.append(UnitView.unit_id.is_(None))
        query = query.where(or_(*scope) if scope else and_(False))
    if state:
        query = query.where(Delivery.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(
        query.order_by(Delivery.created_at.desc(), Delivery.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    tries: dict[str, list] = {}
    ids = [row[0].id for row in rows]
    if ids:
        for attempt in session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id.in_(ids))
            .order_by(DeliveryAttempt.attempt)
        ):
            tries.setdefault(attempt.delivery_id, []).append(attempt)
    items = [
        {
            **{c.name: getattr(delivery, c.name) for c in Delivery.__table__.columns},
            "kind": kind,
            "recipient_name": name,
            "tries": tries.get(delivery.id, []),
        }
        for delivery, kind, name in rows
    ]
    return {"items": items, "total": total, "page": page, "per_page": per_page}
