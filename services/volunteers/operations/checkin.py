"""Check-in codes, check-in (at once or step by step) and check-out."""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import (
    String,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit, insert_statement, locked_insert, outbox_row
from services.common.db import DriverStatement, postgresql_autocommit, sqlite_write
from services.common.errors import DomainError, NotFound
from services.common.states import ActivityStatus, AttendanceStatus, SignupStatus
from services.common.types import UTCDateTime
from services.volunteers.models import (
    ActivityView,
    Attendance,
    CheckinAttempt,
    Signup,
    Volunteer,
)
from services.volunteers.operations._common import LIVE, PRODUCER, get_activity
from services.volunteers.operations.signups import waitlist_position
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
    local_time,
)

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
    if activity.status == ActivityStatus.CANCELLED:
        reason = f"：{activity.cancel_reason}" if activity.cancel_reason else ""
        raise CheckinRefused(f"活动已取消{reason}", code="activity-cancelled")
    if activity.status == ActivityStatus.CLOSED:
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
        activity.status != ActivityStatus.CANCELLED,
        activity.status != ActivityStatus.CLOSED,
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
            literal(AttendanceStatus.OPEN.value),
            now,
        )
        .select_from(
            _activities.join(_volunteers, volunteer.id == bindparam("volunteer_id")).outerjoin(
                _signups,
                (signup.activity_id == activity.activity_id)
                & (signup.volunteer_id == volunteer.id)
                & (signup.status == SignupStatus.CONFIRMED),
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
    if facts.signup_status == SignupStatus.CONFIRMED:
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
        "status": AttendanceStatus.OPEN,
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
    signup_id = facts.signup_id if facts.signup_status == SignupStatus.CONFIRMED else None
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
    return facts.signup_status == SignupStatus.CONFIRMED or bool(facts.walk_ins_allowed)


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
    if record.status != AttendanceStatus.OPEN:
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
