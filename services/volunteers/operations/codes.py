"""Check-in codes and the limit on wrong ones: the live code, whose wrong codes count, and the
wait that too many of them bring."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.engine import Connection

from events.envelope import utcnow
from services.common.errors import DomainError
from services.common.types import UTCDateTime
from services.volunteers.models import ActivityView, CheckinAttempt
from services.volunteers.operations._common import dialect_insert
from services.volunteers.rules import (
    WRONG_CODE_WAIT,
    WRONG_CODE_WINDOW,
    WRONG_CODES_PER_ADDRESS,
    WRONG_CODES_PER_VOLUNTEER,
    code_is_valid,
    current_code,
    scan_token,
)


def checkin_code(activity: ActivityView, now: datetime | None = None) -> tuple[str, datetime]:
    """The code an organizer's screen shows now, and when it changes."""
    return current_code(activity.checkin_secret, now or utcnow())


def checkin_scan_token(activity: ActivityView, now: datetime | None = None) -> str:
    """The scan token the screen's QR carries now (good for five minutes, at this activity)."""
    return scan_token(activity.checkin_secret, now or utcnow())


class CodeRefused(DomainError, status=400, code="code-invalid", title="请求无效"):
    """A wrong check-in code, counted; commit the transaction (the count) before answering."""


class TooManyWrongCodes(CodeRefused, status=429, code="too-many-wrong-codes", title="尝试次数过多"):
    """Too many wrong codes from this volunteer or address at this activity: wait."""

    def __init__(self, wait: timedelta):
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        super().__init__(
            "签到码输错次数过多，请在 {minutes} 分钟后再试", values={"minutes": minutes}
        )
        self.retry_after = max(1, math.ceil(wait.total_seconds()))


def wrong_code() -> CodeRefused:
    return CodeRefused(
        "签到码不正确或已过期，请扫描现场屏幕上最新的二维码，或输入屏幕上的 6 位数字",
        errors={"code": ["签到码不正确或已过期"]},
    )


def require_code(activity: ActivityView, code: str | None, now: datetime) -> None:
    """Refuse a code the activity's secret does not make now (nothing is counted)."""
    if not code_is_valid(activity.checkin_secret, code or "", now):
        raise wrong_code()


_checkin_attempts = CheckinAttempt.__table__


def attempt_keys(volunteer_id: str, address: str | None) -> list[tuple[str, int]]:
    """Whose wrong codes count, with how many each may make: the volunteer, and the address."""
    keys = [(f"volunteer:{volunteer_id}", WRONG_CODES_PER_VOLUNTEER)]
    if address:
        keys.append((f"address:{address}", WRONG_CODES_PER_ADDRESS))
    return keys


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
        dialect_insert(connection.dialect.name)(_checkin_attempts)
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


def judge_code(connection: Connection, facts, code, now: datetime, keys) -> None:
    """Refuse a scan while wrong codes make its volunteer or address wait (``facts.wait_until``
    says until when); count a wrong code (the last one allowed starts the wait); let the right
    code pass."""
    if not facts.not_waiting:
        raise TooManyWrongCodes(facts.wait_until - now)
    if code_is_valid(facts.checkin_secret, code or "", now):
        return
    waits = [
        until - now
        for key, limit in keys  # always in this order: parallel upserts never wait on each other
        if (until := _count_wrong_code(connection, facts.activity_id, key, limit, now))
        and until > now
    ]
    if waits:
        raise TooManyWrongCodes(max(waits))
    raise wrong_code()


def blocked_until(activity_id, volunteer_key, address_key, now):
    """Until when wrong codes make the volunteer's or the address's scans wait at the activity
    (NULL: they do not), as an SQL expression over the given columns and parameters."""
    attempts = _checkin_attempts.c
    return (
        select(func.max(attempts.blocked_until))
        .where(
            attempts.activity_id == activity_id,
            or_(attempts.key == volunteer_key, attempts.key == address_key),
            attempts.blocked_until > now,
        )
        .scalar_subquery()
    )
