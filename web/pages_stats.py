"""The statistics pages (issue 22): ``/stats`` for staff — the figures of a unit and the units
under it in a period, the units one level down side by side (sortable, each a link one level
further down), the months as a chart, the categories and dimensions as charts, the 三交 index
with its definition — and the same report as an Excel file (``/stats/export.xlsx``).

Everything is read through the statistics service's API with the signed-in person's own token,
so the service decides who may read which unit (staff of the unit or above it); a refusal is
the service's, shown as a page. No count that involves ethnicity under five reaches the page or
the file: the service gives none (``sanjiao.shown`` false), and both say so in words.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required

from events.settings import city_zone
from events.vocabulary import CATEGORIES, DIMENSIONS
from services.common.api import file_answer
from services.common.app import db
from services.common.auth import STAFF_ROLES
from services.common.errors import DomainError
from web import charts, operations, services_client, stats_export
from web.i18n import _
from web.identity import access_token_for, current_principal, require_account

bp = Blueprint("stats", __name__, url_prefix="/stats")

# The figures of a row, in the table's order: the key in the API and the column's heading —
# the Excel file's figures (one list, so the page and the file never disagree) and the index.
COLUMNS = (*stats_export.FIGURES, ("sanjiao", "三交指数"))
SORTABLE = {"label", *(key for key, _label in COLUMNS)}
NOT_SHOWN = stats_export.NOT_SHOWN
BAD_DATE = "日期格式应为 年-月-日，例如 2026-01-31"
MOST_MONTHS = 60  # the trend fills empty months up to five years; longer periods show the busy ones


class BadPeriod(DomainError, status=400, code="bad-period"):
    """A date that is not a date, or a period that ends before it starts."""


def today() -> date:
    return datetime.now(city_zone()).date()


def periods(day: date) -> list[dict]:
    """The quick choices: this year, last quarter, last month."""
    quarter_start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last_quarter_end = quarter_start - timedelta(days=1)
    last_quarter_start = date(last_quarter_end.year, last_quarter_end.month - 2, 1)
    month_start = date(day.year, day.month, 1)
    last_month_end = month_start - timedelta(days=1)
    return [
        {"name": "今年", "from": date(day.year, 1, 1), "to": date(day.year, 12, 31)},
        {"name": "上季度", "from": last_quarter_start, "to": last_quarter_end},
        {"name": "上月", "from": last_month_end.replace(day=1), "to": last_month_end},
    ]


def period(args) -> tuple[date, date, dict[str, list[str]]]:
    """The period asked for (this year by default) and what is wrong with it, by field."""
    found: dict[str, date] = {}
    errors: dict[str, list[str]] = {}
    defaults = periods(today())[0]
    for name in ("from", "to"):
        text = (args.get(name) or "").strip()
        try:
            found[name] = date.fromisoformat(text) if text else defaults[name]
        except ValueError:
            errors[name] = [_(BAD_DATE)]
            found[name] = defaults[name]
    if not errors and found["from"] > found["to"]:
        errors["to"] = [_("开始日期不能晚于结束日期")]
    return found["from"], found["to"], errors


def read(token: str, unit_id: str | None, start: date, end: date, by: str | None = None):
    """One report of the statistics service, as the signed-in person."""
    params = {"from": start.isoformat(), "to": end.isoformat()}
    if unit_id:
        params["unit_id"] = unit_id
    if by:
        params["by"] = by
    path = "/api/v1/stats/activities" if by == "activities" else "/api/v1/stats"
    if by == "activities":
        params.pop("by")
    return services_client.call("statistics", "GET", path, token=token, params=params)


def reports(unit_id: str | None, start: date, end: date) -> dict:
    """The report by unit (with the totals), month, category and dimension."""
    token = access_token_for(require_account())["access_token"]
    found = {"unit": read(token, unit_id, start, end, "unit")}
    unit_id = found["unit"]["unit"]["unit_id"]
    for by in ("month", "category", "dimension"):
        found[by] = read(token, unit_id, start, end, by)
    found["token"] = token
    return found


def _months(start: date, end: date) -> list[str]:
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month) and len(months) <= MOST_MONTHS:
        months.append(f"{year}-{month:02d}")
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return months


def trend(rows: list[dict], start: date, end: date) -> list[dict]:
    """Activities held and attendances of every month of the period, as a chart's columns."""
    by_month = {row["key"]: row for row in rows}
    months = _months(start, end)
    if len(months) > MOST_MONTHS:
        months = sorted(by_month)
    items = [
        {
            "month": month,
            "label": str(int(month[5:])),
            "activities_held": by_month.get(month, {}).get("activities_held", 0),
            "attendances": by_month.get(month, {}).get("attendances", 0),
        }
        for month in months
    ]
    return charts.columns(items, "activities_held", "attendances")


def breakdown(rows: list[dict], labels: dict[str, str]) -> dict:
    """Activities held of each category or dimension, as a chart's lanes (every one listed)."""
    held = {row["key"]: row["activities_held"] for row in rows}
    items = [
        {"key": key, "label": _(label), "value": held.get(key, 0)} for key, label in labels.items()
    ]
    return charts.lanes(items, "value")


def sort_rows(rows: list[dict], key: str | None, order: str) -> list[dict]:
    """The table's rows sorted by a column (``None``: as the service lists them)."""
    if key not in SORTABLE:
        return rows

    def value(row):
        if key == "sanjiao":
            share = row["sanjiao"]["share"]
            return (share is not None, share or 0)
        found = row[key]
        return (found is not None, found if found is not None else 0)

    return sorted(rows, key=value, reverse=order == "desc")


def _readable_units(who) -> list:
    return [u for u in operations.units(db()) if who.can(STAFF_ROLES, u.path)]


def _trail(unit: dict, units: list) -> list[dict]:
    """The unit's ancestors and itself, each a link where the person may read it."""
    by_path = {u.path: u for u in operations.units(db())}
    path, trail = unit["path"], []
    parts = [p for p in path.split("/") if p]
    for depth in range(1, len(parts) + 1):
        found = by_path.get("/" + "/".join(parts[:depth]) + "/")
        if found is not None:
            readable = any(u.unit_id == found.unit_id for u in units)
            trail.append({"unit_id": found.unit_id, "name": found.name, "link": readable})
    return trail


@bp.get("")
@login_required
def page():
    """The statistics of a unit and the units under it for a period."""
    who = current_principal()
    units = _readable_units(who)
    start, end, errors = period(request.args)
    unit_id = request.args.get("unit_id") or None
    sort, order = request.args.get("sort"), request.args.get("order", "desc")
    order = order if order in ("asc", "desc") else "desc"
    context = {
        "units": units,
        "unit_id": unit_id,
        "start": request.args.get("from") or start.isoformat(),
        "end": request.args.get("to") or end.isoformat(),
        "errors": errors,
        "periods": periods(today()),
        "columns": COLUMNS,
        "sort": sort,
        "order": order,
        "not_shown": NOT_SHOWN,
    }
    if errors:
        return render_template("stats.html", report=None, **context), 400
    found = reports(unit_id, start, end)
    by_unit = found["unit"]
    own = by_unit["unit"]
    for row in by_unit["rows"]:
        row["own"] = row["key"] == own["unit_id"]
        row["label"] = _("{name}（本级）", name=own["name"]) if row["own"] else row["label"]
    return render_template(
        "stats.html",
        report=by_unit,
        rows=sort_rows(by_unit["rows"], sort, order),
        trail=_trail(own, units),
        months=trend(found["month"]["rows"], start, end),
        categories=breakdown(found["category"]["rows"], CATEGORIES),
        dimensions=breakdown(found["dimension"]["rows"], DIMENSIONS),
        **{**context, "unit_id": own["unit_id"]},
    )


@bp.get("/export.xlsx")
@login_required
def export():
    """The same report as an Excel file: totals, each breakdown, and the 台账 of activities."""
    start, end, errors = period(request.args)
    if errors:
        raise BadPeriod(next(iter(errors.values()))[0])
    found = reports(request.args.get("unit_id") or None, start, end)
    unit = found["unit"]["unit"]
    ledger = read(found.pop("token"), unit["unit_id"], start, end, "activities")
    data = stats_export.workbook(found, ledger["items"])
    name = f"stats-{unit['unit_id']}-{start.isoformat()}-{end.isoformat()}.xlsx"
    return file_answer(data, stats_export.XLSX, name, inline=False)


@bp.app_template_filter("figure")
def figure(value) -> str:
    """A figure as the page shows it: whole numbers without ``.0``, rates as percentages."""
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@bp.app_template_global("stats_url")
def stats_url(**changes) -> str:
    """This page's address with some of its query changed."""
    query = {k: v for k, v in request.args.items() if k != "lang"}
    query.update({k: v for k, v in changes.items() if v is not None})
    return url_for("stats.page", **query)
