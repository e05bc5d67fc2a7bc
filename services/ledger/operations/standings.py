"""Reading the ledger: a volunteer's rows and the standings."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import (
    func,
    literal,
    select,
    text,
)
from sqlalchemy.orm import Session

from services.common.errors import NotFound
from services.ledger import rules as r
from services.ledger.models import (
    ActivityView,
    LedgerEntry,
    PointsTotal,
    UnitView,
    VolunteerView,
)
from services.ledger.operations._common import star_thresholds
from services.ledger.operations.adjustments import volunteer_place
from services.ledger.operations.totals import periods_between

# ---- reading -----------------------------------------------------------------------------


def shown_explanation(entry: LedgerEntry, title: str | None) -> str:
    """A row's explanation as people read it: "3月8日 邻里节 3.5小时 × 10 + 5 = 40分"."""
    parts = [r.date_label(entry.entry_date)]
    if entry.activity_id:
        parts.append(title or "活动")
    parts.append(entry.explanation)
    return " ".join(parts)


def volunteer_ledger(
    session: Session,
    volunteer_id: str,
    page: int,
    per_page: int,
    star_hours: tuple[int, ...] | None = None,
) -> dict:
    """A volunteer's balance, confirmed hours, stars (at ``star_hours``, the settings'
    ``star_hours`` of the service; read from the environment if not given) and one page of
    their rows, newest first."""
    balance, halves, total = session.execute(
        select(
            func.coalesce(func.sum(LedgerEntry.points), 0),
            func.coalesce(func.sum(LedgerEntry.hours_halves), 0),
            func.count(),
        ).where(LedgerEntry.volunteer_id == volunteer_id)
    ).one()
    rows = session.execute(
        select(LedgerEntry, ActivityView.title)
        .join(ActivityView, ActivityView.activity_id == LedgerEntry.activity_id, isouter=True)
        .where(LedgerEntry.volunteer_id == volunteer_id)
        .order_by(LedgerEntry.seq.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    place = volunteer_place(session, volunteer_id)
    return {
        "volunteer_id": volunteer_id,
        "name": place[0].display_name if place else None,
        "balance": int(balance),
        "hours": r.format_hours(int(halves)),
        "stars": r.stars(int(halves), star_hours or star_thresholds()),
        "entries": {
            "items": [
                {
                    "entry_id": e.entry_id,
                    "seq": e.seq,
                    "kind": e.kind,
                    "reason_code": e.reason_code,
                    "points": e.points,
                    "hours": r.format_signed_hours(e.hours_halves),
                    "date": e.entry_date,
                    "activity_id": e.activity_id,
                    "activity_title": title,
                    "explanation": shown_explanation(e, title),
                    "explanation_message": (
                        json.loads(e.explanation_message) if e.explanation_message else None
                    ),
                    "rule_version": e.rule_version,
                    "source_event_id": e.source_event_id,
                    "reverses_entry_id": e.reverses_entry_id,
                    "occurred_at": e.occurred_at,
                }
                for e, title in rows
            ],
            "total": int(total),
            "page": page,
            "per_page": per_page,
        },
    }


def _sums(session: Session, path: str | None, team_id: str | None, start: date, end: date):
    """Each volunteer's points over the range within a unit subtree and/or a team (a CTE of
    ``volunteer_id`` and ``points``), or None when the unit holds nobody."""
    totals = PointsTotal.__table__
    scope = []
    if path is not None:
        units = session.scalars(
            select(UnitView.unit_id).where(UnitView.path.startswith(path, autoescape=True))
        ).all()
        if not units:
            return None
        scope.append(totals.c.home_unit_id.in_(units))
    if team_id is not None:
        scope.append(totals.c.team_id == team_id)
    if path is None and team_id is None:
        scope.append(totals.c.home_unit_id.is_not(None))  # volunteers the ledger knows
    signed = periods_between(start, end)
    added = [period for sign, period in signed if sign > 0]
    taken = [period for sign, period in signed if sign < 0]

    def summed(periods: list[int], name: str):
        """Each volunteer's points and rows over the periods (one period: no sums needed)."""
        where = [
            totals.c.period.in_(periods) if len(periods) > 1 else totals.c.period == periods[0]
        ]
        columns = (totals.c.volunteer_id, totals.c.points, totals.c.entries)
        if len(periods) == 1:
            return select(*columns).where(*where, *scope).subquery(name)
        return (
            select(
                totals.c.volunteer_id,
                func.sum(totals.c.points).label("points"),
                func.sum(totals.c.entries).label("entries"),
            )
            .where(*where, *scope)
            .group_by(totals.c.volunteer_id)
            .subquery(name)
        )

    plus = summed(added, "plus")
    if taken:  # a year or month less a few months or days: the fewer rows to sum
        minus = summed(taken, "minus")
        sums = (
            select(
                plus.c.volunteer_id,
                (plus.c.points - func.coalesce(minus.c.points, 0)).label("points"),
            )
            .join(minus, minus.c.volunteer_id == plus.c.volunteer_id, isouter=True)
            .where(plus.c.entries - func.coalesce(minus.c.entries, 0) > 0)  # rows left in range
            .cte("sums")
        )
    else:
        sums = select(plus.c.volunteer_id, plus.c.points).cte("sums")
    return sums


def standings(
    session: Session,
    *,
    path: str | None,
    team_id: str | None,
    start: date,
    end: date,
    page: int,
    per_page: int,
) -> tuple[list[dict], int]:
    """Balances per volunteer for a date range within a unit subtree and/or a team, ranked
    (ties share a rank, the next rank skips: 1, 2, 2, 4).

    Summed from the totals of a few whole years, months and days (``periods_between``: some
    added, some taken away again), never from the ledger rows. One statement gives the page, the number of volunteers ranked and,
    after the first page, how many of them are above it; the ranks follow from those.
    """
    sums = _sums(session, path, team_id, start, end)
    if sums is None:
        return [], 0
    offset = (page - 1) * per_page
    shown = (
        select(sums.c.volunteer_id, sums.c.points)
        .order_by(sums.c.points.desc(), sums.c.volunteer_id)
        .offset(offset)
        .limit(per_page)
        .cte("shown")
    )
    above = literal(0)  # nobody is above the first row of the first page
    if page > 1:
        above = (
            select(func.count())
            .select_from(sums)
            .where(sums.c.points > select(func.max(shown.c.points)).scalar_subquery())
            .scalar_subquery()
        )
    if session.get_bind().dialect.name == "postgresql":
        # The volunteers' sums of a district are a few megabytes: sort them in memory.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
    rows = session.execute(
        select(
            shown.c.volunteer_id,
            VolunteerView.display_name,
            shown.c.points,
            select(func.count()).select_from(sums).scalar_subquery().label("total"),
            above.label("above"),
        )
        .join(VolunteerView, VolunteerView.volunteer_id == shown.c.volunteer_id, isouter=True)
        .order_by(shown.c.points.desc(), shown.c.volunteer_id)
    ).all()
    if rows:
        total = rows[0].total
    elif page > 1:
        total = session.scalar(select(func.count()).select_from(sums))
    else:
        total = 0
    items = []
    for number, row in enumerate(rows):
        if number == 0:
            rank = int(row.above) + 1
        elif row.points != rows[number - 1].points:
            rank = offset + number + 1  # everyone before this row has more points
        items.append(
            {
                "volunteer_id": row.volunteer_id,
                "name": row.display_name,
                "points": int(row.points),
                "rank": rank,
            }
        )
    return items, int(total)


def standing_of(
    session: Session, volunteer_id: str, *, path: str, start: date, end: date
) -> dict | None:
    """One volunteer's points and rank (ties share a rank) among the volunteers of a unit
    subtree over a range, or None when they have no rows in it."""
    sums = _sums(session, path, None, start, end)
    if sums is None:
        return None
    points = session.scalar(select(sums.c.points).where(sums.c.volunteer_id == volunteer_id))
    if points is None:
        return None
    above = session.scalar(select(func.count()).select_from(sums).where(sums.c.points > points))
    return {"rank": int(above) + 1, "points": int(points)}


def community_standings(
    session: Session, volunteer_id: str, *, start: date, end: date, page: int, per_page: int
) -> dict:
    """A volunteer's own rank and one page of the standings of their home unit, by the names
    the honor roll shows (no ids, no phone numbers)."""
    place = volunteer_place(session, volunteer_id)
    if place is None or not place[1]:
        raise NotFound("账本里没有你的志愿者记录，没有所在社区的排名", code="not-a-volunteer")
    view, path = place
    unit = session.get(UnitView, view.home_unit_id)
    items, total = standings(
        session, path=path, team_id=None, start=start, end=end, page=page, per_page=per_page
    )
    return {
        "unit_id": unit.unit_id,
        "unit_name": unit.name,
        "mine": standing_of(session, volunteer_id, path=path, start=start, end=end),
        "items": [
            {
                "rank": i["rank"],
                "name": i["name"],
                "points": i["points"],
                "me": i["volunteer_id"] == volunteer_id,
            }
            for i in items
        ],
        "total": total,
        "page": page,
        "per_page": per_page,
    }
