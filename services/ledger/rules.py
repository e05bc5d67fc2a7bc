"""The points rule as plain functions: integer arithmetic only, deterministic rounding.

Hours arrive as decimals in steps of 0.5 and are counted in half-hours (integers). A shift
weight (two decimal places) is counted in percent (1.5 → 150). Every division rounds half up
(四舍五入) with integers only: ``round_half_up(n, d) = (2n + d) // 2d`` for n ≥ 0.

    hour points  = round_half_up(half_hours × points_per_hour × weight_percent, 200)
    subtotal     = attendance_base + hour points
    with bonus   = subtotal + round_half_up(subtotal × cross_group_bonus_percent, 100)
                   (only when the confirmation says the attendees spanned three or more groups)

Hours beyond the rule's maximum per activity are not counted; hours that are not a multiple of
0.5 are counted down to the half-hour below. The daily cap is applied over all attendance of
one volunteer on one activity date (see ``allocate_daily_cap``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from events.messages import Message

DEFAULT_RULE = {
    "version": 1,
    "effective_from": date(2000, 1, 1),
    "attendance_base": 5,
    "points_per_hour": 10,
    "max_half_hours": 16,
    "cross_group_bonus_percent": 20,
    "no_show_penalty": 5,
    "daily_cap": 100,
    "note": "默认规则",
}


def round_half_up(numerator: int, denominator: int) -> int:
    """Divide non-negative integers, rounding halves up."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("round_half_up takes a non-negative numerator and positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def half_hours(hours: Decimal | str | None) -> int:
    """Count hours in whole half-hours (rounded down; never negative)."""
    if hours is None:
        return 0
    halves = (Decimal(str(hours)) * 2).to_integral_value(rounding=ROUND_FLOOR)
    return max(0, int(halves))


def weight_percent(weight: Decimal | str | None) -> int:
    """A shift weight in percent (None means 100)."""
    if weight is None:
        return 100
    return max(0, int((Decimal(str(weight)) * 100).to_integral_value(rounding=ROUND_FLOOR)))


def format_hours(halves: int) -> str:
    """Half-hours as people write hours: 7 → "3.5", 8 → "4"."""
    return f"{halves // 2}.5" if halves % 2 else str(halves // 2)


def format_signed_hours(halves: int) -> str:
    """Half-hours with a minus sign when negative (a reversal takes hours back)."""
    return format_hours(halves) if halves >= 0 else "-" + format_hours(-halves)


def format_weight(percent: int) -> str:
    """A weight in percent as a multiplier: 150 → "1.5"."""
    text = f"{percent // 100}.{percent % 100:02d}".rstrip("0").rstrip(".")
    return text


def format_points(points: int) -> str:
    """Points with their sign: 5 → "+5", -5 → "−5"."""
    return f"+{points}" if points >= 0 else f"−{-points}"


@dataclass(frozen=True)
class AttendancePoints:
    """What one confirmed attendance earns before the daily cap, and how it was computed."""

    half_hours: int
    hour_points: int
    subtotal: int
    points: int
    formula: str  # e.g. "3.5小时 × 10 + 5"


def attendance_points(
    rule, halves: int, weight: int = 100, cross_group: bool = False
) -> AttendancePoints:
    """Apply the rule to one confirmed attendance (half-hours, weight in percent, bonus flag)."""
    counted = min(max(0, halves), rule.max_half_hours)
    hour_points = round_half_up(counted * rule.points_per_hour * weight, 200)
    subtotal = rule.attendance_base + hour_points
    points = subtotal
    formula = Message(
        FORMULA,
        {
            "hours": format_hours(counted),
            "per_hour": rule.points_per_hour,
            "weight": f" × {format_weight(weight)}" if weight != 100 else "",
            "base": rule.attendance_base,
        },
    )
    if cross_group and rule.cross_group_bonus_percent:
        points = subtotal + round_half_up(subtotal * rule.cross_group_bonus_percent, 100)
        percent = 100 + rule.cross_group_bonus_percent
        formula = Message(CROSS_GROUP, {"formula": formula, "percent": percent})
    return AttendancePoints(counted, hour_points, subtotal, points, formula)


def allocate_daily_cap(computed: list[int], cap: int) -> list[int]:
    """Share a day's cap among attendances in the given order; the total is min(cap, sum)."""
    remaining, allocated = cap, []
    for points in computed:
        share = min(points, max(0, remaining))
        allocated.append(share)
        remaining -= share
    return allocated


# The explanations of ledger rows, as message keys (the stored text is the Chinese filled in;
# the key and values are stored beside it, outside the hash chain, for other languages).
FORMULA = "{hours}小时 × {per_hour}{weight} + {base}"  # weight: "" or " × 1.5"
CROSS_GROUP = "({formula}) × {percent}%（三交加分）"
AWARD = "{formula} = {points}分"
AWARD_CAPPED = "{formula} = {points}分，当日上限{cap}分，计{allocated}分"
REVERSAL = "{reason} {points}分"
NO_SHOW = "报名后缺席 {points}分"
ADJUSTMENT = "人工调整 {points}分：{reason}"


def award_explanation(formula: str, computed: int, allocated: int, cap: int) -> Message:
    """The stored explanation of an award row, e.g. "3.5小时 × 10 + 5 = 40分"."""
    if allocated != computed:
        values = {"formula": formula, "points": computed, "cap": cap, "allocated": allocated}
        return Message(AWARD_CAPPED, values)
    return Message(AWARD, {"formula": formula, "points": computed})


def stars(hours_halves: int, thresholds: tuple[int, ...]) -> int:
    """Volunteer stars (0–5) by cumulative confirmed hours and the star thresholds in hours."""
    return sum(1 for hours in thresholds if hours_halves >= hours * 2)


def date_label(day: date) -> str:
    """A date as people write it on the page: 3月8日."""
    return f"{day.month}月{day.day}日"
