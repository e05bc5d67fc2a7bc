"""The organizer's attendance table and confirmation of who attended."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    distinct,
    func,
    select,
)
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit
from services.common.errors import Conflict, DomainError
from services.common.states import ActivityStatus, AttendanceStatus, SignupStatus
from services.volunteers.models import (
    Attendance,
    Signup,
    Volunteer,
)
from services.volunteers.operations._common import PRODUCER, get_activity, shifts_of
from services.volunteers.rules import (
    group_aggregate,
    hours_between,
    local_date,
)

# ---- attendance confirmation ---------------------------------------------------------------


def attendance_table(session: Session, activity_id: str) -> list[dict]:
    """Everyone the organizer reviews: confirmed sign-ups and whoever checked in, with the hours
    computed from check-in to check-out and a flag where the check-out is missing."""
    records = {
        r.volunteer_id: r
        for r in session.scalars(select(Attendance).where(Attendance.activity_id == activity_id))
    }
    signups = {
        s.volunteer_id: s
        for s in session.scalars(
            select(Signup).where(
                Signup.activity_id == activity_id, Signup.status == SignupStatus.CONFIRMED
            )
        )
    }
    people = sorted(set(records) | set(signups))
    names = dict(
        session.execute(
            select(Volunteer.id, Volunteer.display_name).where(Volunteer.id.in_(people))
        ).all()
    )
    shifts = {s.shift_id: s for s in shifts_of(session, activity_id, active_only=False)}
    rows = []
    for volunteer_id in people:
        record, signup = records.get(volunteer_id), signups.get(volunteer_id)
        shift_id = (record.shift_id if record else None) or (signup.shift_id if signup else None)
        checked_in = record.checked_in_at if record else None
        checked_out = record.checked_out_at if record else None
        rows.append(
            {
                "volunteer_id": volunteer_id,
                "display_name": names.get(volunteer_id, ""),
                "signup_id": signup.id if signup else (record.signup_id if record else None),
                "shift_id": shift_id,
                "shift_name": shifts[shift_id].name if shift_id in shifts else None,
                "walk_in": bool(record and record.walk_in),
                "checked_in_at": checked_in,
                "checked_out_at": checked_out,
                "computed_hours": hours_between(checked_in, checked_out),
                "missing_checkout": checked_in is not None and checked_out is None,
                "status": record.status if record else AttendanceStatus.OPEN,
                "hours": record.hours if record else None,
                "reason": record.hours_reason if record else None,
            }
        )
    rows.sort(key=lambda row: (row["checked_in_at"] is None, row["checked_in_at"] or now_min()))
    return rows


def now_min() -> datetime:
    """The earliest aware moment (a sort key for rows without a check-in)."""
    return datetime.min.replace(tzinfo=UTC)


def confirm_attendance(
    session: Session,
    activity_id: str,
    *,
    by: str,
    entries: list[dict],
    no_shows: list[str],
    now: datetime | None = None,
) -> dict:
    """The organizer's word on who attended and for how long.

    Each newly confirmed volunteer gets ``attendance.confirmed``; changed hours of someone
    already confirmed are an ``attendance.corrected`` with the reason; each no-show of a
    confirmed sign-up gets ``attendance.no_show``; and the activity's ``attendance.summarized``
    carries the only ethnicity-derived figures that leave this service. Hours that differ from
    check-in to check-out (or stand in for a missing check-out) need a reason.
    """
    now = now or utcnow()
    activity = get_activity(session, activity_id)
    if activity.status in (ActivityStatus.CANCELLED, ActivityStatus.CLOSED):
        word = "已取消" if activity.status == ActivityStatus.CANCELLED else "已关闭，出勤记录已确定"
        raise Conflict(f"活动{word}，不能再确认时长", code=f"activity-{activity.status}")
    if now < activity.starts_at and activity.status != ActivityStatus.COMPLETED:
        raise Conflict("活动开始后才能确认时长", code="activity-not-started")
    table = {row["volunteer_id"]: row for row in attendance_table(session, activity_id)}
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for entry in entries:
        volunteer_id, hours = entry["volunteer_id"], entry["hours"]
        row = table.get(volunteer_id)
        problems = []
        if volunteer_id in seen:
            problems.append("同一位志愿者只能出现一次")
        seen.add(volunteer_id)
        if row is None:
            problems.append("没有报名也没有签到，不能确认时长")
        elif not (entry.get("reason") or "").strip():
            if row["status"] == AttendanceStatus.CONFIRMED and row["hours"] != hours:
                problems.append("修改已确认的时长须说明原因")
            elif row["status"] != AttendanceStatus.CONFIRMED and row["computed_hours"] is None:
                problems.append("没有签退记录，填写时长须说明原因")
            elif row["status"] != AttendanceStatus.CONFIRMED and row["computed_hours"] != hours:
                problems.append("与签到签退算出的时长不同，须说明原因")
        if problems:
            errors[volunteer_id] = problems
    for volunteer_id in no_shows:
        row = table.get(volunteer_id)
        problems = []
        if volunteer_id in seen:
            problems.append("同一位志愿者只能出现一次")
        seen.add(volunteer_id)
        if row is None or row["signup_id"] is None or row["walk_in"]:
            problems.append("只有报名获得名额的志愿者才能记为缺席")
        elif row["checked_in_at"] is not None:
            problems.append("已签到，不能记为缺席")
        elif row["status"] == AttendanceStatus.CONFIRMED:
            problems.append("出勤已确认，请改为修改时长")
        if problems:
            errors[volunteer_id] = problems
    if errors:
        raise DomainError("有些记录不能确认，详见 errors", code="attendance-invalid", errors=errors)

    confirmed, corrected, missing = [], [], []
    for entry in entries:
        row = table[entry["volunteer_id"]]
        record = _record_for(session, activity_id, row, now)
        previous = Decimal(record.hours) if record.status == AttendanceStatus.CONFIRMED else None
        if previous is not None and previous == entry["hours"]:
            continue
        record.hours = Decimal(entry["hours"]).quantize(Decimal("0.1"))
        record.hours_reason = (entry.get("reason") or "").strip() or None
        record.confirmed_by = by
        record.confirmed_at = now
        if previous is None:
            record.status = AttendanceStatus.CONFIRMED
            confirmed.append(record)
        else:
            corrected.append((record, previous, record.hours_reason))
    for volunteer_id in no_shows:
        record = _record_for(session, activity_id, table[volunteer_id], now)
        if record.status == AttendanceStatus.NO_SHOW:
            continue
        record.status = AttendanceStatus.NO_SHOW
        record.confirmed_by = by
        record.confirmed_at = now
        missing.append(record)
    session.flush()

    attendees, consenting, groups = session.execute(
        select(
            func.count(Attendance.id),
            func.count(Volunteer.ethnicity),  # those who consented to give it
            func.count(distinct(Volunteer.ethnicity)),
        )
        .select_from(Attendance)
        .join(Volunteer, Volunteer.id == Attendance.volunteer_id, isouter=True)
        .where(
            Attendance.activity_id == activity_id, Attendance.status == AttendanceStatus.CONFIRMED
        )
    ).one()
    distinct_groups, cross_group = group_aggregate(consenting, groups)
    weights = {s.shift_id: s.hour_weight for s in shifts_of(session, activity_id, False)}
    day = local_date(activity.starts_at)

    def confirmation(record: Attendance) -> dict:
        return {
            "attendance_id": record.id,
            "volunteer_id": record.volunteer_id,
            "activity_id": activity_id,
            "shift_id": record.shift_id,
            "hours": Decimal(record.hours),
            "activity_date": day,
            "confirmed_by": by,
            "confirmed_at": now,
            "shift_weight": Decimal(weights[record.shift_id])
            if weights.get(record.shift_id)
            else None,
            "cross_group": cross_group,
        }

    for record in confirmed:
        emit(
            session,
            catalog.make_event("attendance.confirmed", confirmation(record), producer=PRODUCER),
        )
    for record, previous, reason in corrected:
        emit(
            session,
            catalog.make_event(
                "attendance.corrected",
                {**confirmation(record), "previous_hours": previous, "reason": reason},
                producer=PRODUCER,
            ),
        )
    for record in missing:
        emit(
            session,
            catalog.make_event(
                "attendance.no_show",
                {
                    "volunteer_id": record.volunteer_id,
                    "activity_id": activity_id,
                    "signup_id": record.signup_id,
                    "activity_date": day,
                    "recorded_by": by,
                },
                producer=PRODUCER,
            ),
        )
    summary = {
        "activity_id": activity_id,
        "attendees": attendees,
        "distinct_groups": distinct_groups,
        "cross_group": cross_group,
        "confirmed_at": now,
    }
    if confirmed or corrected or missing:
        emit(session, catalog.make_event("attendance.summarized", summary, producer=PRODUCER))
    return {
        **summary,
        "confirmed": len(confirmed),
        "corrected": len(corrected),
        "no_shows": len(missing),
    }


def _record_for(session: Session, activity_id: str, row: dict, now: datetime) -> Attendance:
    """The attendance record of a row, created for someone the organizer confirms without a
    check-in (or marks absent)."""
    record = session.scalar(
        select(Attendance)
        .where(
            Attendance.activity_id == activity_id, Attendance.volunteer_id == row["volunteer_id"]
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if record is None:
        record = Attendance(
            id=str(uuid.uuid4()),
            activity_id=activity_id,
            volunteer_id=row["volunteer_id"],
            signup_id=row["signup_id"],
            shift_id=row["shift_id"],
            walk_in=False,
            status=AttendanceStatus.OPEN,
            created_at=now,
        )
        session.add(record)
        session.flush()
    return record
