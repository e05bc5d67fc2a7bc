"""Putting a message in a person's inbox (once), and reading it back in words."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from events.envelope import utcnow
from events.messages import PLACEHOLDER, Message
from events.settings import city_zone
from services.notifications.kinds import KINDS, OBJECTION_DECISIONS
from services.notifications.models import (
    ActivityView,
    CycleView,
    Delivery,
    Notification,
    Preference,
)

QUIET_START, QUIET_END = time(22, 0), time(7, 0)


def preference(session: Session, account_id: str) -> Preference:
    """A person's preferences (the defaults until they change them: everything on, quiet hours
    kept, outside channels allowed)."""
    found = session.get(Preference, account_id)
    if found is None:
        found = Preference(
            account_id=account_id,
            muted_kinds=[],
            quiet_at_night=True,
            outside_channels=True,
            updated_at=utcnow(),
        )
    return found


def tell(
    session: Session,
    recipient_id: str | None,
    kind: str,
    dedupe_key: str,
    *,
    link: str,
    values: dict | None = None,
    activity_id: str | None = None,
    signup_id: str | None = None,
    now: datetime | None = None,
) -> Notification | None:
    """Put one message in the recipient's inbox unless it is already there (by ``dedupe_key``) or
    they turned its kind off; an outside-channel kind also gets a delivery to send. Returns the
    new message, or None."""
    if not recipient_id:
        return None
    spec = KINDS[kind]
    chosen = preference(session, recipient_id)
    if kind in chosen.muted_kinds and not spec.essential:
        return None
    now = now or utcnow()
    row = {
        "id": str(uuid.uuid4()),
        "recipient_id": recipient_id,
        "kind": kind,
        "values": dict(values or {}),
        "link": link,
        "urgent": spec.urgent,
        "dedupe_key": dedupe_key[:200],
        "activity_id": activity_id,
        "signup_id": signup_id,
        "created_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    added = session.execute(
        insert(Notification).values(row).on_conflict_do_nothing().returning(Notification.id)
    ).scalar()
    if added is None:
        return None
    if spec.outside and chosen.outside_channels:
        wait_until = quiet_end(now) if chosen.quiet_at_night and not spec.urgent else now
        session.add(
            Delivery(
                id=str(uuid.uuid4()),
                notification_id=added,
                recipient_id=recipient_id,
                state="pending",
                attempts=0,
                next_attempt_at=wait_until,
                created_at=now,
            )
        )
    return session.get(Notification, added)


def quiet_end(now: datetime) -> datetime:
    """``now``, or the end of the quiet hours (07:00, city time) when ``now`` lies in them."""
    local = now.astimezone(city_zone())
    if QUIET_END <= local.time() < QUIET_START:
        return now
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=city_zone())


def local_time(moment: datetime) -> str:
    """A moment as messages write it, in the city's time: 2026-12-08 09:00."""
    return moment.astimezone(city_zone()).strftime("%Y-%m-%d %H:%M")


def message(session: Session, found: Notification, views: dict | None = None) -> Message:
    """The message in words (a ``Message``: Chinese text with its key and values), with the
    activity's or cycle's title, time and place as the service knows them now."""
    values = dict(found.values or {})
    activity = _view(session, ActivityView, found.activity_id, views)
    if activity is not None:
        values.setdefault("title", activity.title)
        values.setdefault("when", local_time(activity.starts_at))
        values.setdefault("address", activity.address or "—")
    cycle = _view(session, CycleView, values.get("cycle_id"), views)
    if cycle is not None:
        values.setdefault("title", cycle.title)
    if "decision" in values:
        values["decision"] = Message(OBJECTION_DECISIONS.get(values["decision"], "—"))
    template = KINDS[found.kind].template
    names = PLACEHOLDER.findall(template)
    return Message(template, {name: values.get(name, "—") for name in names})


def _view(session: Session, model, key, views: dict | None):
    if not key:
        return None
    if views is not None and (model, key) in views:
        return views[(model, key)]
    return session.get(model, key)


def inbox_views(session: Session, rows: list[Notification]) -> dict:
    """The activities and cycles a page of messages mentions, read in two queries."""
    activity_ids = {r.activity_id for r in rows if r.activity_id}
    cycle_ids = {(r.values or {}).get("cycle_id") for r in rows} - {None}
    views: dict = {}
    if activity_ids:
        for view in session.scalars(
            select(ActivityView).where(ActivityView.activity_id.in_(activity_ids))
        ):
            views[(ActivityView, view.activity_id)] = view
    if cycle_ids:
        for view in session.scalars(select(CycleView).where(CycleView.cycle_id.in_(cycle_ids))):
            views[(CycleView, view.cycle_id)] = view
    return views
