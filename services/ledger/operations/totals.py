"""The standings totals by period, added to in the transaction that appends the rows."""

from __future__ import annotations

import calendar
import functools
from datetime import date, timedelta

from sqlalchemy import (
    BigInteger,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from services.ledger.chain import totals_of_rows
from services.ledger.models import (
    LedgerEntry,
    PointsTotal,
    VolunteerView,
)
from services.ledger.operations._common import _locked_head

# ---- standings totals --------------------------------------------------------------------


def periods_of(day: date) -> tuple[int, int, int]:
    """The totals' periods a day falls in: its year, its month and itself (2026, 202603, 20260308)."""
    month = day.year * 100 + day.month
    return day.year, month, month * 100 + day.day


# What reading one period's totals costs, roughly: a month's totals are never more than its
# days' together, and a year's never more than its months'.
_PERIOD_COST = {4: 40, 6: 20, 8: 1}  # by the number of digits: year, month, day


def _cost(signed: list[tuple[int, int]]) -> int:
    return sum(_PERIOD_COST[len(str(period))] for _, period in signed)


def _negated(signed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(-sign, period) for sign, period in signed]


def _month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def _days(first: date, last: date) -> list[tuple[int, int]]:
    count = (last - first).days + 1
    return [(1, periods_of(first + timedelta(days=n))[2]) for n in range(max(0, count))]


def _parts_or_whole_less(
    first: date, last: date, whole: int, whole_start: date, whole_end: date, parts
) -> list[tuple[int, int]]:
    """``first``..``last`` within the period ``whole`` (``whole_start``..``whole_end``): as its
    ``parts`` (``parts(first, last)``: days, or months), or as the whole period less the parts
    outside it, whichever is cheaper to read."""
    if first == whole_start and last == whole_end:
        return [(1, whole)]
    less = [(1, whole)]
    if first > whole_start:
        less += _negated(parts(whole_start, first - timedelta(days=1)))
    if last < whole_end:
        less += _negated(parts(last + timedelta(days=1), whole_end))
    return min(parts(first, last), less, key=_cost)


def _within_month(first: date, last: date) -> list[tuple[int, int]]:
    """Days of one month: the days themselves, or the month less the other days."""
    month = periods_of(first)[1]
    return _parts_or_whole_less(first, last, month, first.replace(day=1), _month_end(first), _days)


def _months(first: date, last: date) -> list[tuple[int, int]]:
    """Days of one year, month by month."""
    signed: list[tuple[int, int]] = []
    day = first
    while day <= last:
        month_last = min(_month_end(day), last)
        signed += _within_month(day, month_last)
        if month_last == date.max:
            break
        day = month_last + timedelta(days=1)
    return signed


def _within_year(first: date, last: date) -> list[tuple[int, int]]:
    """Days of one year: its months and days, or the year less the other months and days."""
    year_start, year_end = date(first.year, 1, 1), date(first.year, 12, 31)
    return _parts_or_whole_less(first, last, first.year, year_start, year_end, _months)


def periods_between(start: date, end: date) -> list[tuple[int, int]]:
    """Signed periods whose totals make up ``start``..``end`` exactly, as cheaply as they can:
    (1, period) adds a period's totals, (-1, period) takes them away again (the 1st to the 28th
    of March is March less its last three days; January to mid-November is the year less the
    rest of November and December)."""
    signed: list[tuple[int, int]] = []
    for year in range(start.year, end.year + 1):
        signed += _within_year(max(start, date(year, 1, 1)), min(end, date(year, 12, 31)))
    return signed


def add_to_totals(session: Session, first_seq: int, last_seq: int) -> None:
    """Add the ledger rows numbered ``first_seq``..``last_seq`` to the totals of their days,
    months and years, in one statement. Call it with the chain locked, as ``_Writer.flush``
    does: the volunteers' home units are read here, and ``follow_volunteer`` moves them under
    that lock."""
    session.execute(
        _totals_upsert(session.get_bind().dialect.name),
        {"first_seq": first_seq, "last_seq": last_seq},
    )


@functools.cache
def _totals_upsert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    seq = LedgerEntry.__table__.c.seq
    sums = totals_of_rows(
        seq >= bindparam("first_seq", type_=BigInteger),
        seq <= bindparam("last_seq", type_=BigInteger),
    ).subquery("sums")
    found = (
        select(
            sums.c.period,
            sums.c.volunteer_id,
            sums.c.points,
            sums.c.entries,
            VolunteerView.home_unit_id,
            VolunteerView.team_id,
        )
        .select_from(sums)
        .join(VolunteerView, VolunteerView.volunteer_id == sums.c.volunteer_id, isouter=True)
        .where(sums.c.entries > 0)  # SQLite needs a WHERE between a join and ON CONFLICT
    )
    totals = PointsTotal.__table__
    statement = dialect_insert(totals).from_select(
        ["period", "volunteer_id", "points", "entries", "home_unit_id", "team_id"], found
    )
    return statement.on_conflict_do_update(
        index_elements=[totals.c.volunteer_id, totals.c.period],
        set_={
            "points": totals.c.points + statement.excluded.points,
            "entries": totals.c.entries + statement.excluded.entries,
        },
    )


def follow_volunteer(session: Session, volunteer_id: str, home_unit_id: str, team_id) -> None:
    """Move a volunteer's totals to their home unit and team as the ledger now knows them.

    The chain is locked first, as by every transaction that adds to the totals, so totals being
    added at the same time by another consumer are either seen here or see the new home.
    """
    _locked_head(session)
    totals = PointsTotal.__table__
    session.execute(
        update(totals)
        .where(
            totals.c.volunteer_id == volunteer_id,
            or_(
                totals.c.home_unit_id.is_distinct_from(home_unit_id),
                totals.c.team_id.is_distinct_from(team_id),
            ),
        )
        .values(home_unit_id=home_unit_id, team_id=team_id)
    )
