"""Pure rules of sign-up, check-in and attendance: no database, no clock of their own."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from events.settings import city_zone

CODE_STEP_SECONDS = 30
CODE_DIGITS = 6
CHECKIN_OPENS_BEFORE = timedelta(minutes=30)
# The live QR carries a scan token rather than the 6-digit code: the token of a 30-second step
# stays good for five minutes after the screen stopped showing it (a volunteer who scans, signs
# in and reads the page still gets in), at that activity only (its MAC is keyed by the
# activity's secret). 64 bits of MAC cannot be guessed, and a wrong token counts as a wrong
# code all the same.
SCAN_TOKEN_GOOD_FOR = timedelta(minutes=5)
SCAN_TOKEN_STEPS = int(SCAN_TOKEN_GOOD_FOR.total_seconds()) // CODE_STEP_SECONDS
# Wrong check-in codes: a volunteer gets five per activity within ten minutes (a person who
# mistypes twice is never held up), an address thirty (many people share a venue's Wi-Fi);
# the next is refused for ten minutes, whatever code it brings. A guess then has at most
# 5 x 2 chances in a million per ten minutes and volunteer.
WRONG_CODES_PER_VOLUNTEER = 5
WRONG_CODES_PER_ADDRESS = 30
WRONG_CODE_WINDOW = timedelta(minutes=10)
WRONG_CODE_WAIT = timedelta(minutes=10)
HALF_HOUR = Decimal("0.5")
CROSS_GROUP_MIN_GROUPS = 3
AGGREGATE_MIN_PEOPLE = 5  # ethnicity-derived figures never describe fewer people than this


def new_secret() -> str:
    """A fresh per-activity check-in secret (hex)."""
    return secrets.token_hex(20)


def time_step(moment: datetime) -> int:
    """The 30-second step a moment falls in."""
    return int(moment.timestamp()) // CODE_STEP_SECONDS


def code_for_step(secret: str, step: int) -> str:
    """The 6-digit code of one time step (HOTP, RFC 4226, over the step counter)."""
    digest = hmac.new(bytes.fromhex(secret), step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{number % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def current_code(secret: str, now: datetime) -> tuple[str, datetime]:
    """The code shown now and the moment it stops being the current one."""
    step = time_step(now)
    expires = datetime.fromtimestamp((step + 1) * CODE_STEP_SECONDS, tz=now.tzinfo)
    return code_for_step(secret, step), expires


def scan_token(secret: str, now: datetime) -> str:
    """The token the live QR carries now: its step and a MAC of the step under the secret."""
    step = time_step(now)
    return f"{step}-{_scan_mac(secret, step)}"


def _scan_mac(secret: str, step: int) -> str:
    message = b"scan:" + step.to_bytes(8, "big")
    return hmac.new(bytes.fromhex(secret), message, hashlib.sha256).hexdigest()[:16]


def scan_token_is_valid(secret: str, token: str, now: datetime) -> bool:
    """Accept a QR's scan token of this activity for five minutes after its step ended."""
    token = (token or "").strip()
    step_text, _, mac = token.partition("-")
    if not (token.isascii() and step_text.isdigit() and len(step_text) <= 12 and len(mac) == 16):
        return False
    step = int(step_text)
    if not 0 <= time_step(now) - step <= SCAN_TOKEN_STEPS:
        return False
    return hmac.compare_digest(mac, _scan_mac(secret, step))


def is_scan_token(code: str | None) -> bool:
    """Whether a code is a QR's scan token rather than 6 typed digits."""
    return "-" in (code or "")


def code_is_valid(secret: str, code: str, now: datetime) -> bool:
    """Accept the code of the current step or of the one before (a scan takes a moment), or
    a scan token of the live QR within its five minutes."""
    code = (code or "").strip()
    if is_scan_token(code):
        return scan_token_is_valid(secret, code, now)
    if len(code) != CODE_DIGITS or not (code.isascii() and code.isdigit()):
        return False
    step = time_step(now)
    return any(hmac.compare_digest(code, code_for_step(secret, s)) for s in (step, step - 1))


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    radius = 6_371_000.0
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(a))


def checkin_window(
    starts_at: datetime,
    ends_at: datetime,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> tuple[datetime, datetime]:
    """When check-in is open: 30 minutes before the start until the end, unless the activity
    says otherwise."""
    return opens_at or starts_at - CHECKIN_OPENS_BEFORE, closes_at or ends_at


def hours_between(checked_in_at: datetime | None, checked_out_at: datetime | None):
    """Hours from check-in to check-out in whole half hours (a started half hour does not
    count); None when either end is missing, because a missing check-out is never guessed."""
    if checked_in_at is None or checked_out_at is None or checked_out_at < checked_in_at:
        return None
    half_hours = int((checked_out_at - checked_in_at).total_seconds() // 1800)
    return (HALF_HOUR * half_hours).quantize(Decimal("0.1"))


def is_half_hour_step(hours: Decimal) -> bool:
    """Tell whether hours are a whole number of half hours."""
    return (hours / HALF_HOUR) == (hours / HALF_HOUR).to_integral_value(rounding=ROUND_FLOOR)


def local_time(moment: datetime, fmt: str = "%H:%M") -> str:
    """A moment as volunteers in the city read it."""
    return moment.astimezone(city_zone()).strftime(fmt)


def local_date(moment: datetime):
    """The city's calendar date of a moment."""
    return moment.astimezone(city_zone()).date()


def group_aggregate(consenting: int, groups: int) -> tuple[int | None, bool]:
    """(distinct_groups, cross_group) as they may leave this service: nothing over fewer than
    five attendees who consented to give their ethnicity, and cross-group means at least three
    groups among them."""
    if consenting < AGGREGATE_MIN_PEOPLE:
        return None, False
    return groups, groups >= CROSS_GROUP_MIN_GROUPS
