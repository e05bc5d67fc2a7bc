"""Domain operations of services/volunteers. Each runs inside the caller's transaction."""

from __future__ import annotations

import collections
import contextlib
import functools
import hashlib
import math
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import (
    String,
    bindparam,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit, insert_statement, locked_insert, outbox_row
from services.common.db import DriverStatement, postgresql_autocommit, sqlite_write
from services.common.errors import Conflict, DomainError, NotFound
from services.common.types import UTCDateTime
from services.volunteers.models import (
    ActivityView,
    Attendance,
    CheckinAttempt,
    HoursCertificate,
    ShiftView,
    Signup,
    UnitView,
    Volunteer,
)
from services.volunteers.rules import (
    CHECKIN_OPENS_BEFORE,
    WRONG_CODE_WAIT,
    WRONG_CODE_WINDOW,
    WRONG_CODES_PER_ADDRESS,
    WRONG_CODES_PER_VOLUNTEER,
    checkin_window,
    code_is_valid,
    current_code,
    distance_m,
    group_aggregate,
    hours_between,
    local_date,
    local_time,
    new_secret,
)

PRODUCER = "volunteers"
PUBLIC_FIELDS = ("display_name", "home_unit_id", "team_id")
HOME_KINDS = ("community",)
LIVE = ("confirmed", "waitlisted")


def _unit(
    session: Session, unit_id: str, kinds: tuple[str, ...], field: str, label: str
) -> UnitView:
    unit = session.get(UnitView, unit_id)
    if unit is None or unit.kind not in kinds:
        raise DomainError(f"{label}不存在", code="unknown-unit", errors={field: [f"{label}不存在"]})
    return unit


def save_profile(session: Session, volunteer_id: str, profile: dict) -> tuple[Volunteer, bool]:
    """Create or update a volunteer's profile; announce what consumers may know of the change."""
    home = _unit(session, profile["home_unit_id"], HOME_KINDS, "home_unit_id", "所在社区")
    if profile.get("team_id"):
        _unit(session, profile["team_id"], ("volunteer_team",), "team_id", "志愿服务队")
    ethnicity = profile.get("ethnicity") or None
    if ethnicity and not profile.get("ethnicity_consent"):
        raise DomainError(
            "填写民族须同意用于统计",
            code="consent-required",
            errors={"ethnicity_consent": ["填写民族须勾选同意（仅用于不少于 5 人的汇总统计）"]},
        )
    now = utcnow()
    volunteer = session.get(Volunteer, volunteer_id, with_for_update=True)
    created = volunteer is None
    before = volunteer.as_payload() if volunteer else {}
    if created:
        volunteer = Volunteer(id=volunteer_id, created_at=now)
        session.add(volunteer)
    volunteer.display_name = profile["display_name"]
    volunteer.home_unit_id = home.unit_id
    volunteer.home_unit_path = home.path
    volunteer.team_id = profile.get("team_id") or None
    volunteer.languages = list(profile.get("languages") or [])
    if ethnicity != volunteer.ethnicity:
        volunteer.ethnicity = ethnicity
        volunteer.ethnicity_consent_at = now if ethnicity else None
    volunteer.updated_at = now
    session.flush()
    after = volunteer.as_payload()
    if created:
        emit(session, catalog.make_event("volunteer.registered", after, producer=PRODUCER))
    else:
        changes = [name for name in PUBLIC_FIELDS if before.get(name) != after.get(name)]
        if changes:
            emit(
                session,
                catalog.make_event(
                    "volunteer.updated", {**after, "changes": changes}, producer=PRODUCER
                ),
            )
    return volunteer, created


def get_volunteer(session: Session, volunteer_id: str) -> Volunteer:
    """Return a volunteer or raise NotFound."""
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        raise NotFound("志愿者不存在", code="unknown-volunteer")
    return volunteer


def list_volunteers(session: Session, paths: list[str], page: int, per_page: int):
    """Return one page of the volunteers whose home unit lies under any of the paths."""
    if not paths:
        return [], 0
    condition = Volunteer.home_unit_path.startswith(paths[0])
    for path in paths[1:]:
        condition = condition | Volunteer.home_unit_path.startswith(path)
    total = session.scalar(select(func.count()).select_from(Volunteer).where(condition))
    items = session.scalars(
        select(Volunteer)
        .where(condition)
        .order_by(Volunteer.created_at, Volunteer.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return items, total


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
            activity_id=payload["activity_id"], status="published", checkin_secret=new_secret()
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
        if grew and now < activity.starts_at and activity.status == "published":
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


def waiting_counts(session: Session, activity_id: str) -> dict[str, int]:
    """How many sign-ups wait on each shift of an activity."""
    rows = session.execute(
        select(Signup.shift_id, func.count())
        .where(Signup.activity_id == activity_id, Signup.status == "waitlisted")
        .group_by(Signup.shift_id)
    )
    return dict(rows.all())


# ---- sign-ups ----------------------------------------------------------------------------


class SignupRefused(DomainError):
    """A sign-up the rules do not allow."""

    status = 409
    code = "signup-refused"
    title = "无法报名"


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
    if signup.status != "waitlisted":
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Signup)
        .where(
            Signup.shift_id == signup.shift_id,
            Signup.status == "waitlisted",
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
    if activity.status != "published":
        reason = f"：{activity.cancel_reason}" if activity.cancel_reason else ""
        raise SignupRefused(
            {"cancelled": f"活动已取消{reason}"}.get(activity.status, "活动已结束，不能再报名"),
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
        .where(Signup.shift_id == shift.shift_id, Signup.status == "waitlisted")
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
        signup.status = "confirmed"
        shift.taken += party_size
    else:
        signup.status = "waitlisted"
        shift.queued += 1
        signup.queue_no = shift.queued
    session.add(signup)
    try:
        session.flush()
    except IntegrityError as exc:  # the same volunteer, racing on another shift
        raise SignupRefused("你已经报名了这个活动", code="already-signed-up") from exc
    if signup.status == "confirmed":
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
            if existing.status == "waitlisted"
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
            .where(Signup.shift_id == shift.shift_id, Signup.status == "waitlisted")
            .order_by(Signup.queue_no)
            .limit(1)
            .with_for_update()
        )
        if head is None or shift.taken + head.party_size > shift.capacity:
            return promoted
        head.status = "confirmed"
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
    held_place = signup.status == "confirmed"
    signup.status = "cancelled"
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
    if held_place and now < activity.starts_at and activity.status == "published":
        _promote(session, activity, shift, now)
    return signup


def roster(session: Session, activity_id: str, page: int, per_page: int):
    """The live sign-ups of an activity: places in order of sign-up, then the waitlist in order."""
    condition = (Signup.activity_id == activity_id) & Signup.status.in_(LIVE)
    total = session.scalar(select(func.count()).select_from(Signup).where(condition))
    rows = session.execute(
        select(Signup, Volunteer.display_name, Attendance.checked_in_at)
        .join(Volunteer, Volunteer.id == Signup.volunteer_id, isouter=True)
        .join(
            Attendance,
            (Attendance.activity_id == Signup.activity_id)
            & (Attendance.volunteer_id == Signup.volunteer_id),
            isouter=True,
        )
        .where(condition)
        .order_by(
            case((Signup.status == "confirmed", 0), else_=1),
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
        if signup.status == "waitlisted":
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
        .join(
            Attendance,
            (Attendance.activity_id == Signup.activity_id)
            & (Attendance.volunteer_id == Signup.volunteer_id),
            isouter=True,
        )
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


# ---- check-in and check-out ----------------------------------------------------------------


class CheckinRefused(DomainError):
    """A check-in or check-out the rules do not allow; nothing was recorded."""

    status = 409
    code = "checkin-refused"
    title = "无法签到"


def checkin_code(activity: ActivityView, now: datetime | None = None) -> tuple[str, datetime]:
    """The code an organizer's screen shows now, and when it changes."""
    return current_code(activity.checkin_secret, now or utcnow())


def _refuse_unless_running(activity: ActivityView) -> None:
    if activity.status == "cancelled":
        reason = f"：{activity.cancel_reason}" if activity.cancel_reason else ""
        raise CheckinRefused(f"活动已取消{reason}", code="activity-cancelled")
    if activity.status == "closed":
        raise CheckinRefused("活动已关闭，出勤记录已确定", code="activity-closed")


def _require_code(activity: ActivityView, code: str | None, now: datetime) -> None:
    if not code_is_valid(activity.checkin_secret, code or "", now):
        raise _wrong_code()


class CodeRefused(DomainError):
    """A wrong check-in code, counted; commit the transaction (the count) before answering."""

    status = 400
    code = "code-invalid"
    title = "请求无效"


class TooManyWrongCodes(CodeRefused):
    """Too many wrong codes from this volunteer or address at this activity: wait."""

    status = 429
    code = "too-many-wrong-codes"
    title = "尝试次数过多"

    def __init__(self, wait: timedelta):
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        super().__init__(
            "签到码输错次数过多，请在 {minutes} 分钟后再试", values={"minutes": minutes}
        )
        self.retry_after = max(1, math.ceil(wait.total_seconds()))


def _wrong_code() -> CodeRefused:
    return CodeRefused(
        "签到码不正确或已过期，请扫描现场屏幕上最新的二维码，或输入屏幕上的 6 位数字",
        errors={"code": ["签到码不正确或已过期"]},
    )


_checkin_attempts = CheckinAttempt.__table__


def attempt_keys(volunteer_id: str, address: str | None) -> list[tuple[str, int]]:
    """Whose wrong codes count, with how many each may make: the volunteer, and the address."""
    keys = [(f"volunteer:{volunteer_id}", WRONG_CODES_PER_VOLUNTEER)]
    if address:
        keys.append((f"address:{address}", WRONG_CODES_PER_ADDRESS))
    return keys


def _wait_for(connection: Connection, activity_id: str, keys, now: datetime) -> timedelta | None:
    """How long wrong codes make these keys wait at this activity (None: not at all)."""
    attempts = _checkin_attempts.c
    until = connection.execute(
        select(func.max(attempts.blocked_until)).where(
            attempts.activity_id == activity_id,
            attempts.key.in_([key for key, _limit in keys]),
            attempts.blocked_until > now,
        )
    ).scalar()
    return until - now if until is not None else None


def _count_wrong_code(
    connection: Connection, activity_id: str, key: str, limit: int, now: datetime
) -> datetime | None:
    """Count one wrong code for a key in one upsert (parallel ones are each counted, on SQLite
    and PostgreSQL alike); return until when the key must now wait, if it must."""
    attempts = _checkin_attempts.c
    at = literal(now, UTCDateTime())
    wait_until = literal(now + WRONG_CODE_WAIT, UTCDateTime())
    # A window that has run out, or a wait that is over, starts the count afresh.
    fresh = or_(
        attempts.window_started_at <= now - WRONG_CODE_WINDOW, attempts.blocked_until <= now
    )
    failures = case((fresh, 1), else_=attempts.failures + 1)
    statement = (
        _dialect_insert(connection.dialect.name)(_checkin_attempts)
        .values(activity_id=activity_id, key=key, failures=1, window_started_at=now)
        .on_conflict_do_update(
            index_elements=["activity_id", "key"],
            set_={
                "failures": failures,
                "window_started_at": case((fresh, at), else_=attempts.window_started_at),
                "blocked_until": case(
                    (failures >= limit, wait_until),
                    (fresh, literal(None, UTCDateTime())),
                    else_=attempts.blocked_until,
                ),
            },
        )
        .returning(attempts.blocked_until)
    )
    return connection.execute(statement).scalar_one()


def _judge_code(connection: Connection, activity, code, now: datetime, keys) -> None:
    """Refuse a scan while wrong codes make its volunteer or address wait; count a wrong code
    (the last one allowed starts the wait); let the right code pass."""
    wait = _wait_for(connection, activity.activity_id, keys, now)
    if wait is not None:
        raise TooManyWrongCodes(wait)
    if code_is_valid(activity.checkin_secret, code or "", now):
        return
    waits = [
        until - now
        for key, limit in keys  # always in this order: parallel upserts never wait on each other
        if (until := _count_wrong_code(connection, activity.activity_id, key, limit, now))
        and until > now
    ]
    if waits:
        raise TooManyWrongCodes(max(waits))
    raise _wrong_code()


def attendance_of(session: Session, activity_id: str, volunteer_id: str) -> Attendance | None:
    """A volunteer's attendance record at an activity, if any (read fresh)."""
    return session.scalar(
        select(Attendance)
        .where(Attendance.activity_id == activity_id, Attendance.volunteer_id == volunteer_id)
        .execution_options(populate_existing=True)
    )


def _require_window(activity: ActivityView, now: datetime) -> None:
    opens, closes = checkin_window(
        activity.starts_at, activity.ends_at, activity.checkin_opens_at, activity.checkin_closes_at
    )
    if now < opens:
        raise CheckinRefused(
            f"签到还没开始，将于 {local_time(opens, '%m月%d日 %H:%M')} 开放",
            code="checkin-not-open",
        )
    if now > closes:
        raise CheckinRefused(
            f"签到已于 {local_time(closes, '%m月%d日 %H:%M')} 结束", code="checkin-closed"
        )


def _require_nearby(activity: ActivityView, location: dict | None) -> None:
    if activity.latitude is None or activity.longitude is None or not activity.checkin_radius_m:
        return
    if not location or location.get("latitude") is None or location.get("longitude") is None:
        raise DomainError(
            "这个活动需要在现场签到：请允许浏览器获取你的位置后再试",
            code="location-required",
            errors={"latitude": ["需要当前位置"]},
        )
    away = distance_m(
        float(activity.latitude),
        float(activity.longitude),
        float(location["latitude"]),
        float(location["longitude"]),
    )
    if away > activity.checkin_radius_m:
        shown = f"{away / 1000:.1f} 公里" if away >= 1000 else f"{round(away)} 米"
        raise CheckinRefused(
            f"你离活动地点约 {shown}，需要在 {activity.checkin_radius_m} 米以内才能签到",
            code="too-far",
        )


# ---- check-in: at once where the rules admit the scan, else step by step ---------------------
#
# A volunteer's scan that the rules admit as things stand (the right code, the activity running
# and its window open, a profile, a confirmed place or walk-ins allowed, no location to check)
# is recorded by one INSERT ... SELECT whose WHERE clause states those rules, so the database
# checks them in the statement that writes:
# - on SQLite, with the activity's check-in secret remembered from an earlier scan, that
#   INSERT is the transaction's first statement and the event follows it;
# - on PostgreSQL, after one read of the facts (which the event needs), the INSERT, the outbox
#   lock and the event's row are one statement that commits by itself, so the lock is never
#   held across a round trip.
# Anything else (a refusal, a repeated scan, an activity with a radius, an organizer's hand
# entry, or facts that changed in between) is decided step by step: the facts are read in the
# transaction, a refusal is explained, and the record is inserted once. Both ways write the same
# record and the same event.

_activities = ActivityView.__table__
_volunteers = Volunteer.__table__
_signups = Signup.__table__
_attendance = Attendance.__table__

# Activity id -> check-in secret. A secret never changes once the activity is projected, and
# the INSERT only admits a scan where the stored secret is still the one the code was checked
# against, so an entry here can save a read but never admit a wrong code.
_SECRETS: dict[str, str] = {}
_SECRETS_KEPT = 10_000


def _remember_secret(activity_id: str, secret: str) -> None:
    if len(_SECRETS) >= _SECRETS_KEPT:
        _SECRETS.clear()
    _SECRETS[activity_id] = secret


_RECORD_COLUMNS = (
    "id",
    "activity_id",
    "volunteer_id",
    "signup_id",
    "shift_id",
    "walk_in",
    "checked_in_at",
    "checkin_method",
    "checked_in_by",
    "status",
    "created_at",
)


def _admitted_rows(same_signup: bool):
    """The SELECT of the record a code check-in writes where the rules admit it as it stands;
    with ``same_signup``, only if its sign-up (or none, for a walk-in) is still ``signup_id``."""
    activity, volunteer, signup = _activities.c, _volunteers.c, _signups.c
    now = bindparam("now", type_=UTCDateTime())
    rules = [
        activity.activity_id == bindparam("activity_id"),
        activity.checkin_secret == bindparam("secret"),
        activity.status != "cancelled",
        activity.status != "closed",
        # The window of rules.checkin_window: opens_at, else 30 minutes before the start...
        or_(
            activity.checkin_opens_at <= now,
            activity.checkin_opens_at.is_(None) & (activity.starts_at <= bindparam("soon")),
        ),
        # ... until closes_at, else the end.
        or_(
            activity.checkin_closes_at >= now,
            activity.checkin_closes_at.is_(None) & (activity.ends_at >= now),
        ),
        # No place to check the volunteer's location against.
        or_(
            activity.latitude.is_(None),
            activity.longitude.is_(None),
            activity.checkin_radius_m.is_(None),
            activity.checkin_radius_m == 0,
        ),
        or_(signup.id.is_not(None), activity.walk_ins_allowed.is_(True)),
        # Neither the volunteer nor the address waits after wrong codes (one index probe).
        ~exists().where(
            _checkin_attempts.c.activity_id == activity.activity_id,
            or_(
                _checkin_attempts.c.key == bindparam("volunteer_key", type_=String()),
                _checkin_attempts.c.key == bindparam("address_key", type_=String()),
            ),
            _checkin_attempts.c.blocked_until > now,
        ),
    ]
    if same_signup:
        rules.append(signup.id.is_not_distinct_from(bindparam("signup_id", type_=String())))
    return (
        select(
            bindparam("id", type_=String()),
            activity.activity_id,
            volunteer.id,
            signup.id,
            signup.shift_id,
            signup.id.is_(None),
            now,
            literal("code"),
            volunteer.id,
            literal("open"),
            now,
        )
        .select_from(
            _activities.join(_volunteers, volunteer.id == bindparam("volunteer_id")).outerjoin(
                _signups,
                (signup.activity_id == activity.activity_id)
                & (signup.volunteer_id == volunteer.id)
                & (signup.status == "confirmed"),
            )
        )
        .where(*rules)
    )


def _dialect_insert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _insert_admitted(dialect: str, same_signup: bool = False):
    """INSERT ... SELECT of an admitted code check-in; nothing where the volunteer has a record."""
    return (
        _dialect_insert(dialect)(_attendance)
        .from_select(_RECORD_COLUMNS, _admitted_rows(same_signup))
        .on_conflict_do_nothing(index_elements=["activity_id", "volunteer_id"])
    )


@functools.lru_cache(maxsize=8)
def _driver_statements(dialect: Dialect) -> tuple[DriverStatement, ...]:
    """The statements of a check-in admitted at once, compiled for the connection's driver: on
    SQLite the record's INSERT and the event's; on PostgreSQL both in one statement."""
    if dialect.name == "postgresql":
        admitted = _insert_admitted("postgresql", same_signup=True).returning(_attendance.c.id)
        both = locked_insert(after=admitted.cte("admitted")).returning(literal(True))
        return DriverStatement(CHECKIN_FACTS, dialect), DriverStatement(both, dialect)
    record = _insert_admitted(dialect.name).returning(
        _attendance.c.signup_id, _attendance.c.shift_id, _attendance.c.walk_in
    )
    event = insert_statement(dialect.name)
    return DriverStatement(record, dialect), DriverStatement(event, dialect)


# Everything the step-by-step check-in decides on, in one read: the activity, whether the
# volunteer has a profile, and their live sign-up.
CHECKIN_FACTS = (
    select(
        _activities.c.activity_id,
        _activities.c.status,
        _activities.c.cancel_reason,
        _activities.c.checkin_secret,
        _activities.c.starts_at,
        _activities.c.ends_at,
        _activities.c.checkin_opens_at,
        _activities.c.checkin_closes_at,
        _activities.c.latitude,
        _activities.c.longitude,
        _activities.c.checkin_radius_m,
        _activities.c.walk_ins_allowed,
        _volunteers.c.id.label("profile_id"),
        _signups.c.id.label("signup_id"),
        _signups.c.shift_id.label("signup_shift_id"),
        _signups.c.status.label("signup_status"),
    )
    .select_from(
        _activities.outerjoin(_volunteers, _volunteers.c.id == bindparam("volunteer_id")).outerjoin(
            _signups,
            (_signups.c.activity_id == _activities.c.activity_id)
            & (_signups.c.volunteer_id == bindparam("volunteer_id"))
            & or_(*(_signups.c.status == status for status in LIVE)),
        )
    )
    .where(_activities.c.activity_id == bindparam("activity_id"))
)


Facts = collections.namedtuple("Facts", CHECKIN_FACTS.selected_columns.keys())


def _admissible_signup(
    session: Session, facts, location: dict | None, by: str | None, now: datetime
) -> tuple[str, str] | None:
    """Check the window, the place and the person; return (id, shift id) of the confirmed
    sign-up the check-in belongs to, or None for a walk-in where walk-ins are allowed."""
    _require_window(facts, now)
    if facts.profile_id is None:
        if by is None:
            raise CheckinRefused("请先完善志愿者资料再签到", code="profile-required")
        raise NotFound("志愿者不存在", code="unknown-volunteer")
    if by is None:
        _require_nearby(facts, location)
    if facts.signup_status == "confirmed":
        return facts.signup_id, facts.signup_shift_id
    if facts.walk_ins_allowed:
        return None
    if facts.signup_id is not None:
        signup = session.get(Signup, facts.signup_id)
        raise CheckinRefused(
            f"你在候补名单第 {waitlist_position(session, signup)} 位，还没有获得名额，"
            "这个活动不接受现场报名",
            code="waitlisted",
        )
    raise CheckinRefused("你没有报名这个活动，这个活动不接受现场签到", code="not-signed-up")


def check_in(
    db: Session | Connection,
    activity_id: str,
    volunteer_id: str,
    *,
    code: str | None = None,
    location: dict | None = None,
    by: str | None = None,
    address: str | None = None,
    now: datetime | None = None,
) -> tuple[Attendance | SimpleNamespace, bool]:
    """Record a volunteer's arrival, once: by the volunteer with the live code (and location,
    where the activity has one), or by an organizer (``by``) for someone without a phone.

    Runs in the transaction of a session or on a Core connection (the API's hot path needs no
    ORM session; a connection not yet in a transaction may commit a check-in admitted at once by
    itself). Returns (record, created). A repeated scan returns the existing record; concurrent
    scans race on the (activity, volunteer) unique key, and exactly one insert wins.

    Wrong codes are counted per volunteer and per ``address`` (CodeRefused: commit, then
    answer); after too many, every scan of theirs waits (TooManyWrongCodes).
    """
    now = now or utcnow()
    record = {
        "id": str(uuid.uuid4()),
        "activity_id": activity_id,
        "volunteer_id": volunteer_id,
        "checked_in_at": now,
        "checkin_method": "code" if by is None else "manual",
        "checked_in_by": by or volunteer_id,
        "status": "open",
        "created_at": now,
    }
    if by is None:
        dialect = db.get_bind().dialect if isinstance(db, Session) else db.dialect
        if dialect.name == "postgresql":
            admitted = _check_in_at_once_postgresql(db, record, code or "", now, address)
        else:
            admitted = _check_in_at_once_sqlite(db, record, code or "", now, address)
        if admitted is not None:
            return admitted, True
    keys = attempt_keys(volunteer_id, address)
    return _check_in_step_by_step(db, record, code, location, by, now, keys)


def _check_in_at_once_sqlite(db, record: dict, code: str, now: datetime, address: str | None):
    """The INSERT first (SQLite's write lock waits for it), then the event; None if it did not
    admit the scan, or the secret is not known here yet."""
    secret = _SECRETS.get(record["activity_id"])
    if secret is None or not code_is_valid(secret, code, now):
        return None
    # Everything but the shift is known before the write lock is taken: the event is made
    # now and given its shift after the INSERT.
    event = _checked_in_event(record, None)
    parameters = _admission_parameters(record, now, secret, address)
    if isinstance(db, Connection) and not db.in_transaction():
        # A transaction of its own, committed here: the lock is held from the INSERT on.
        with sqlite_write(db) as driver:
            return _write_at_once(driver, db.dialect, record, event, parameters)
    return _write_at_once(*_driver_in_transaction(db), record, event, parameters)


def _write_at_once(driver, dialect: Dialect, record: dict, event, parameters: dict):
    insert_record, insert_event = _driver_statements(dialect)
    admitted = insert_record.run(driver, parameters)
    if admitted is None:
        return None
    signup_id, shift_id, walk_in = admitted
    if shift_id is not None:
        event = catalog.with_payload(event, shift_id=shift_id)
    insert_event.run(driver, outbox_row(event))
    return _as_written(record, signup_id, shift_id, walk_in)


def _check_in_at_once_postgresql(db, record: dict, code: str, now: datetime, address: str | None):
    """Read the facts, then write the record and its event in one statement (on a connection in
    no transaction yet, each commits by itself); None if that did not admit the scan."""
    if isinstance(db, Connection) and not db.in_transaction():
        with postgresql_autocommit(db) as driver:
            return _read_then_write_once(driver, db.dialect, record, code, now, address)
    return _read_then_write_once(*_driver_in_transaction(db), record, code, now, address)


def _read_then_write_once(
    driver, dialect: Dialect, record: dict, code: str, now: datetime, address: str | None
):
    read_facts, insert_record_and_event = _driver_statements(dialect)
    row = read_facts.run(
        driver, {"activity_id": record["activity_id"], "volunteer_id": record["volunteer_id"]}
    )  # psycopg gives each column the type SQLAlchemy would
    facts = Facts._make(row) if row is not None else None
    if facts is None or not _admitted_as_it_stands(facts, code, now):
        return None
    signup_id = facts.signup_id if facts.signup_status == "confirmed" else None
    shift_id = facts.signup_shift_id if signup_id else None
    written = insert_record_and_event.run(
        driver,
        {
            **_admission_parameters(record, now, facts.checkin_secret, address),
            "signup_id": signup_id,
            **outbox_row(_checked_in_event(record, shift_id)),
        },
    )
    if written is None:
        return None
    return _as_written(record, signup_id, shift_id, signup_id is None)


def _driver_in_transaction(db: Session | Connection) -> tuple:
    """The driver connection of a session or connection, in its transaction (begun if need be),
    and its dialect."""
    connection = _connection(db)
    if not connection.in_transaction():
        connection.begin()
    return connection.connection.driver_connection, connection.dialect


def _admitted_as_it_stands(facts, code: str, now: datetime) -> bool:
    """Whether the INSERT of an admitted check-in will take these facts as they are."""
    try:
        _refuse_unless_running(facts)
        _require_code(facts, code, now)
        _require_window(facts, now)
    except DomainError:
        return False
    if facts.profile_id is None or _has_radius(facts):
        return False
    return facts.signup_status == "confirmed" or bool(facts.walk_ins_allowed)


def _admission_parameters(record: dict, now: datetime, secret: str, address: str | None) -> dict:
    return {
        "volunteer_key": f"volunteer:{record['volunteer_id']}",
        "address_key": f"address:{address}" if address else None,
        "id": record["id"],
        "now": now,
        "soon": now + CHECKIN_OPENS_BEFORE,
        "activity_id": record["activity_id"],
        "volunteer_id": record["volunteer_id"],
        "secret": secret,
    }


def _check_in_step_by_step(db, record: dict, code, location, by, now: datetime, keys):
    """Read the facts in the transaction, explain a refusal, insert once."""
    activity_id, volunteer_id = record["activity_id"], record["volunteer_id"]
    connection = _connection(db)
    facts = connection.execute(
        CHECKIN_FACTS, {"activity_id": activity_id, "volunteer_id": volunteer_id}
    ).first()
    if facts is None:
        raise NotFound("活动不存在或尚未发布", code="unknown-activity")
    _remember_secret(activity_id, facts.checkin_secret)
    # The ORM reads of refusals and repeated scans, in the same transaction.
    with contextlib.nullcontext(db) if isinstance(db, Session) else Session(connection) as session:
        _refuse_unless_running(facts)
        if by is None:
            _judge_code(connection, facts, code, now, keys)
        try:
            signup = _admissible_signup(session, facts, location, by, now)
        except DomainError:
            # Refused now, but a repeated scan of someone already in is answered kindly.
            existing = attendance_of(session, activity_id, volunteer_id)
            if existing is not None and existing.checked_in_at is not None:
                return existing, False
            raise
        signup_id, shift_id = signup or (None, None)
        values = {**record, "signup_id": signup_id, "shift_id": shift_id, "walk_in": not signup}
        if connection.execute(_insert_once(connection.dialect.name), values).first() is None:
            # An earlier (or concurrent) scan: answer with its record.
            existing = attendance_of(session, activity_id, volunteer_id)
            if existing.checked_in_at is None:
                raise CheckinRefused("出勤已由组织者确认，不能再签到", code="attendance-final")
            return existing, False
    emit(connection, _checked_in_event(record, shift_id))
    return _as_written(record, signup_id, shift_id, signup is None), True


def _has_radius(activity) -> bool:
    return bool(activity.latitude and activity.longitude and activity.checkin_radius_m)


def _checked_in_event(record: dict, shift_id: str | None):
    """attendance.checked_in of a record about to be (or just) written."""
    return catalog.make_event(
        "attendance.checked_in",
        {
            "attendance_id": record["id"],
            "volunteer_id": record["volunteer_id"],
            "activity_id": record["activity_id"],
            "shift_id": shift_id,
            "checked_in_at": record["checked_in_at"].isoformat(),
            "method": record["checkin_method"],
        },
        producer=PRODUCER,
        serialized=True,
    )


def _as_written(record: dict, signup_id, shift_id, walk_in) -> SimpleNamespace:
    """The record just written, without reading it back."""
    return SimpleNamespace(
        **record,
        signup_id=signup_id,
        shift_id=shift_id,
        walk_in=bool(walk_in),
        checked_out_at=None,
        hours=None,
    )


def _connection(db: Session | Connection) -> Connection:
    """The Core connection of a session or connection."""
    return db.connection() if isinstance(db, Session) else db


@functools.cache
def _insert_once(dialect: str):
    """INSERT of an attendance record that does nothing where the volunteer has one already."""
    return (
        _dialect_insert(dialect)(_attendance)
        .on_conflict_do_nothing(index_elements=["activity_id", "volunteer_id"])
        .returning(_attendance.c.id)
    )


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
    _refuse_unless_running(activity)
    if by is None:
        _require_code(activity, code, now)
    record = attendance_of(session, activity_id, volunteer_id)
    if record is None or record.checked_in_at is None:
        raise CheckinRefused("还没有签到，不能签退", code="not-checked-in", title="无法签退")
    if record.checked_out_at is not None:
        return record, False
    if record.status != "open":
        raise CheckinRefused("出勤已由组织者确认，不能再签退", code="attendance-final")
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
            select(Signup).where(Signup.activity_id == activity_id, Signup.status == "confirmed")
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
                "status": record.status if record else "open",
                "hours": Decimal(record.hours) if record and record.hours else None,
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
    if activity.status in ("cancelled", "closed"):
        word = "已取消" if activity.status == "cancelled" else "已关闭，出勤记录已确定"
        raise Conflict(f"活动{word}，不能再确认时长", code=f"activity-{activity.status}")
    if now < activity.starts_at and activity.status != "completed":
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
            if row["status"] == "confirmed" and row["hours"] != hours:
                problems.append("修改已确认的时长须说明原因")
            elif row["status"] != "confirmed" and row["computed_hours"] is None:
                problems.append("没有签退记录，填写时长须说明原因")
            elif row["status"] != "confirmed" and row["computed_hours"] != hours:
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
        elif row["status"] == "confirmed":
            problems.append("出勤已确认，请改为修改时长")
        if problems:
            errors[volunteer_id] = problems
    if errors:
        raise DomainError("有些记录不能确认，详见 errors", code="attendance-invalid", errors=errors)

    confirmed, corrected, missing = [], [], []
    for entry in entries:
        row = table[entry["volunteer_id"]]
        record = _record_for(session, activity_id, row, now)
        previous = Decimal(record.hours) if record.status == "confirmed" else None
        if previous is not None and previous == entry["hours"]:
            continue
        record.hours = str(Decimal(entry["hours"]).quantize(Decimal("0.1")))
        record.hours_reason = (entry.get("reason") or "").strip() or None
        record.confirmed_by = by
        record.confirmed_at = now
        if previous is None:
            record.status = "confirmed"
            confirmed.append(record)
        else:
            corrected.append((record, previous, record.hours_reason))
    for volunteer_id in no_shows:
        record = _record_for(session, activity_id, table[volunteer_id], now)
        if record.status == "no_show":
            continue
        record.status = "no_show"
        record.confirmed_by = by
        record.confirmed_at = now
        missing.append(record)
    session.flush()

    attendees, groups = session.execute(
        select(func.count(Attendance.id), func.count(distinct(Volunteer.ethnicity)))
        .select_from(Attendance)
        .join(Volunteer, Volunteer.id == Attendance.volunteer_id, isouter=True)
        .where(Attendance.activity_id == activity_id, Attendance.status == "confirmed")
    ).one()
    distinct_groups, cross_group = group_aggregate(attendees, groups)
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
            status="open",
            created_at=now,
        )
        session.add(record)
        session.flush()
    return record


# ---- hours -------------------------------------------------------------------------------


def confirmed_hours(session: Session, volunteer_id: str) -> list[dict]:
    """A volunteer's confirmed attendance, oldest first, with each activity and its host unit."""
    rows = session.execute(
        select(Attendance, ActivityView, UnitView.name)
        .join(ActivityView, ActivityView.activity_id == Attendance.activity_id)
        .join(UnitView, UnitView.unit_id == ActivityView.host_unit_id, isouter=True)
        .where(Attendance.volunteer_id == volunteer_id, Attendance.status == "confirmed")
        .order_by(ActivityView.starts_at, Attendance.id)
    ).all()
    return [
        {
            "attendance_id": record.id,
            "activity_id": activity.activity_id,
            "title": activity.title,
            "starts_at": activity.starts_at,
            "activity_date": local_date(activity.starts_at),
            "host_unit_id": activity.host_unit_id,
            "host_unit_name": unit_name or "",
            "hours": Decimal(record.hours),
            "confirmed_by": record.confirmed_by,
            "confirmed_at": record.confirmed_at,
        }
        for record, activity, unit_name in rows
    ]


def issue_certificate(session: Session, volunteer_id: str, now: datetime | None = None):
    """Issue (or find the one already issued for the same records) a volunteer-hours
    certificate; return (certificate, volunteer, records)."""
    volunteer = get_volunteer(session, volunteer_id)
    records = confirmed_hours(session, volunteer_id)
    if not records:
        raise Conflict("还没有经组织者确认的服务时长，暂不能开具证明", code="no-confirmed-hours")
    listing = "|".join(f"{r['attendance_id']}:{r['hours']}" for r in records)
    digest = hashlib.sha256(f"{volunteer_id}|{listing}".encode()).hexdigest()
    certificate = session.scalar(
        select(HoursCertificate).where(
            HoursCertificate.volunteer_id == volunteer_id, HoursCertificate.digest == digest
        )
    )
    if certificate is None:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        code = "SLH-" + "".join(secrets.choice(alphabet) for _ in range(10))
        certificate = HoursCertificate(
            code=code,
            volunteer_id=volunteer_id,
            digest=digest,
            total_hours=str(sum((r["hours"] for r in records), Decimal("0"))),
            records=len(records),
            issued_at=now or utcnow(),
        )
        session.add(certificate)
        session.flush()
    return certificate, volunteer, records


def verify_certificate(session: Session, code: str):
    """Return (certificate, volunteer) for a verification code, or raise NotFound."""
    certificate = session.get(HoursCertificate, (code or "").strip().upper())
    if certificate is None:
        raise NotFound("没有这个编号的时长证明", code="unknown-certificate")
    return certificate, session.get(Volunteer, certificate.volunteer_id)


def unit_names(session: Session) -> dict[str, str]:
    """The names of the units this service knows, by id."""
    return dict(session.execute(select(UnitView.unit_id, UnitView.name)).all())
