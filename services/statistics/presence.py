"""Distinct volunteers (参与志愿者数), kept so that a report need not read a period's attendance.

Every other figure of a report adds up over activities; the number of distinct volunteers does
not (one person at ten activities is one volunteer). Counting them from the attendance facts reads
every attendance of the period: about 300,000 for a district's year. So the ``presence`` table
(models.Presence) keeps, per volunteer, unit and year, the months, categories and dimensions in
which the volunteer's confirmed attendance at a held activity falls under that unit. A report for
whole months of one year then counts one row per volunteer of the unit; by category or dimension
it does so for a whole year. Any other period is counted from the attendance facts
(reports.py), and both ways give the same numbers (tests/test_statistics_presence.py).

Bits are only ever added by ``add``, which any confirmed attendance at a held activity justifies,
so applying it twice, or for more attendances than changed, is harmless. Whatever takes a
contribution away (a confirmed attendance marked absent, an activity no longer held, moved in time
or the tree, of another category) rebuilds the volunteers concerned with ``rebuild``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from events.vocabulary import CATEGORIES, DIMENSIONS
from services.common.db import upsert_many
from services.statistics.models import ActivityFact, AttendanceFact, Presence

# Bits in the order of events/vocabulary.py, which may only grow at its end. The activities
# service accepts no other category or dimension; one outside them would have no bit and be
# missing from its row's volunteers on the fast way only.
CATEGORY_BITS = {name: 1 << n for n, name in enumerate(CATEGORIES)}
DIMENSION_BITS = {name: 1 << n for n, name in enumerate(DIMENSIONS)}
WHOLE_YEAR = (1 << 12) - 1
_KEY = ["path", "year", "own", "volunteer_id"]
_BITS = ("months", "categories", "dimensions")


def places(host_path: str) -> list[tuple[str, bool]]:
    """The units an activity of ``host_path`` counts under: each up the tree, and its host as
    ``own``. ``/nb/bl/xq/`` gives ``/nb/``, ``/nb/bl/``, ``/nb/bl/xq/`` and ``/nb/bl/xq/`` own."""
    parts = host_path.strip("/").split("/")
    tree = ["/" + "/".join(parts[: n + 1]) + "/" for n in range(len(parts))]
    return [(path, False) for path in tree] + [(host_path, True)]


def rows(attended: Iterable) -> list[dict]:
    """Presence rows for (volunteer, host path, day, category, dimensions) attendances."""
    kept: dict[tuple, list[int]] = {}
    for volunteer_id, host_path, day, category, dimensions in attended:
        bits = (
            1 << (day.month - 1),
            CATEGORY_BITS.get(category, 0),
            sum(DIMENSION_BITS.get(d, 0) for d in set(dimensions.split(","))),
        )
        for path, own in places(host_path):
            found = kept.setdefault((path, day.year, own, volunteer_id), [0, 0, 0])
            for n, bit in enumerate(bits):
                found[n] |= bit
    return [
        dict(zip(_KEY, key, strict=True)) | dict(zip(_BITS, bits, strict=True))
        for key, bits in kept.items()
    ]


def batches(attended: Iterable, size: int = 20_000):
    """Presence rows of attendances ordered by volunteer, a batch at a time: no volunteer's rows
    are split between two batches, so each batch holds whole rows."""
    batch, last = [], None
    for row in attended:
        if len(batch) >= size and row[0] != last:
            yield rows(batch)
            batch = []
        batch.append(row)
        last = row[0]
    if batch:
        yield rows(batch)


def _attendances(*where):
    """Confirmed attendances at held activities: (volunteer, host path, day, category,
    dimensions)."""
    return (
        select(
            AttendanceFact.volunteer_id,
            ActivityFact.host_path,
            ActivityFact.day,
            ActivityFact.category,
            ActivityFact.dimensions,
        )
        .join(ActivityFact, ActivityFact.activity_id == AttendanceFact.activity_id)
        .where(AttendanceFact.status == "confirmed", ActivityFact.held.is_(True), *where)
    )


def _attended(session: Session, *where) -> list:
    return session.execute(_attendances(*where)).all()


def _write(session: Session, rows: list[dict]) -> None:
    upsert_many(session, Presence.__table__, rows, key=_KEY, combine={b: "|" for b in _BITS})


def add(session: Session, activity_ids: Iterable[str]) -> None:
    """What the confirmed attendances at these activities (when held) contribute."""
    for chunk in _chunks(activity_ids):
        _write(session, rows(_attended(session, AttendanceFact.activity_id.in_(chunk))))


def rebuild(session: Session, volunteer_ids: Iterable[str]) -> None:
    """The volunteers' presence anew from their attendance, after something was taken away."""
    for chunk in _chunks(volunteer_ids):
        session.execute(delete(Presence).where(Presence.volunteer_id.in_(chunk)))
        _write(session, rows(_attended(session, AttendanceFact.volunteer_id.in_(chunk))))


def rebuild_all(session: Session) -> None:
    """Everyone's presence anew from all the attendance facts (what a database had before the
    table, or facts planted in bulk), reading them in volunteer order a batch at a time."""
    session.execute(delete(Presence))
    ordered = _attendances().order_by(AttendanceFact.volunteer_id)
    stream = session.execute(ordered, execution_options={"yield_per": 10_000})
    for batch in batches(stream):
        session.execute(insert(Presence), batch)


def attendees(session: Session, activity_ids: Iterable[str]) -> set[str]:
    """The volunteers with a confirmed attendance at these activities."""
    found: set[str] = set()
    for chunk in _chunks(activity_ids):
        found.update(
            session.scalars(
                select(AttendanceFact.volunteer_id).where(
                    AttendanceFact.activity_id.in_(chunk), AttendanceFact.status == "confirmed"
                )
            )
        )
    return found


def _chunks(values: Iterable[str], size: int = 500):
    values = sorted(set(values))
    for start in range(0, len(values), size):
        yield values[start : start + size]


# ---- counting ---------------------------------------------------------------------------------


def months_of(start: date, end: date) -> int | None:
    """The months from ``start`` to ``end`` as bits of their year, when the period is whole
    months of one year; else None."""
    whole = start.day == 1 and (end + timedelta(days=1)).day == 1
    if not whole or start.year != end.year:
        return None
    return sum(1 << (month - 1) for month in range(start.month, end.month + 1))


def _has(column, bits: int):
    return column.op("&")(bits) != 0


def _sums(session: Session, column, bits: dict[str, int], where) -> dict[str, int]:
    """How many rows have each bit: the rows counted by their value of ``column`` (a few hundred
    values at most), the bits then read from those values."""
    values = session.execute(select(column, func.count()).where(*where).group_by(column)).all()
    counted = {key: sum(n for value, n in values if value & bit) for key, bit in bits.items()}
    return {key: n for key, n in counted.items() if n}


def count(session: Session, scope, by: str | None, children: list) -> dict[str, int] | None:
    """Distinct volunteers of the scope, in total or by ``by`` (keyed as reports.py keys its
    rows), or None when the period is not one this table answers for."""
    months = months_of(scope.start, scope.end)
    if months is None or (by in ("category", "dimension") and months != WHOLE_YEAR):
        return None
    year = scope.start.year
    took_part = [Presence.year == year, _has(Presence.months, months)]
    if by == "unit":  # two queries: one with an OR would read the table, not the index
        units = {child.path: child.unit_id for child in children}
        under = session.execute(
            select(Presence.path, func.count())
            .where(Presence.path.in_(list(units)), Presence.own.is_(False), *took_part)
            .group_by(Presence.path)
        )
        own = [Presence.path == scope.unit.path, Presence.own.is_(True), *took_part]
        counted = {units[path]: n for path, n in under}
        counted[scope.unit.unit_id] = session.scalar(
            select(func.count()).select_from(Presence).where(*own)
        )
        return {key: n for key, n in counted.items() if n}
    mine = [Presence.path == scope.unit.path, Presence.own.is_(False), *took_part]
    if by == "month":
        bits = {f"{year}-{m + 1:02d}": 1 << m for m in range(12) if months >> m & 1}
        return _sums(session, Presence.months, bits, mine)
    if by == "category":
        return _sums(session, Presence.categories, CATEGORY_BITS, mine)
    if by == "dimension":
        return _sums(session, Presence.dimensions, DIMENSION_BITS, mine)
    return {"total": session.scalar(select(func.count()).select_from(Presence).where(*mine))}
