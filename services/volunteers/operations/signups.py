"""Sign-ups and waitlists: signing up, cancelling, promotion, rosters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    case,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit
from services.common.errors import Conflict, DomainError, NotFound
from services.common.states import ActivityStatus, SignupStatus
from services.volunteers.models import (
    ActivityView,
    Attendance,
    ShiftView,
    Signup,
    Volunteer,
)
from services.volunteers.operations._common import LIVE, PRODUCER, get_activity, shifts_of
from services.volunteers.rules import (
    local_time,
)


def waiting_counts(session: Session, activity_id: str) -> dict[str, int]:
    """How many sign-ups wait on each shift of an activity."""
    rows = session.execute(
        select(Signup.shift_id, func.count())
        .where(Signup.activity_id == activity_id, Signup.status == SignupStatus.WAITLISTED)
        .group_by(Signup.shift_id)
    )
    return dict(rows.all())


# ---- sign-ups ----------------------------------------------------------------------------


class SignupRefused(DomainError, status=409, code="signup-refused", title="无法报名"):
    """A sign-up the rules do not allow."""


def _signup_payload(signup: Signup, at: datetime, **extra) -> dict:
    return {
        "signup_id": signup.id,
        "volunteer_id": signup.volunteer_id,
        "activity_id": signup.activity_id,
        "shift_id": signup.shift_id,
        "party_size": signup.party_size,
        "at": at,
        **extra,
    }


def _lock_shift(session: Session, shift_id: str) -> ShiftView:
    """Take the shift's row lock (PostgreSQL; SQLite already holds the database's write lock)."""
    return session.get(ShiftView, shift_id, with_for_update=True, populate_existing=True)


def waitlist_position(session: Session, signup: Signup) -> int | None:
    """A waitlisted sign-up's place in its shift's queue (1 is next), else None."""
    if signup.status != SignupStatus.WAITLISTED:
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Signup)
        .where(
            Signup.shift_id == signup.shift_id,
            Signup.status == SignupStatus.WAITLISTED,
            Signup.queue_no < signup.queue_no,
        )
    )
    return ahead + 1


def live_signup(
    session: Session, activity_id: str, volunteer_id: str, lock: bool = False
) -> Signup | None:
    """The volunteer's confirmed or waitlisted sign-up for an activity, if any."""
    query = select(Signup).where(
        Signup.activity_id == activity_id,
        Signup.volunteer_id == volunteer_id,
        Signup.status.in_(LIVE),
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def signup_window(activity: ActivityView) -> tuple[datetime | None, datetime]:
    """When sign-up is open: from the given opening (or publication) until the given closing
    (or the start)."""
    return activity.signup_opens_at, activity.signup_closes_at or activity.starts_at


def sign_up(
    session: Session,
    activity_id: str,
    volunteer_id: str,
    shift_id: str | None = None,
    party_size: int = 1,
    now: datetime | None = None,
) -> Signup:
    """Take a place on a shift while places remain, else join its waitlist.

    First come, first served: while anyone waits on a shift, newcomers queue behind them, and a
    party waits until all its members fit. The shift's row lock orders concurrent sign-ups.
    """
    now = now or utcnow()
    activity = get_activity(session, activity_id)
    if activity.status != ActivityStatus.PUBLISHED:
        reason = f"：{activity.cancel_reason}" if activity.cancel_reason else ""
        raise SignupRefused(
            {ActivityStatus.CANCELLED: f"活动已取消{reason}"}.get(
                activity.status, "活动已结束，不能再报名"
            ),
            code=f"activity-{activity.status}",
        )
    opens, closes = signup_window(activity)
    if opens and now < opens:
        raise SignupRefused(
            f"报名将于 {local_time(opens, '%m月%d日 %H:%M')} 开始", code="signup-not-open"
        )
    if now >= closes:
        raise SignupRefused(
            f"报名已于 {local_time(closes, '%m月%d日 %H:%M')} 截止", code="signup-closed"
        )
    if session.get(Volunteer, volunteer_id) is None:
        raise SignupRefused("请先完善志愿者资料再报名", code="profile-required")
    shift = _choose_shift(session, activity, shift_id)
    if party_size > shift.capacity:
        raise DomainError(
            f"“{shift.name}”岗位共 {shift.capacity} 个名额，同行人数不能超过名额",
            code="party-too-large",
            errors={"party_size": [f"不能超过 {shift.capacity} 人"]},
        )
    _refuse_second_signup(session, activity_id, volunteer_id)
    shift = _lock_shift(session, shift.shift_id)
    waiting = session.scalar(
        select(func.count())
        .select_from(Signup)
        .where(Signup.shift_id == shift.shift_id, Signup.status == SignupStatus.WAITLISTED)
    )
    signup = Signup(
        id=str(uuid.uuid4()),
        activity_id=activity_id,
        shift_id=shift.shift_id,
        volunteer_id=volunteer_id,
        party_size=party_size,
        created_at=now,
    )
    if waiting == 0 and shift.taken + party_size <= shift.capacity:
        signup.status = SignupStatus.CONFIRMED
        shift.taken += party_size
    else:
        signup.status = SignupStatus.WAITLISTED
        shift.queued += 1
        signup.queue_no = shift.queued
    session.add(signup)
    try:
        session.flush()
    except IntegrityError as exc:  # the same volunteer, racing on another shift
        raise SignupRefused("你已经报名了这个活动", code="already-signed-up") from exc
    if signup.status == SignupStatus.CONFIRMED:
        emit(
            session,
            catalog.make_event("signup.confirmed", _signup_payload(signup, now), producer=PRODUCER),
        )
    else:
        emit(
            session,
            catalog.make_event(
                "signup.waitlisted",
                _signup_payload(signup, now, waitlist_position=waiting + 1),
                producer=PRODUCER,
            ),
        )
    return signup


def _choose_shift(session: Session, activity: ActivityView, shift_id: str | None) -> ShiftView:
    shifts = shifts_of(session, activity.activity_id)
    if shift_id is None:
        if not shifts:
            raise SignupRefused("这个活动没有可报名的岗位", code="no-shift")
        return shifts[0]
    for shift in shifts:
        if shift.shift_id == shift_id:
            return shift
    raise DomainError(
        "这个岗位不属于该活动", code="unknown-shift", errors={"shift_id": ["请选择活动的岗位"]}
    )


def _refuse_second_signup(session: Session, activity_id: str, volunteer_id: str) -> None:
    existing = live_signup(session, activity_id, volunteer_id)
    if existing is not None:
        where = (
            f"候补第 {waitlist_position(session, existing)} 位"
            if existing.status == SignupStatus.WAITLISTED
            else "已获得名额"
        )
        raise SignupRefused(f"你已经报名了这个活动（{where}）", code="already-signed-up")
    removed = session.scalar(
        select(Signup.id).where(
            Signup.activity_id == activity_id,
            Signup.volunteer_id == volunteer_id,
            Signup.removed.is_(True),
        )
    )
    if removed:
        raise SignupRefused(
            "组织者已将你移出这个活动的名单，如有疑问请联系组织者", code="removed-by-organizer"
        )


def _promote(session: Session, activity: ActivityView, shift: ShiftView, now: datetime) -> list:
    """Give freed places to the waitlist in order; stop at the first party that does not fit."""
    promoted = []
    while True:
        head = session.scalar(
            select(Signup)
            .where(Signup.shift_id == shift.shift_id, Signup.status == SignupStatus.WAITLISTED)
            .order_by(Signup.queue_no)
            .limit(1)
            .with_for_update()
        )
        if head is None or shift.taken + head.party_size > shift.capacity:
            return promoted
        head.status = SignupStatus.CONFIRMED
        head.promoted_at = now
        shift.taken += head.party_size
        session.flush()
        emit(
            session,
            catalog.make_event("signup.promoted", _signup_payload(head, now), producer=PRODUCER),
        )
        promoted.append(head)


def cancel_signup(
    session: Session,
    activity_id: str,
    volunteer_id: str,
    *,
    by: str,
    reason: str = "",
    removed: bool = False,
    signup_id: str | None = None,
    now: datetime | None = None,
) -> Signup:
    """Withdraw a sign-up (the volunteer, before the start) or remove it (an organizer, with a
    reason); a freed place goes at once to the first on the waitlist."""
    now = now or utcnow()
    activity = get_activity(session, activity_id)
    if signup_id is not None:
        signup = session.get(Signup, signup_id, with_for_update=True, populate_existing=True)
        if signup is None or signup.activity_id != activity_id:
            raise NotFound("报名记录不存在", code="unknown-signup")
        if signup.status not in LIVE:
            raise Conflict("这条报名已经取消了", code="signup-not-live")
    else:
        signup = live_signup(session, activity_id, volunteer_id, lock=True)
        if signup is None:
            raise NotFound("你没有报名这个活动", code="not-signed-up")
    if not removed and now >= activity.starts_at:
        raise Conflict(
            "活动已经开始，不能在线取消报名；如不能到场请联系组织者", code="activity-started"
        )
    shift = _lock_shift(session, signup.shift_id)
    held_place = signup.status == SignupStatus.CONFIRMED
    signup.status = SignupStatus.CANCELLED
    signup.cancelled_at = now
    signup.cancelled_by = by
    signup.cancel_reason = reason
    signup.removed = removed
    if held_place:
        shift.taken -= signup.party_size
    session.flush()
    emit(
        session,
        catalog.make_event(
            "signup.cancelled",
            _signup_payload(signup, now, reason=reason, cancelled_by=by),
            producer=PRODUCER,
        ),
    )
    if held_place and now < activity.starts_at and activity.status == ActivityStatus.PUBLISHED:
        _promote(session, activity, shift, now)
    return signup


# A sign-up's attendance record (joined outer: there is none before check-in).
SIGNUPS_ATTENDANCE = (Attendance.activity_id == Signup.activity_id) & (
    Attendance.volunteer_id == Signup.volunteer_id
)


def roster(session: Session, activity_id: str, page: int, per_page: int):
    """The live sign-ups of an activity: places in order of sign-up, then the waitlist in order."""
    condition = (Signup.activity_id == activity_id) & Signup.status.in_(LIVE)
    total = session.scalar(select(func.count()).select_from(Signup).where(condition))
    rows = session.execute(
        select(Signup, Volunteer.display_name, Attendance.checked_in_at)
        .join(Volunteer, Volunteer.id == Signup.volunteer_id, isouter=True)
        .join(Attendance, SIGNUPS_ATTENDANCE, isouter=True)
        .where(condition)
        .order_by(
            case((Signup.status == SignupStatus.CONFIRMED, 0), else_=1),
            Signup.shift_id,
            Signup.queue_no,
            Signup.created_at,
            Signup.id,
        )
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    positions: dict[str, int] = {}
    items = []
    for signup, name, checked_in_at in rows:
        position = None
        if signup.status == SignupStatus.WAITLISTED:
            position = positions.get(signup.shift_id) or waitlist_position(session, signup)
            positions[signup.shift_id] = position + 1
        items.append(
            {
                "signup": signup,
                "display_name": name or "",
                "waitlist_position": position,
                "checked_in_at": checked_in_at,
            }
        )
    return items, total


def my_signups(session: Session, volunteer_id: str, page: int, per_page: int):
    """A volunteer's sign-ups, newest activity first, each with its activity and attendance."""
    condition = Signup.volunteer_id == volunteer_id
    total = session.scalar(select(func.count()).select_from(Signup).where(condition))
    rows = session.execute(
        select(Signup, ActivityView, ShiftView, Attendance)
        .join(ActivityView, ActivityView.activity_id == Signup.activity_id)
        .join(ShiftView, ShiftView.shift_id == Signup.shift_id)
        .join(Attendance, SIGNUPS_ATTENDANCE, isouter=True)
        .where(condition)
        .order_by(ActivityView.starts_at.desc(), Signup.created_at.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [
        {
            "signup": signup,
            "activity": activity,
            "shift": shift,
            "attendance": attendance,
            "waitlist_position": waitlist_position(session, signup),
        }
        for signup, activity, shift, attendance in rows
    ], total
