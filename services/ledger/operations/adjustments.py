"""Adjustments: requested by staff, approved (posted as rows) or rejected by another administrator."""

from __future__ import annotations

import uuid

from sqlalchemy import (
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from events.envelope import utcnow
from events.messages import Message
from services.common.errors import Conflict, DomainError, NotFound
from services.common.states import AdjustmentStatus
from services.ledger import rules as r
from services.ledger.models import (
    Adjustment,
    ChainHead,
    UnitView,
    VolunteerView,
)
from services.ledger.operations._common import audit, today
from services.ledger.operations.chain import _Row, _Writer

# ---- adjustments -------------------------------------------------------------------------


def volunteer_place(session: Session, volunteer_id: str) -> tuple[VolunteerView, str] | None:
    """A volunteer the ledger knows, with the path of their home unit."""
    row = session.execute(
        select(VolunteerView, UnitView.path)
        .join(UnitView, UnitView.unit_id == VolunteerView.home_unit_id, isouter=True)
        .where(VolunteerView.volunteer_id == volunteer_id)
    ).first()
    return (row[0], row[1] or "") if row else None


def request_adjustment(session: Session, who, body: dict, idempotency_key: str | None = None):
    """An administrator asks for a manual adjustment; it counts once another approves it."""
    if idempotency_key:
        known = session.scalar(
            select(Adjustment).where(
                Adjustment.requested_by == who.account_id,
                Adjustment.idempotency_key == idempotency_key,
            )
        )
        if known is not None:
            return known, False
    place = volunteer_place(session, body["volunteer_id"])
    if place is None:
        raise DomainError(
            "账本里没有这位志愿者",
            code="unknown-volunteer",
            errors={"volunteer_id": ["志愿者不存在"]},
            status=422,
        )
    _require_admin(who, place[1])
    adjustment = Adjustment(
        id=str(uuid.uuid4()),
        volunteer_id=body["volunteer_id"],
        points=body["points"],
        reason=body["reason"].strip(),
        entry_date=body.get("date") or today(),
        status=AdjustmentStatus.PENDING,
        requested_by=who.account_id,
        requested_at=utcnow(),
        idempotency_key=idempotency_key,
    )
    session.add(adjustment)
    session.flush()
    audit(
        session, who.account_id, "adjustment.requested", adjustment.id, adjustment_dict(adjustment)
    )
    return adjustment, True


def _require_admin(who, path: str) -> None:
    from services.common.auth import Forbidden

    if not who.can("admin", path):
        raise Forbidden("只有该志愿者所在单位的管理员可以调整积分", code="out-of-scope")


def _to_decide(session: Session, who, adjustment_id: str) -> Adjustment:
    """The adjustment (locked) that ``who`` is about to decide: an administrator of the
    volunteer's unit who did not ask for it."""
    from services.common.auth import Forbidden

    adjustment = session.get(Adjustment, adjustment_id, with_for_update=True)
    if adjustment is None:
        raise NotFound("调整申请不存在", code="unknown-adjustment")
    place = volunteer_place(session, adjustment.volunteer_id)
    _require_admin(who, place[1] if place else "")
    if adjustment.requested_by == who.account_id:
        raise Forbidden("积分调整须由另一位管理员审批", code="second-admin-required")
    return adjustment


def approve_adjustment(session: Session, who, adjustment_id: str) -> Adjustment:
    """A second administrator approves an adjustment: its ledger row is written now."""

    session.get(ChainHead, 1, with_for_update=True)  # the chain is always locked first
    adjustment = _to_decide(session, who, adjustment_id)
    if adjustment.status != AdjustmentStatus.PENDING:
        raise Conflict("这项调整已经审批过了", code="already-approved")
    now = utcnow()
    done = session.execute(
        update(Adjustment)
        .where(Adjustment.id == adjustment.id, Adjustment.status == AdjustmentStatus.PENDING)
        .values(status=AdjustmentStatus.APPROVED, approved_by=who.account_id, approved_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict("这项调整已经审批过了", code="already-approved")
    session.refresh(adjustment)
    post_adjustment(session, adjustment)
    audit(
        session, who.account_id, "adjustment.approved", adjustment.id, adjustment_dict(adjustment)
    )
    return adjustment


def reject_adjustment(session: Session, who, adjustment_id: str, reason: str) -> Adjustment:
    """A second administrator rejects an adjustment with a reason: it never counts."""

    adjustment = _to_decide(session, who, adjustment_id)
    done = session.execute(
        update(Adjustment)
        .where(Adjustment.id == adjustment.id, Adjustment.status == AdjustmentStatus.PENDING)
        .values(
            status=AdjustmentStatus.REJECTED,
            rejected_by=who.account_id,
            rejected_at=utcnow(),
            rejection_reason=reason.strip(),
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise Conflict("这项调整已经审批过了", code="already-approved")
    session.refresh(adjustment)
    audit(
        session, who.account_id, "adjustment.rejected", adjustment.id, adjustment_dict(adjustment)
    )
    return adjustment


def post_adjustment(session: Session, adjustment: Adjustment) -> _Row:
    """Write the ledger row of an approved adjustment (also used by the rebuild)."""
    writer = _Writer(session)
    cause = writer.cause(
        f"adjustment/{adjustment.id}",
        adjustment.approved_at,
        requested_by=adjustment.requested_by,
        approved_by=adjustment.approved_by,
    )
    entry = cause.append(
        kind="adjustment",
        reason_code="manual",
        points=adjustment.points,
        explanation=Message(
            r.ADJUSTMENT,
            {"points": r.format_points(adjustment.points), "reason": adjustment.reason},
        ),
        volunteer_id=adjustment.volunteer_id,
        activity_id=None,
        attendance_id=None,
        entry_date=adjustment.entry_date,
    )
    writer.flush()
    adjustment.entry_id = entry.entry_id
    return entry


def adjustment_dict(adjustment: Adjustment) -> dict:
    """An adjustment as the API shows it."""
    return {
        "id": adjustment.id,
        "volunteer_id": adjustment.volunteer_id,
        "points": adjustment.points,
        "reason": adjustment.reason,
        "date": adjustment.entry_date,
        "status": adjustment.status,
        "requested_by": adjustment.requested_by,
        "requested_at": adjustment.requested_at,
        "approved_by": adjustment.approved_by,
        "approved_at": adjustment.approved_at,
        "rejected_by": adjustment.rejected_by,
        "rejected_at": adjustment.rejected_at,
        "rejection_reason": adjustment.rejection_reason,
        "entry_id": adjustment.entry_id,
    }


def list_adjustments(session: Session, who, status: str | None, page: int, per_page: int):
    """Adjustments of volunteers within the caller's administrator scope (``status`` a status,
    or ``decided``: approved and rejected ones, the latest decision first)."""
    paths = who.paths("admin")
    if not paths and not who.system:
        from services.common.auth import Forbidden

        raise Forbidden("只有管理员可以查看积分调整", code="admin-only")
    query = (
        select(Adjustment, VolunteerView.display_name)
        .join(VolunteerView, VolunteerView.volunteer_id == Adjustment.volunteer_id)
        .join(UnitView, UnitView.unit_id == VolunteerView.home_unit_id)
    )
    if not who.system:
        query = query.where(or_(*[UnitView.path.startswith(path) for path in paths]))
    order = [Adjustment.requested_at.desc(), Adjustment.id]
    if status == "decided":  # approved or rejected, the latest decision first
        query = query.where(Adjustment.status != AdjustmentStatus.PENDING)
        decided_at = func.coalesce(Adjustment.approved_at, Adjustment.rejected_at)
        order = [decided_at.desc(), Adjustment.id]
    elif status:
        query = query.where(Adjustment.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(
        query.order_by(*order).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return [{**adjustment_dict(a), "volunteer_name": name} for a, name in rows], total
