"""The check-in admission rule, stated once as named SQL conditions.

A volunteer's scan is admitted where every condition of ``CONDITIONS`` holds and the code is
the live one of the activity's stored secret. The conditions have two evaluators, as pretix keeps
its check-in rules once as data with two evaluators:

- the admitting ``INSERT ... SELECT`` (``insert_admitted``) writes the record where their
  conjunction holds, in the statement that writes;
- ``CHECKIN_FACTS`` selects each of them by name beside the facts the answers need, so that a
  scan that was not admitted is told which condition failed (``refusal``), with the messages it
  has always had.

Rules needed on a loaded activity as well (running, needs a location) are hybrid properties of
``ActivityView``. Only what SQL cannot decide stays in Python: the code (an HMAC of the secret
and the time) and the distance of a volunteer's location from the venue.
"""

from __future__ import annotations

import collections
import functools

from sqlalchemy import String, bindparam, case, literal, or_, select
from sqlalchemy.orm import Session

from services.common.errors import DomainError, Message, NotFound
from services.common.states import ActivityStatus, AttendanceStatus, SignupStatus
from services.common.types import UTCDateTime
from services.volunteers.models import ActivityView, Attendance, Signup, Volunteer
from services.volunteers.operations._common import LIVE, dialect_insert
from services.volunteers.operations.codes import blocked_until
from services.volunteers.operations.signups import waitlist_position
from services.volunteers.rules import CHECKIN_OPENS_BEFORE, checkin_window, distance_m, local_time


class CheckinRefused(DomainError, status=409, code="checkin-refused", title="无法签到"):
    """A check-in or check-out the rules do not allow; nothing was recorded."""


def refuse_unless_running(activity) -> None:
    """Refuse at an activity that is cancelled or closed (a loaded one, or the facts)."""
    if activity.running:
        return
    if activity.status == ActivityStatus.CANCELLED:
        if activity.cancel_reason:
            raise CheckinRefused(
                "活动已取消：{reason}",
                values={"reason": activity.cancel_reason},
                code="activity-cancelled",
            )
        raise CheckinRefused("活动已取消", code="activity-cancelled")
    raise CheckinRefused("活动已关闭，出勤记录已确定", code="activity-closed")


_activities = ActivityView.__table__
_volunteers = Volunteer.__table__
_signups = Signup.__table__
_attendance = Attendance.__table__

_now = bindparam("now", type_=UTCDateTime())

# The activity, the volunteer's profile (if any) and their live sign-up (if any: at most one,
# a partial unique index says so), for one activity and volunteer.
_FACTS_FROM = _activities.outerjoin(
    _volunteers, _volunteers.c.id == bindparam("volunteer_id")
).outerjoin(
    _signups,
    (_signups.c.activity_id == _activities.c.activity_id)
    & (_signups.c.volunteer_id == bindparam("volunteer_id"))
    & or_(*(_signups.c.status == status for status in LIVE)),
)

# The confirmed sign-up a check-in belongs to (NULL: none, a walk-in).
_confirmed = _signups.c.status == SignupStatus.CONFIRMED
ADMITTED_SIGNUP_ID = case((_confirmed, _signups.c.id))
ADMITTED_SHIFT_ID = case((_confirmed, _signups.c.shift_id))

_wait_until = blocked_until(
    _activities.c.activity_id,
    bindparam("volunteer_key", type_=String()),
    bindparam("address_key", type_=String()),
    _now,
)

# The admission rule, one named condition each (in the order a refusal is explained).
CONDITIONS = {
    "running": ActivityView.running,
    # Neither the volunteer nor the address waits after wrong codes (one index probe).
    "not_waiting": _wait_until.is_(None),
    # The window of rules.checkin_window: opens_at, else 30 minutes before the start ...
    "window_opened": or_(
        _activities.c.checkin_opens_at <= _now,
        _activities.c.checkin_opens_at.is_(None) & (_activities.c.starts_at <= bindparam("soon")),
    ),
    # ... until closes_at, else the end.
    "window_not_closed": or_(
        _activities.c.checkin_closes_at >= _now,
        _activities.c.checkin_closes_at.is_(None) & (_activities.c.ends_at >= _now),
    ),
    "has_profile": _volunteers.c.id.is_not(None),
    # No place to check the volunteer's location against (where there is, Python measures).
    "no_radius": ~ActivityView.needs_location,
    # A confirmed place, or walk-ins allowed.
    "placed": or_(_confirmed, _activities.c.walk_ins_allowed.is_(True)),
}


# Everything a check-in decides on, in one read: the activity, whether the volunteer has a
# profile, their live sign-up, the wrong codes' wait, and each condition of the rule.
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
        ADMITTED_SIGNUP_ID.label("admitted_signup_id"),
        ADMITTED_SHIFT_ID.label("admitted_shift_id"),
        _wait_until.label("wait_until"),
        *(condition.label(name) for name, condition in CONDITIONS.items()),
    )
    .select_from(_FACTS_FROM)
    .where(_activities.c.activity_id == bindparam("activity_id"))
)


class Facts(collections.namedtuple("Facts", CHECKIN_FACTS.selected_columns.keys())):
    """A row of CHECKIN_FACTS."""

    __slots__ = ()

    @property
    def admitted(self) -> bool:
        """Whether every condition of the admission rule holds (the code aside)."""
        return all(getattr(self, name) for name in CONDITIONS)


def facts_parameters(activity_id: str, volunteer_id: str, now, address: str | None) -> dict:
    """The parameters of CHECKIN_FACTS and of the admitting INSERT (but its record's)."""
    return {
        "activity_id": activity_id,
        "volunteer_id": volunteer_id,
        "now": now,
        "soon": now + CHECKIN_OPENS_BEFORE,
        "volunteer_key": f"volunteer:{volunteer_id}",
        "address_key": f"address:{address}" if address else None,
    }


RECORD_COLUMNS = (
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
    """The SELECT of the record a code check-in writes where the rule admits it and the stored
    secret is ``secret`` (the one the code was checked against); with ``same_signup``, only if
    its confirmed sign-up (or none, for a walk-in) is still ``signup_id``."""
    rules = [
        _activities.c.activity_id == bindparam("activity_id"),
        _activities.c.checkin_secret == bindparam("secret"),
        *CONDITIONS.values(),
    ]
    if same_signup:
        rules.append(
            ADMITTED_SIGNUP_ID.is_not_distinct_from(bindparam("signup_id", type_=String()))
        )
    return (
        select(
            bindparam("id", type_=String()),
            _activities.c.activity_id,
            _volunteers.c.id,
            ADMITTED_SIGNUP_ID,
            ADMITTED_SHIFT_ID,
            ADMITTED_SIGNUP_ID.is_(None),
            _now,
            literal("code"),
            _volunteers.c.id,
            literal(AttendanceStatus.OPEN.value),
            _now,
        )
        .select_from(_FACTS_FROM)
        .where(*rules)
    )


def insert_admitted(dialect: str, same_signup: bool = False):
    """INSERT ... SELECT of an admitted code check-in; nothing where the volunteer has a record."""
    return (
        dialect_insert(dialect)(_attendance)
        .from_select(RECORD_COLUMNS, _admitted_rows(same_signup))
        .on_conflict_do_nothing(index_elements=["activity_id", "volunteer_id"])
    )


@functools.cache
def insert_once(dialect: str):
    """INSERT of an attendance record that does nothing where the volunteer has one already."""
    return (
        dialect_insert(dialect)(_attendance)
        .on_conflict_do_nothing(index_elements=["activity_id", "volunteer_id"])
        .returning(_attendance.c.id)
    )


def refusal(session: Session, facts: Facts, location: dict | None, by: str | None, now):
    """Why the rule does not admit a check-in, from the conditions ``facts`` selected (running
    and the code are judged before): the error to answer with, or None where it admits it.
    ``by``: an organizer's hand entry, which needs no location."""
    if not facts.window_opened or not facts.window_not_closed:
        opens, closes = checkin_window(
            facts.starts_at, facts.ends_at, facts.checkin_opens_at, facts.checkin_closes_at
        )
        if not facts.window_opened:
            return CheckinRefused(
                "签到还没开始，将于 {time} 开放",
                values={"time": moment_message(opens)},
                code="checkin-not-open",
            )
        return CheckinRefused(
            "签到已于 {time} 结束", values={"time": moment_message(closes)}, code="checkin-closed"
        )
    if not facts.has_profile:
        if by is None:
            return CheckinRefused("请先完善志愿者资料再签到", code="profile-required")
        return NotFound("志愿者不存在", code="unknown-volunteer")
    if by is None and not facts.no_radius and (far := _too_far(facts, location)):
        return far
    if facts.placed:
        return None
    if facts.signup_id is not None:
        signup = session.get(Signup, facts.signup_id)
        return CheckinRefused(
            "你在候补名单第 {position} 位，还没有获得名额，这个活动不接受现场报名",
            values={"position": waitlist_position(session, signup)},
            code="waitlisted",
        )
    return CheckinRefused("你没有报名这个活动，这个活动不接受现场签到", code="not-signed-up")


def _too_far(facts: Facts, location: dict | None) -> DomainError | None:
    """The refusal of a location missing, or outside the activity's check-in radius."""
    if not location or location.get("latitude") is None or location.get("longitude") is None:
        return DomainError(
            "这个活动需要在现场签到：请允许浏览器获取你的位置后再试",
            code="location-required",
            errors={"latitude": ["需要当前位置"]},
        )
    away = distance_m(
        float(facts.latitude),
        float(facts.longitude),
        float(location["latitude"]),
        float(location["longitude"]),
    )
    if away <= facts.checkin_radius_m:
        return None
    shown = (
        Message("{km} 公里", {"km": f"{away / 1000:.1f}"})
        if away >= 1000
        else Message("{metres} 米", {"metres": round(away)})
    )
    return CheckinRefused(
        "你离活动地点约 {distance}，需要在 {radius} 米以内才能签到",
        values={"distance": shown, "radius": facts.checkin_radius_m},
        code="too-far",
    )


def moment_message(moment) -> Message:
    """A moment as the city reads it ("03月08日 14:00"), as words web shows in the page's
    language."""
    month, day, time = local_time(moment, "%m %d %H:%M").split()
    return Message("{month}月{day}日 {time}", {"month": month, "day": day, "time": time})
