"""What the volunteers service's operations share: constants and reading the activity projection."""

from __future__ import annotations

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from services.common.errors import NotFound
from services.common.states import LIVE_SIGNUP
from services.volunteers.models import (
    ActivityView,
    Attendance,
    ShiftView,
)

PRODUCER = "volunteers"
PUBLIC_FIELDS = ("display_name", "home_unit_id", "team_id")
HOME_KINDS = ("community",)
LIVE = LIVE_SIGNUP


def get_activity(session: Session, activity_id: str) -> ActivityView:
    """Return a projected activity or raise NotFound."""
    activity = session.get(ActivityView, activity_id)
    if activity is None:
        raise NotFound("活动不存在或尚未发布", code="unknown-activity")
    return activity


def shifts_of(session: Session, activity_id: str, active_only: bool = True) -> list[ShiftView]:
    """The shifts of an activity, in the organizer's order."""
    query = select(ShiftView).where(ShiftView.activity_id == activity_id)
    if active_only:
        query = query.where(ShiftView.active.is_(True))
    return list(session.scalars(query.order_by(ShiftView.position)))


def attendance_of(session: Session, activity_id: str, volunteer_id: str) -> Attendance | None:
    """A volunteer's attendance record at an activity, if any (read fresh)."""
    return session.scalar(
        select(Attendance)
        .where(Attendance.activity_id == activity_id, Attendance.volunteer_id == volunteer_id)
        .execution_options(populate_existing=True)
    )


def dialect_insert(dialect: str):
    """The INSERT construct of a dialect (with ON CONFLICT)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert
