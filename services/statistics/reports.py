"""The report: what a unit and the units under it did in a period, in total and broken down one
way (each unit one level down, each month, each category or each dimension).

Every figure is summed at query time from the facts (models.py), so it follows corrections,
cancellations and the tree as it is now: those that add up over activities from one row per
activity (the consumer counts its attendance on it), distinct volunteers as presence.py says.

The 三交 index (交往交流交融) is the share of the activities held whose consenting attendees came
from three or more ethnic groups, among those where at least five consenting attendees were there
(the only ones the volunteers service gives a number of groups for). A count that involves ethnicity is never shown under five: the number of
activities with three or more groups, and the number with fewer, must each be 0 or at least 5,
or neither they nor the share are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from events.vocabulary import CATEGORIES, DIMENSIONS
from services.statistics import presence
from services.statistics.models import (
    ActivityDimension,
    ActivityFact,
    ActivityGroups,
    AttendanceFact,
    AwardFact,
    UnitView,
    VolunteerFact,
)

BREAKDOWNS = ("unit", "month", "category", "dimension")
K = 5  # no count that involves ethnicity is shown under this
CROSS_GROUPS = 3  # an activity brings groups together when 3 or more are among its attendees
ZEROS = {
    "activities_held": 0,
    "attendances": 0,
    "volunteers": 0,
    "hours": 0.0,
    "audience": 0,
    "no_shows": 0,
    "new_volunteers": 0,
    "stars_awarded": 0,
    "known": 0,
    "cross": 0,
}


@dataclass(frozen=True)
class Scope:
    """What a report covers: a unit's subtree and the days from ``start`` to ``end``."""

    unit: UnitView
    start: date
    end: date


def _in_tree(column, path: str):
    return column.startswith(path, autoescape=True)


def _key(by: str | None, scope: Scope, children: list[UnitView]):
    """The report's key of an activity's row, in SQL (to count distinct volunteers by it)."""
    if by == "unit":
        units = [(_in_tree(ActivityFact.host_path, c.path), literal(c.unit_id)) for c in children]
        return (
            case(*units, else_=literal(scope.unit.unit_id))
            if units
            else literal(scope.unit.unit_id)
        )
    if by == "dimension":
        return ActivityDimension.dimension
    return _fine(by, ActivityFact.host_path, ActivityFact.month)


def _scoped(query, scope: Scope, by):
    """The activities of the scope (its subtree, its days), through their dimensions when broken
    down by dimension."""
    query = query.where(_in_tree(ActivityFact.host_path, scope.unit.path)).where(
        ActivityFact.day.between(scope.start, scope.end)
    )
    if by == "dimension":
        query = query.join(
            ActivityDimension, ActivityDimension.activity_id == ActivityFact.activity_id
        )
    return query


def _fine(by: str | None, path_column, month_column):
    """What a query groups by: the host's (or home unit's) path by unit and the set of
    dimensions by dimension, each a few hundred values at most, which ``_fold`` then adds up
    into the report's keys in Python (cheaper than deciding each row's unit or dimension in SQL);
    the month or the category as they are."""
    return {
        "unit": path_column,
        "month": month_column,
        "category": ActivityFact.category,
        "dimension": ActivityFact.dimensions,
    }.get(by, literal("total"))


def _fold(rows, by: str | None, scope: Scope, children) -> dict:
    """Rows of (fine key, figures) added up into the report's keys: a path into the unit one
    level down that holds it (or the unit itself, 本级), a set of dimensions into each of its
    dimensions."""
    units = {child.path: child.unit_id for child in children}
    own = len(scope.unit.path)
    folded: dict = {}
    for fine, figures in rows:
        if by == "unit":
            below = fine[own:].split("/", 1)[0]
            keys = [units.get(f"{scope.unit.path}{below}/", scope.unit.unit_id)]
        elif by == "dimension":
            keys = [d for d in dict.fromkeys(fine.split(",")) if d]
        else:
            keys = [fine]
        for key in keys:
            folded[key] = _summed([folded.get(key, {}), figures])
    return folded


def _activities(session: Session, scope: Scope, by, children) -> dict:
    """Every figure that adds up over the activities held (their attendance is counted on each)."""
    fine = _fine(by, ActivityFact.host_path, ActivityFact.month)
    groups = ActivityGroups.distinct_groups
    query = (
        select(
            fine,
            func.count(),
            func.sum(func.coalesce(ActivityFact.audience, 0)),
            func.sum(ActivityFact.attendances),
            func.sum(ActivityFact.hours_halves),
            func.sum(ActivityFact.no_shows),
            func.count(groups),
            func.sum(case((groups >= CROSS_GROUPS, 1), else_=0)),
        )
        .select_from(ActivityFact)
        .outerjoin(ActivityGroups, ActivityGroups.activity_id == ActivityFact.activity_id)
        .where(ActivityFact.held.is_(True))
    )
    rows = [
        (key, dict(zip(_SUMMED, (int(n or 0) for n in sums), strict=True)))
        for key, *sums in session.execute(_scoped(query, scope, None).group_by(fine))
    ]
    folded = _fold(rows, by, scope, children)
    for figures in folded.values():
        figures["hours"] = figures.pop("halves") / 2
    return folded


_SUMMED = ("activities_held", "audience", "attendances", "halves", "no_shows", "known", "cross")


def _volunteers(session: Session, scope: Scope, by, children) -> dict:
    """Distinct volunteers (参与志愿者数): from the presence table for whole months of one year,
    else from the attendance of the period (presence.py says why)."""
    counted = presence.count(session, scope, by, children)
    if counted is None:
        key = _key(by, scope, children)
        pairs = (
            select(key.label("key"), AttendanceFact.volunteer_id)
            .select_from(AttendanceFact)
            .join(ActivityFact, ActivityFact.activity_id == AttendanceFact.activity_id)
            .where(ActivityFact.held.is_(True), AttendanceFact.status == "confirmed")
        )
        pairs = _scoped(pairs, scope, by).distinct().subquery()
        counted = dict(
            session.execute(select(pairs.c.key, func.count()).group_by(pairs.c.key)).all()
        )
    return {key: {"volunteers": int(n)} for key, n in counted.items()}


def _people(session: Session, scope: Scope, by, children, model, unit_column, day_column, name):
    """New volunteers (by home unit) or stars awarded (by the cycle's unit): by unit or month."""
    if by in ("category", "dimension"):
        return {}
    fine = _fine(by, UnitView.path, model.month)
    query = (
        select(fine, func.count())
        .select_from(model)
        .join(UnitView, UnitView.unit_id == unit_column)
        .where(_in_tree(UnitView.path, scope.unit.path), day_column.between(scope.start, scope.end))
        .group_by(fine)
    )
    if model is AwardFact:
        query = query.where(AwardFact.revoked.is_(False))
    rows = [(key, {name: int(n)}) for key, n in session.execute(query)]
    return _fold(rows, by, scope, children)


def _shown(figures: dict) -> dict:
    """The figures as a report shows them: the 三交 counts only where none is under five."""
    known, cross = figures.pop("known"), figures.pop("cross")
    fewer = known - cross
    shown = cross >= K and (fewer == 0 or fewer >= K)
    attended = figures["attendances"] + figures["no_shows"]
    return {
        **figures,
        "no_show_rate": round(figures["no_shows"] / attended, 4) if attended else None,
        "sanjiao": {
            "activities_with_groups_known": known,
            "activities_with_three_or_more_groups": cross if shown else None,
            "share": round(cross / known, 4) if shown else None,
            "shown": shown,
        },
    }


def _merge(*parts: dict) -> dict:
    merged: dict = {}
    for part in parts:
        for key, figures in part.items():
            merged.setdefault(key, dict(ZEROS)).update(figures)
    return merged


def _labels(session: Session, scope: Scope, by: str, children) -> dict[str, str]:
    if by == "unit":
        return {c.unit_id: c.name for c in children} | {
            scope.unit.unit_id: f"{scope.unit.name}（本级）"
        }
    if by == "category":
        return dict(CATEGORIES)
    if by == "dimension":
        return dict(DIMENSIONS)
    return {}


def children_of(session: Session, unit: UnitView) -> list[UnitView]:
    """The units one level down, by name."""
    return list(
        session.scalars(
            select(UnitView).where(UnitView.parent_id == unit.unit_id).order_by(UnitView.name)
        )
    )


def report(session: Session, scope: Scope, by: str | None = None) -> dict:
    """The totals of the scope and, when ``by`` is given, the same figures for each part. Where
    the parts of a breakdown split a figure without overlap, its total is their sum (one query
    less); where they overlap (an activity has several dimensions, a volunteer comes to several
    units' activities), the total is counted on its own."""
    children = children_of(session, scope.unit) if by == "unit" else []
    rows, totals = [], []
    for figures, adds_up in _PARTS:
        found = figures(session, scope, by, children) if by else {}
        rows.append(found)
        if by in adds_up:
            totals.append({"total": _summed(found.values())})
        else:
            totals.append(figures(session, scope, None, []))
    answer = {"totals": _shown(_merge(*totals).get("total", dict(ZEROS)))}
    if by:
        shown = {key: _shown(figures) for key, figures in _merge(*rows).items()}
        labels = _labels(session, scope, by, children)
        keys = list(labels) if by == "dimension" else sorted(shown)
        if by == "unit":
            keys = [c.unit_id for c in children] + (
                [scope.unit.unit_id] if scope.unit.unit_id in shown else []
            )
        answer["rows"] = [
            {"key": key, "label": labels.get(key, key), **shown.get(key, _shown(dict(ZEROS)))}
            for key in keys
        ]
    return answer


def _summed(parts) -> dict:
    summed: dict = {}
    for figures in parts:
        for name, value in figures.items():
            summed[name] = summed.get(name, 0) + value
    return summed


def _new_volunteers(session: Session, scope: Scope, by, children) -> dict:
    column = VolunteerFact.home_unit_id
    day = VolunteerFact.registered_on
    return _people(session, scope, by, children, VolunteerFact, column, day, "new_volunteers")


def _stars(session: Session, scope: Scope, by, children) -> dict:
    column, day = AwardFact.unit_id, AwardFact.awarded_on
    return _people(session, scope, by, children, AwardFact, column, day, "stars_awarded")


# The figures, each with the breakdowns whose parts add up to its total.
_PARTS = (
    (_activities, ("unit", "month", "category")),
    (_volunteers, ()),
    (_new_volunteers, ("unit", "month")),
    (_stars, ("unit", "month")),
)


def ledger(session: Session, scope: Scope) -> list[dict]:
    """The activities held in the scope, one line each (the 台账 an inspection asks for)."""
    rows = session.execute(
        select(ActivityFact, UnitView.name, ActivityGroups.distinct_groups)
        .outerjoin(UnitView, UnitView.unit_id == ActivityFact.host_unit_id)
        .outerjoin(ActivityGroups, ActivityGroups.activity_id == ActivityFact.activity_id)
        .where(_in_tree(ActivityFact.host_path, scope.unit.path), ActivityFact.held.is_(True))
        .where(ActivityFact.day.between(scope.start, scope.end))
        .order_by(ActivityFact.day, ActivityFact.title)
    )
    return [
        {
            "activity_id": fact.activity_id,
            "day": fact.day,
            "title": fact.title,
            "host": host or "",
            "category": fact.category,
            "dimensions": [d for d in fact.dimensions.split(",") if d],
            "attendances": fact.attendances,
            "hours": fact.hours_halves / 2,
            "audience": fact.audience,
            "distinct_groups": groups,  # null under five consenting attendees (k ≥ 5)
        }
        for fact, host, groups in rows
    ]
