"""The report: what a unit and the units under it did in a period, in total and broken down one
way (each unit one level down, each month, each category or each dimension).

Every figure is summed at query time from the facts (models.py), so it follows corrections,
cancellations and the tree as it is now. The 三交 index (交往交流交融) is the share of the
activities held whose consenting attendees came from three or more ethnic groups, among those
where at least five consenting attendees were there (the only ones the volunteers service gives a
number of groups for). A count that involves ethnicity is never shown under five: the number of
activities with three or more groups, and the number with fewer, must each be 0 or at least 5,
or neither they nor the share are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, distinct, func, literal, select
from sqlalchemy.orm import Session

from events.vocabulary import CATEGORIES, DIMENSIONS
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


def _key(by: str | None, path_column, month_column, children: list[UnitView], own: str):
    """The expression a row is grouped by."""
    if by == "unit":
        return (
            case(
                *[
                    (_in_tree(path_column, child.path), literal(child.unit_id))
                    for child in children
                ],
                else_=literal(own),
            )
            if children
            else literal(own)
        )
    if by == "month":
        return month_column
    if by == "category":
        return ActivityFact.category
    if by == "dimension":
        return ActivityDimension.dimension
    return literal("total")


def _scoped(query, scope: Scope, by, key):
    """The activities of the scope (its subtree, its days), grouped by ``key`` (through their
    dimensions when broken down by dimension)."""
    query = (
        query.where(_in_tree(ActivityFact.host_path, scope.unit.path))
        .where(ActivityFact.day.between(scope.start, scope.end))
        .group_by(key)
    )
    if by == "dimension":
        query = query.join(
            ActivityDimension, ActivityDimension.activity_id == ActivityFact.activity_id
        )
    return query


def _activities(session: Session, scope: Scope, by, children) -> dict:
    key = _key(by, ActivityFact.host_path, ActivityFact.month, children, scope.unit.unit_id)
    groups = ActivityGroups.distinct_groups
    held = ActivityFact.held.is_(True)
    query = (
        select(
            key.label("key"),
            func.sum(case((held, 1), else_=0)),
            func.sum(case((held, func.coalesce(ActivityFact.audience, 0)), else_=0)),
            func.sum(case((and_(held, groups.is_not(None)), 1), else_=0)),
            func.sum(case((and_(held, groups >= CROSS_GROUPS), 1), else_=0)),
        )
        .select_from(ActivityFact)
        .outerjoin(ActivityGroups, ActivityGroups.activity_id == ActivityFact.activity_id)
    )
    query = _scoped(query, scope, by, key)
    return {
        row[0]: {
            "activities_held": int(row[1] or 0),
            "audience": int(row[2] or 0),
            "known": int(row[3] or 0),
            "cross": int(row[4] or 0),
        }
        for row in session.execute(query)
    }


def _attendance(session: Session, scope: Scope, by, children) -> dict:
    key = _key(by, ActivityFact.host_path, ActivityFact.month, children, scope.unit.unit_id)
    confirmed = AttendanceFact.status == "confirmed"
    query = (
        select(
            key.label("key"),
            func.sum(case((confirmed, 1), else_=0)),
            func.count(distinct(case((confirmed, AttendanceFact.volunteer_id)))),
            func.sum(AttendanceFact.hours_halves),
            func.sum(case((confirmed, 0), else_=1)),
        )
        .select_from(AttendanceFact)
        .join(ActivityFact, ActivityFact.activity_id == AttendanceFact.activity_id)
        .where(ActivityFact.held.is_(True))
    )
    query = _scoped(query, scope, by, key)
    return {
        row[0]: {
            "attendances": int(row[1] or 0),
            "volunteers": int(row[2] or 0),
            "hours": int(row[3] or 0) / 2,
            "no_shows": int(row[4] or 0),
        }
        for row in session.execute(query)
    }


def _people(session: Session, scope: Scope, by, children, model, unit_column, day_column, name):
    """New volunteers (by home unit) or stars awarded (by the cycle's unit): by unit or month."""
    if by in ("category", "dimension"):
        return {}
    key = _key(by, UnitView.path, model.month, children, scope.unit.unit_id)
    query = (
        select(key.label("key"), func.count())
        .select_from(model)
        .join(UnitView, UnitView.unit_id == unit_column)
        .where(_in_tree(UnitView.path, scope.unit.path), day_column.between(scope.start, scope.end))
        .group_by(key)
    )
    if model is AwardFact:
        query = query.where(AwardFact.revoked.is_(False))
    return {row[0]: {name: int(row[1])} for row in session.execute(query)}


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
    """The totals of the scope and, when ``by`` is given, the same figures for each part."""
    totals = _figures(session, scope, None, [])
    answer = {"totals": totals.get("total", _shown(dict(ZEROS)))}
    if by:
        children = children_of(session, scope.unit) if by == "unit" else []
        rows = _figures(session, scope, by, children)
        labels = _labels(session, scope, by, children)
        keys = list(labels) if by in ("unit", "dimension") else sorted(rows)
        if by == "unit":
            keys = [c.unit_id for c in children] + (
                [scope.unit.unit_id] if scope.unit.unit_id in rows else []
            )
        answer["rows"] = [
            {"key": key, "label": labels.get(key, key), **rows.get(key, _shown(dict(ZEROS)))}
            for key in keys
        ]
    return answer


def _figures(session: Session, scope: Scope, by, children) -> dict:
    merged = _merge(
        _activities(session, scope, by, children),
        _attendance(session, scope, by, children),
        _people(
            session,
            scope,
            by,
            children,
            VolunteerFact,
            VolunteerFact.home_unit_id,
            VolunteerFact.registered_on,
            "new_volunteers",
        ),
        _people(
            session,
            scope,
            by,
            children,
            AwardFact,
            AwardFact.unit_id,
            AwardFact.awarded_on,
            "stars_awarded",
        ),
    )
    return {key: _shown(figures) for key, figures in merged.items()}


def ledger(session: Session, scope: Scope) -> list[dict]:
    """The activities held in the scope, one line each (the 台账 an inspection asks for)."""
    confirmed = AttendanceFact.status == "confirmed"
    attendance = (
        select(
            AttendanceFact.activity_id,
            func.sum(case((confirmed, 1), else_=0)).label("attendances"),
            func.sum(AttendanceFact.hours_halves).label("halves"),
        )
        .group_by(AttendanceFact.activity_id)
        .subquery()
    )
    rows = session.execute(
        select(
            ActivityFact,
            UnitView.name,
            attendance.c.attendances,
            attendance.c.halves,
            ActivityGroups.distinct_groups,
        )
        .outerjoin(UnitView, UnitView.unit_id == ActivityFact.host_unit_id)
        .outerjoin(attendance, attendance.c.activity_id == ActivityFact.activity_id)
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
            "attendances": int(attendances or 0),
            "hours": int(halves or 0) / 2,
            "audience": fact.audience,
            "distinct_groups": groups,  # null under five consenting attendees (k ≥ 5)
        }
        for fact, host, attendances, halves, groups in rows
    ]
