"""HTTP handlers of services/statistics: reports for staff in their scope, a public summary."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from events.envelope import utcnow
from events.settings import city_zone
from services.common.api import Blueprint, public, roles
from services.common.app import db
from services.common.auth import STAFF_ROLES, Forbidden, require_principal
from services.common.errors import NotFound
from services.statistics import reports
from services.statistics.models import UnitView
from services.statistics.schemas import (
    LedgerOut,
    ReportArgs,
    ReportOut,
    SummaryArgs,
    SummaryOut,
)

blp = Blueprint("statistics", __name__, url_prefix="/api/v1/stats", description="统计与考核")
REFUSAL = "只能查看你所在单位及下级单位的统计"


def _unit(session, unit_id: str | None, who=None) -> UnitView:
    if unit_id is None and who is not None:
        paths = sorted(who.paths(STAFF_ROLES), key=len)
        found = session.scalar(select(UnitView).where(UnitView.path == paths[0])) if paths else None
    elif unit_id is None:
        found = session.scalar(select(UnitView).where(UnitView.parent_id.is_(None)))
    else:
        found = session.get(UnitView, unit_id)
    if found is None:
        raise NotFound("没有这个单位", code="unknown-unit")
    return found


def _scope(args) -> reports.Scope:
    who = require_principal()
    session = db()
    unit = _unit(session, args["unit_id"], who)
    if not who.can(STAFF_ROLES, unit.path):
        raise Forbidden(REFUSAL, code="out-of-scope")
    today = utcnow().astimezone(city_zone()).date()
    start = args["from_"] or date(today.year, 1, 1)
    end = args["to"] or date(start.year, 12, 31)
    if start > end:
        end = start
    return reports.Scope(unit, start, end)


def _brief(unit: UnitView) -> dict:
    return {
        "unit_id": unit.unit_id,
        "name": unit.name,
        "path": unit.path,
        "parent_id": unit.parent_id,
    }


@blp.get("")
@roles(*STAFF_ROLES, detail=REFUSAL, code="out-of-scope")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, ReportOut)
def report(args):
    """The figures of a unit and the units under it in a period, in total and (``by``) for each
    unit one level down, month, category or dimension."""
    scope = _scope(args)
    answer = reports.report(db(), scope, args["by"])
    return {
        "unit": _brief(scope.unit),
        "from_": scope.start,
        "to": scope.end,
        "by": args["by"],
        **answer,
    }


@blp.get("/activities")
@roles(*STAFF_ROLES, detail=REFUSAL, code="out-of-scope")
@blp.arguments(ReportArgs, location="query")
@blp.response(200, LedgerOut)
def activity_ledger(args):
    """The activities held in the scope, one line each: date, host, dimensions, attendances,
    hours, audience, and the number of groups where at least five consenting attendees were."""
    scope = _scope(args)
    return {
        "unit": _brief(scope.unit),
        "from_": scope.start,
        "to": scope.end,
        "items": reports.ledger(db(), scope),
    }


@blp.get("/summary")
@public
@blp.arguments(SummaryArgs, location="query")
@blp.response(200, SummaryOut)
def summary(args):
    """This year's 场次, 人次 and hours of a unit and the units under it (public: no person and
    nothing about ethnicity in it)."""
    session = db()
    unit = _unit(session, args["unit_id"])
    year = utcnow().astimezone(city_zone()).year
    scope = reports.Scope(unit, date(year, 1, 1), date(year, 12, 31))
    totals = reports.report(session, scope)["totals"]
    return {
        "unit": _brief(unit),
        "year": year,
        **{name: totals[name] for name in ("activities_held", "attendances", "hours")},
    }
