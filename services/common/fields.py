"""Input fields every schema shares: text a database can store and a page can show safely,
dates in the platform's range, integers in the database's.

Text: no lone surrogates (they cannot be stored as UTF-8), no control characters (NUL cannot be
stored on PostgreSQL; the others are invisible or worse), except line breaks and tabs in text of
several lines; and no bidirectional overrides, embeddings or isolates (U+202A–U+202E,
U+2066–U+2069) in one-line text such as names and titles, where they disguise what a reader
sees. Dates and times: from 2000-01-01 to 2100-12-31, so that every one converts to UTC and
every date sorts and stores on both engines.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from marshmallow import ValidationError, fields, validate

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
INT32_MAX = 2**31 - 1  # an INTEGER column
INT64_MAX = 2**63 - 1  # a BIGINT column (SQLite's integers too)

SURROGATES = re.compile("[\ud800-\udfff]")
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
CONTROLS_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
DIRECTION_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

MESSAGES = {
    "surrogate": "含有无效的字符（孤立的代理项），请重新输入",
    "control": "不能包含控制字符（含换行、制表符）",
    "control_multiline": "不能包含控制字符（换行和制表符除外）",
    "direction": "不能包含改变文字方向的控制字符（U+202A–U+202E、U+2066–U+2069）",
    "date_range": "日期须在 2000-01-01 到 2100-12-31 之间",
}


def text_problem(value: str, multiline: bool = False) -> str | None:
    """The key of MESSAGES that refuses ``value`` as text of one (or several) lines, or None."""
    if SURROGATES.search(value):
        return "surrogate"
    if multiline:
        return "control_multiline" if CONTROLS_BUT_LINES.search(value) else None
    if CONTROLS.search(value):
        return "control"
    if DIRECTION_CONTROLS.search(value):
        return "direction"
    return None


def date_in_range(day: date) -> bool:
    """Tell whether a date (or a date-time's own calendar date) lies in the platform's range."""
    return FIRST_DAY <= day <= LAST_DAY


class Text(fields.String):
    """A string of one line (or, with ``multiline``, several) that refuses what cannot be stored
    or shown safely (see the module's docstring)."""

    default_error_messages = {
        key: MESSAGES[key] for key in ("surrogate", "control", "control_multiline", "direction")
    }

    def __init__(self, *args, multiline: bool = False, **kwargs):
        self.multiline = multiline
        super().__init__(*args, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, self.multiline)
        if problem:
            raise self.make_error(problem)
        return text


class Date(fields.Date):
    """A calendar date from 2000-01-01 to 2100-12-31."""

    default_error_messages = {"date_range": MESSAGES["date_range"]}

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not date_in_range(day):
            raise self.make_error("date_range")
        return day


class AwareDateTime(fields.AwareDateTime):
    """A date and time with its zone, whose date lies from 2000-01-01 to 2100-12-31 (so that it
    converts to UTC without overflowing)."""

    default_error_messages = {"date_range": MESSAGES["date_range"]}

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not date_in_range(moment.date()):
            raise self.make_error("date_range")
        return moment


LONGEST_PERIOD_DAYS = 3660  # ten years and their leap days, with room to spare


def check_period(
    start: date | None, end: date | None, end_field: str, too_long: str, too_long_field: str
) -> None:
    """Refuse a period (its two dates when both are given) that ends before it starts, on
    ``end_field``, or that is longer than ten years, with ``too_long`` on ``too_long_field`` (each
    schema words that in its own terms); a schema's ``validates_schema`` calls it."""
    if start and end and start > end:
        raise ValidationError("结束日期不能早于开始日期", end_field)
    if start and end and (end - start).days > LONGEST_PERIOD_DAYS:
        raise ValidationError(too_long, too_long_field)


def integer_id(maximum: int = INT64_MAX) -> validate.Range:
    """The range of an integer stored in the database (BIGINT unless told)."""
    return validate.Range(min=1, max=maximum)


class Hours(fields.Number):
    """Hours as a JSON number, from a decimal (or its string, as the ledger formats half-hours):
    whole hours without a decimal point (3), half hours with one (3.5), as pages show them."""

    num_type = Decimal

    def _format_num(self, value):
        number = Decimal(str(value))
        return int(number) if number == number.to_integral_value() else float(number)

    def _validated(self, value):
        try:
            return self._format_num(value)
        except (ArithmeticError, TypeError, ValueError) as error:
            raise self.make_error("invalid", input=value) from error
