"""Check-out: the first one counts.

A volunteer checked in on their own account checks out with one tap, no code from the screen,
until the activity's check-in window closes (its end, unless it says otherwise): the time it
records can then never run past the activity, and the organizer confirms the hours anyway.
After that, a code from the screen (the volunteer is at the venue) or the organizer's hand
check-out on the roster."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit
from services.common.states import AttendanceStatus
from services.volunteers.models import Attendance
from services.volunteers.operations._common import PRODUCER, attendance_of, get_activity
from services.volunteers.operations.admission import (
    CheckinRefused,
    moment_message,
    refuse_unless_running,
)
from services.volunteers.operations.codes import require_code
from services.volunteers.rules import checkin_window


def check_out(
    session: Session,
    activity_id: str,
    volunteer_id: str,
    *,
    code: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> tuple[Attendance, bool]:
    """Record a volunteer's departure, once (the first check-out counts)."""
    now = now or utcnow()
    activity = get_activity(session, activity_id)
    refuse_unless_running(activity)
    if by is None and code:
        require_code(activity, code, now)
    record = attendance_of(session, activity_id, volunteer_id)
    if record is None or record.checked_in_at is None:
        raise CheckinRefused("还没有签到，不能签退", code="not-checked-in", title="无法签退")
    if record.checked_out_at is not None:
        return record, False
    if record.status != AttendanceStatus.OPEN:
        raise CheckinRefused("出勤已由组织者确认，不能再签退", code="attendance-final")
    if by is None and not code:
        _refuse_once_closed(activity, now)
    table = Attendance.__table__
    changed = (
        session.execute(
            update(table)
            .where(table.c.id == record.id, table.c.checked_out_at.is_(None))
            .values(checked_out_at=now, checked_out_by=by or volunteer_id)
            .returning(table.c.id)
        ).scalar()
        is not None
    )
    record = attendance_of(session, activity_id, volunteer_id)
    if changed:
        emit(
            session,
            catalog.make_event(
                "attendance.checked_out",
                {
                    "attendance_id": record.id,
                    "volunteer_id": volunteer_id,
                    "activity_id": activity_id,
                    "checked_out_at": now,
                },
                producer=PRODUCER,
            ),
        )
    return record, bool(changed)


def _refuse_once_closed(activity, now: datetime) -> None:
    """Refuse a check-out without a code once the check-in window has closed."""
    closes = checkin_window(
        activity.starts_at, activity.ends_at, activity.checkin_opens_at, activity.checkin_closes_at
    )[1]
    if now > closes:
        raise CheckinRefused(
            "签退时间已于 {time} 结束：请输入现场屏幕上的签到码，或请组织者在名单上为你签退",
            values={"time": moment_message(closes)},
            code="checkout-closed",
            title="无法签退",
        )
