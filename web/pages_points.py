"""The points pages: my points, standings, the points rules, adjustments awaiting approval.

Every page reads and writes through the ledger's API with the signed-in person's own token, so
the ledger decides who may see and do what.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from services.common.app import db
from services.common.auth import STAFF_ROLES
from services.common.errors import DomainError, Message
from services.common.states import AdjustmentStatus
from web import operations, services_client
from web.i18n import _, current_locale, explain, render, render_errors
from web.identity import access_token_for, current_principal, require_account

bp = Blueprint("points", __name__, url_prefix="/points")


def _ledger(method: str, path: str, **kwargs):
    token = access_token_for(require_account())["access_token"]
    return services_client.call("ledger", method, "/api/v1/ledger" + path, token=token, **kwargs)


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int))


def _field_errors(error: DomainError) -> dict[str, list[str]]:
    """The ledger's messages by field, in the page's language."""
    errors = error.errors or {}
    found = errors.get("json", errors) if isinstance(errors, dict) else {}
    return {
        name: [render(m) for m in messages if isinstance(m, str)]
        for name, messages in found.items()
        if isinstance(messages, list)
    }


def _posted(path: str, body: dict) -> tuple[dict | None, dict[str, list[str]]]:
    """POST a page's form to the ledger: its answer, or — where it refuses the fields (422) —
    None and its messages by field, to show beside them on the page again."""
    try:
        return _ledger("POST", path, json=body), {}
    except DomainError as error:
        if error.status != 422:
            raise
        return None, _field_errors(error)


def _period(this_year: int) -> dict:
    """The period the standings are asked for (this year unless the query says), and the page."""
    return {
        "from": request.args.get("from") or f"{this_year}-01-01",
        "to": request.args.get("to") or f"{this_year}-12-31",
        "page": _page(),
    }


def _query_errors(error: DomainError) -> dict[str, list[str]]:
    """The ledger's refusal of a standings query (422) by field; anything else goes on up."""
    if error.status != 422:
        raise error
    return render_errors((error.errors or {}).get("query", error.errors or {}))


def explanation(entry: dict) -> str:
    """A row's explanation in the page's language ("3月8日 邻里节 3.5小时 × 10 + 5 = 40分", or
    "Mar 8 邻里节 3.5 hours × 10 + 5 = 40 points"): the ledger's Chinese as it wrote it, or the
    date, the activity's title and the meaning of the row's own words (its key and values).
    A row written before the ledger kept the meaning is shown as written."""
    found = entry.get("explanation_message")
    locale = current_locale()
    if locale == "zh" or not found:
        return entry["explanation"]
    title = ""
    if entry.get("activity_id"):
        title = entry.get("activity_title") or _("一项活动")  # the ledger did not know it
    day = format_date(date.fromisoformat(entry["date"]), "MMM d", locale=locale)
    words = render(Message.from_meaning(found))
    return " ".join(part for part in (day, title, words) if part)


@bp.get("")
@login_required
def mine():
    """My points: balance, hours, stars and every row with its explanation."""
    account = require_account()
    ledger = _ledger("GET", f"/volunteers/{account.id}", params={"page": _page()})
    return render_template("points_mine.html", ledger=ledger, page=_page(), explanation=explanation)


@bp.get("/standings")
@login_required
def standings():
    """Standings of a unit for a month, a year or any period (staff in scope); a volunteer
    sees their own rank among their community."""
    who = current_principal()
    paths = who.paths(STAFF_ROLES)
    if not paths:
        return _community_standings()
    units = [u for u in operations.units(db()) if any(u.path.startswith(p) for p in paths)]
    this_year = date.today().year
    params = {
        "unit_id": request.args.get("unit_id") or (units[0].unit_id if units else ""),
        **_period(this_year),
    }
    errors: dict = {}
    board = {"items": [], "total": 0}
    try:
        board = _ledger("GET", "/standings", params=params)
    except DomainError as error:
        errors = _query_errors(error)
    return render_template(
        "points_standings.html",
        units=units,
        params=params,
        board=board,
        errors=errors,
        this_year=this_year,
    ), (422 if errors else 200)


def _community_standings():
    """A volunteer's rank and their community's standings, by names as on the honor roll."""
    this_year = date.today().year
    params = _period(this_year)
    errors: dict = {}
    try:
        board = _ledger("GET", "/standings/community", params=params)
    except DomainError as error:
        errors = _query_errors(error)
        board = _ledger("GET", "/standings/community", params={"page": 1})
    return render_template(
        "points_community.html",
        params=params,
        board=board,
        errors=errors,
        page=params["page"],
        this_year=this_year,
    ), (422 if errors else 200)


@bp.route("/rules", methods=["GET", "POST"])
@login_required
def rules():
    """Every version of the points rule; city administrators add a version from a future date."""
    errors: dict = {}
    if request.method == "POST":
        body = {
            name: request.form[name].strip()
            for name in (
                "effective_from",
                "attendance_base",
                "points_per_hour",
                "max_hours",
                "cross_group_bonus_percent",
                "no_show_penalty",
                "daily_cap",
                "note",
            )
            if request.form.get(name, "").strip()
        }
        for name in body:
            if (
                name not in ("effective_from", "max_hours", "note")
                and body[name].lstrip("-").isdigit()
            ):
                body[name] = int(body[name])
        rule, errors = _posted("/rules", body)
        if rule is not None:
            flash(_("积分规则第 {version} 版已保存", version=rule["version"]), "success")
            return redirect(url_for("points.rules"))
    listed = _ledger("GET", "/rules")
    is_city_admin = any(p.count("/") == 2 for p in current_principal().paths("admin"))
    return render_template(
        "points_rules.html", rules=listed, errors=errors, form=request.form, can_edit=is_city_admin
    ), (422 if errors else 200)


@bp.route("/adjustments", methods=["GET", "POST"])
@login_required
def adjustments():
    """Adjustments awaiting approval and decided, and asking for a new one (administrators)."""
    errors: dict = {}
    if request.method == "POST":
        points = request.form.get("points", "").strip()
        who = request.form.get("volunteer_id", "").strip()
        known = operations.volunteer_by_phone(db(), who) if who else None
        body = {
            "volunteer_id": known.id if known else who,  # a mobile number, or the volunteer's id
            "points": int(points) if points.lstrip("-").isdigit() else points,
            "reason": request.form.get("reason", ""),
        }
        asked, errors = _posted("/adjustments", body)
        if asked is not None:
            flash(_("调整申请已提交，需另一位管理员审批后生效"), "success")
            return redirect(url_for("points.adjustments"))
    return _adjustments_page(errors, 422 if errors else 200)


def _adjustments_page(
    errors: dict, status: int, rejecting: str | None = None, reject_errors: list | None = None
):
    """The adjustments awaiting approval, the decided ones, and the form to ask for one."""
    pending = _ledger("GET", "/adjustments", params={"status": "pending", "page": _page()})
    decided = _ledger("GET", "/adjustments", params={"status": "decided", "per_page": 20})
    people = [a["requested_by"] for a in pending["items"] + decided["items"]]
    people += [a["approved_by"] or a["rejected_by"] for a in decided["items"]]
    return render_template(
        "points_adjustments.html",
        pending=pending,
        decided=decided,
        names=operations.account_names(db(), (p for p in people if p)),
        errors=errors,
        form=request.form if not rejecting else {},
        rejecting=rejecting,  # the adjustment whose rejection was refused, with why
        reject_errors=reject_errors or [],
        statuses=AdjustmentStatus.labels(),
        me=require_account().id,
    ), status


@bp.post("/adjustments/<adjustment_id>/approve")
@login_required
def approve(adjustment_id):
    """Approve another administrator's adjustment."""
    try:
        _ledger("POST", f"/adjustments/{adjustment_id}/approve")
        flash(_("已审批，积分已记入账本"), "success")
    except DomainError as error:
        if error.status >= 500:
            raise
        flash(explain(error), "error")
    return redirect(url_for("points.adjustments"))


@bp.post("/adjustments/<adjustment_id>/reject")
@login_required
def reject(adjustment_id):
    """Reject another administrator's adjustment, with a reason."""
    reason = request.form.get("reason", "").strip()
    try:
        if len(reason) < 2:
            raise DomainError(
                _("请写明驳回原因"), errors={"reason": [_("请写明驳回原因")]}, status=422
            )
        _ledger("POST", f"/adjustments/{adjustment_id}/reject", json={"reason": reason})
        flash(_("已驳回，这项调整不会记入账本"), "success")
    except DomainError as error:
        if error.status >= 500:
            raise
        if error.status == 422:
            why = _field_errors(error).get("reason") or [explain(error)]
            flash(why[0], "error")  # on a phone the row's own message may be scrolled away
            return _adjustments_page({}, 422, adjustment_id, why)
        flash(explain(error), "error")
    return redirect(url_for("points.adjustments"))
