"""The projection of activities and their shifts, kept from activity.* events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from events.envelope import utcnow
from services.common.states import ActivityStatus
from services.volunteers.models import (
    ActivityView,
    ShiftView,
)
from services.volunteers.operations.signups import _promote
from services.volunteers.rules import (
    new_secret,
)

# ---- the activity projection -----------------------------------------------------------------

ACTIVITY_FIELDS = (
    "title",
    "category",
    "dimensions",
    "host_unit_id",
    "host_unit_path",
    "starts_at",
    "ends_at",
    "signup_opens_at",
    "signup_closes_at",
    "walk_ins_allowed",
    "address",
    "checkin_radius_m",
    "checkin_opens_at",
    "checkin_closes_at",
)


def apply_activity_state(session: Session, payload: dict, now: datetime | None = None) -> None:
    """Create or refresh the projected activity and its shifts from activity.published/updated.

    Shifts missing from the payload are kept (their sign-ups still point at them) but closed;
    a shift whose capacity grew promotes its waitlist at once, before the start.
    """
    now = now or utcnow()
    activity = session.get(ActivityView, payload["activity_id"], with_for_update=True)
    if activity is None:
        activity = ActivityView(
            activity_id=payload["activity_id"],
            status=ActivityStatus.PUBLISHED,
            checkin_secret=new_secret(),
        )
        session.add(activity)
    for name in ACTIVITY_FIELDS:
        setattr(activity, name, payload.get(name))
    activity.address = payload.get("address") or ""
    activity.walk_ins_allowed = bool(payload.get("walk_ins_allowed"))
    for name in ("latitude", "longitude"):
        value = payload.get(name)
        setattr(activity, name, None if value is None else str(value))
    activity.updated_at = now
    session.flush()
    existing = {
        shift.shift_id: shift
        for shift in session.scalars(
            select(ShiftView)
            .where(ShiftView.activity_id == activity.activity_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    listed = set()
    for position, spec in enumerate(payload["shifts"]):
        listed.add(spec["shift_id"])
        shift = existing.get(spec["shift_id"])
        if shift is None:
            shift = ShiftView(
                shift_id=spec["shift_id"], activity_id=activity.activity_id, taken=0, queued=0
            )
            session.add(shift)
        grew = shift.capacity is not None and spec["capacity"] > shift.capacity
        shift.name = spec["name"]
        shift.capacity = spec["capacity"]
        weight = spec.get("hour_weight")
        shift.hour_weight = None if weight is None else str(weight)
        shift.position = position
        shift.active = True
        session.flush()
        if grew and now < activity.starts_at and activity.status == ActivityStatus.PUBLISHED:
            _promote(session, activity, shift, now)
    for shift_id, shift in existing.items():
        if shift_id not in listed:
            shift.active = False


def apply_activity_status(
    session: Session, activity_id: str, status: str, reason: str | None = None
) -> None:
    """Record that an activity was cancelled (with its reason), completed or closed."""
    activity = session.get(ActivityView, activity_id, with_for_update=True)
    if activity is None:  # never published, so nobody here signed up for it
        return
    activity.status = status
    if reason is not None:
        activity.cancel_reason = reason
    activity.updated_at = utcnow()
