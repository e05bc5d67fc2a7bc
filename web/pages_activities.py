"""Activity pages: the public list and detail (phone first), and the organizer's pages."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from events.vocabulary import CATEGORIES, DIMENSIONS
from services.common.app import db
from services.common.errors import DomainError, NotFound
from services.common.states import ActivityStatus
from web import operations, services_client
from web.forms import ActivityForm, CancelForm, CopyForm, EmptyForm
from web.i18n import _, explain, render_errors
from web.identity import access_token_for, current_account, current_principal, require_account
from web.pages import _show_errors

bp = Blueprint("activities", __name__)
ORGANIZING = ("organizer", "admin")


def zone() -> ZoneInfo:
    """The city's time zone: what organizers type and volunteers read."""
    return ZoneInfo(current_app.extensions["shiliu"].settings.timezone)


def local(moment: str | datetime | None, fmt: str = "%m月%d日 %H:%M") -> str:
    """Show an API time in the city's time zone."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:  # the services store and send UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone()).strftime(_(fmt))


def _aware(naive: datetime | None) -> str | None:
    return naive.replace(tzinfo=zone()).isoformat() if naive else None


def _token() -> str | None:
    account = current_account()
    return access_token_for(account)["access_token"] if account else None


def _api(method: str, path: str, **kwargs):
    return services_client.call("activities", method, path, token=_token(), **kwargs)


@bp.app_template_filter("local")
def _local_filter(moment, fmt="%m月%d日 %H:%M"):
    return local(moment, fmt)


@bp.app_context_processor
def _vocabulary():
    return {"CATEGORIES": CATEGORIES, "DIMENSIONS": DIMENSIONS, "STATUSES": ActivityStatus.labels()}


# ---- public --------------------------------------------------------------------------------


@bp.get("/activities")
def public_list():
    """Upcoming activities: found by words, filtered by category, dimension and free places,
    soonest first or (with near=latitude,longitude from the browser) nearest first."""
    wanted = ("q", "near", "category", "dimension", "page")
    args = {k: v for k, v in request.args.items() if k in wanted and v}
    if request.args.get("free"):
        args["has_free_places"] = "true"
    status = 200
    try:
        listing = _api("GET", "/api/v1/activities", params=args)
    except DomainError as error:
        flash(_refused(error), "error")
        listing = {"items": [], "total": 0, "page": 1, "per_page": 20}
        status = error.status if 400 <= error.status < 500 else 200
    by_time = {k: v for k, v in request.args.items() if k not in ("near", "page")}
    return render_template(
        "activities_list.html",
        listing=listing,
        args=request.args,
        by_time_url=url_for("activities.public_list", **by_time),
    ), status


def _refused(error: DomainError) -> str:
    """What was wrong with the list's query: each field's message, or the refusal's detail."""
    errors = error.errors.get("query") if isinstance(error.errors, dict) else None
    said = render_errors(errors) if isinstance(errors, dict) else {}
    lines = [m for ms in said.values() for m in (ms if isinstance(ms, list) else [ms])]
    return " ".join(map(str, lines)) or explain(error)


@bp.get("/activities/<activity_id>")
def public_detail(activity_id):
    """One activity: what, when, where, how many places, which roles."""
    activity, can_organize = readable(activity_id)
    return render_template("activity_detail.html", activity=activity, can_organize=can_organize)


def readable(activity_id: str) -> tuple[dict, bool]:
    """The activity as the visitor may read it, and whether they organize it. A draft exists
    only for its organizers (web's own token, used for visitors, would read every draft)."""
    activity = _api("GET", f"/api/v1/activities/{activity_id}")
    account = current_account()
    can_organize = bool(account) and operations.principal_of(db(), account).can(
        ORGANIZING, _host_path(activity)
    )
    if activity["status"] == ActivityStatus.DRAFT and not can_organize:
        raise NotFound("活动不存在", code="unknown-activity")
    return activity, can_organize


def _host_path(activity: dict) -> str | None:
    unit = operations.units_by_id(db()).get(activity["host_unit_id"])
    return unit.path if unit else None


# ---- organizers --------------------------------------------------------------------------


def _organizer():
    who = current_principal()
    if not who.paths(ORGANIZING):
        raise DomainError("只有活动组织者可以访问此页面", code="organizers-only", status=403)
    return who


def _organized(who, activity_id: str) -> dict:
    """The activity, if the signed-in organizer's units cover its host unit (403 otherwise)."""
    activity = _api("GET", f"/api/v1/activities/{activity_id}")
    if not who.can(ORGANIZING, _host_path(activity)):
        raise DomainError("只能管理自己单位范围内的活动", code="out-of-scope", status=403)
    return activity


def _host_choices(who) -> list[SelectChoice]:
    paths = who.paths(ORGANIZING)
    units = [u for u in operations.units(db()) if any(u.path.startswith(p) for p in paths)]
    return [SelectChoice(u.unit_id, "　" * (u.path.count("/") - 2) + u.name) for u in units]


def _body(form: ActivityForm) -> dict:
    shifts = []
    for row in form.shifts.entries:
        if not (row.form.name.data or "").strip():
            continue
        shift = {
            "name": row.form.name.data.strip(),
            "capacity": row.form.capacity.data,
            "hour_weight": (row.form.hour_weight.data or "").strip() or None,
        }
        if row.form.id.data:
            shift["id"] = row.form.id.data
        shifts.append(shift)
    return {
        "title": form.title.data.strip(),
        "category": form.category.data,
        "dimensions": form.dimensions.data or [],
        "host_unit_id": form.host_unit_id.data,
        "starts_at": _aware(form.starts_at.data),
        "ends_at": _aware(form.ends_at.data),
        "address": (form.address.data or "").strip(),
        "description": (form.description.data or "").strip(),
        "signup_closes_at": _aware(form.signup_closes_at.data),
        "walk_ins_allowed": bool(form.walk_ins_allowed.data),
        "shifts": shifts,
    }


def _show_api_errors(form, error: DomainError) -> None:
    """Per-field messages of the API (422 nests them under "json") next to the fields."""
    errors = error.errors or {}
    errors = errors.get("json", errors) if isinstance(errors, dict) else {}
    flat = {
        name: (
            msgs
            if isinstance(msgs, list)
            else [m for ms in msgs.values() for m in (ms if isinstance(ms, list) else [str(ms)])]
        )
        for name, msgs in errors.items()
    }
    _show_errors(form, DomainError(error.message, errors=flat))


@bp.get("/organize")
@login_required
def dashboard():
    """The organizer's desk: drafts, what is coming, what needs attention (for administrators,
    the points adjustments waiting for their approval too)."""
    who = _organizer()
    mine = _api("GET", "/api/v1/activities", params={"mine": "true", "per_page": 100})["items"]
    now = datetime.now(zone())
    upcoming = [
        a
        for a in mine
        if a["status"] == ActivityStatus.PUBLISHED and datetime.fromisoformat(a["ends_at"]) >= now
    ]
    attention = {
        "full": [a for a in upcoming if any(s["free"] == 0 for s in a["shifts"])],
        "to_confirm": [a for a in mine if a["status"] == ActivityStatus.COMPLETED],
        "to_complete": [
            a
            for a in mine
            if a["status"] == ActivityStatus.PUBLISHED
            and datetime.fromisoformat(a["ends_at"]) < now
        ],
    }
    drafts = [a for a in mine if a["status"] == ActivityStatus.DRAFT]
    return render_template(
        "organize_dashboard.html",
        upcoming=upcoming,
        drafts=drafts,
        attention=attention,
        to_approve=_adjustments_to_approve(who),
    )


def _adjustments_to_approve(who) -> int | None:
    """How many points adjustments wait for this administrator's approval (someone else asked
    for them); None for organizers who are not administrators, or when the ledger does not say."""
    if not who.paths("admin"):
        return None
    account = require_account()
    try:
        pending = services_client.call(
            "ledger",
            "GET",
            "/api/v1/ledger/adjustments",
            token=access_token_for(account)["access_token"],
            params={"status": "pending", "per_page": 100},
        )
    except DomainError:
        return None
    return sum(1 for item in pending["items"] if item["requested_by"] != account.id)


@bp.route("/organize/activities/new", methods=["GET", "POST"])
@login_required
def create():
    """The activity form."""
    who = _organizer()
    form = ActivityForm()
    form.host_unit_id.choices = _host_choices(who)
    if request.method == "GET":
        form.dimensions.data = ["culture"]
        form.shifts.entries[0].form.name.data = _("志愿者")
        form.shifts.entries[0].form.capacity.data = 20
    if form.validate_on_submit():
        try:
            created = _api("POST", "/api/v1/activities", json=_body(form))
            flash(_("活动草稿已保存，确认无误后请发布"), "success")
            return redirect(url_for("activities.manage", activity_id=created["id"]))
        except DomainError as error:
            _show_api_errors(form, error)
    return render_template("organize_form.html", form=form, activity=None), (
        422 if form.errors else 200
    )


@bp.route("/organize/activities/<activity_id>/edit", methods=["GET", "POST"])
@login_required
def edit(activity_id):
    """Change a draft or published activity."""
    who = _organizer()
    activity = _organized(who, activity_id)
    form = ActivityForm()
    form.host_unit_id.choices = _host_choices(who)
    if request.method == "GET":
        form.process(
            data={
                "title": activity["title"],
                "category": activity["category"],
                "dimensions": activity["dimensions"],
                "host_unit_id": activity["host_unit_id"],
                "starts_at": datetime.fromisoformat(activity["starts_at"])
                .astimezone(zone())
                .replace(tzinfo=None),
                "ends_at": datetime.fromisoformat(activity["ends_at"])
                .astimezone(zone())
                .replace(tzinfo=None),
                "address": activity["address"],
                "description": activity["description"],
                "walk_ins_allowed": activity["walk_ins_allowed"],
                "shifts": [
                    {
                        "id": s["id"],
                        "name": s["name"],
                        "capacity": s["capacity"],
                        "hour_weight": s["hour_weight"] or "",
                    }
                    for s in activity["shifts"]
                ],
            }
        )
        while len(form.shifts.entries) < len(activity["shifts"]) + 1:
            form.shifts.append_entry()
    if form.validate_on_submit():
        body = _body(form)
        body.pop("host_unit_id")
        try:
            _api("PATCH", f"/api/v1/activities/{activity_id}", json=body)
            flash(_("活动已更新"), "success")
            return redirect(url_for("activities.manage", activity_id=activity_id))
        except DomainError as error:
            _show_api_errors(form, error)
    return render_template("organize_form.html", form=form, activity=activity), (
        422 if form.errors else 200
    )


@bp.get("/organize/activities/<activity_id>")
@login_required
def manage(activity_id):
    """The organizer's activity page: details, roster, and the next steps."""
    activity = _organized(_organizer(), activity_id)
    try:
        roster = services_client.call(
            "volunteers", "GET", f"/api/v1/activities/{activity_id}/signups", token=_token()
        )
    except DomainError:
        roster = None
    return render_template(
        "organize_activity.html",
        activity=activity,
        roster=roster,
        cancel=CancelForm(),
        copy=CopyForm(),
        step=EmptyForm(),
    )


STEPS = {
    "publish": "活动已发布，志愿者现在可以报名",
    "complete": "活动已标记为完成，可以确认时长了",
    "close": "活动已关闭",
}


@bp.post("/organize/activities/<activity_id>/<step>")
@login_required
def act(activity_id, step):
    """Publish, complete, close, cancel (with a reason) or copy (onto new dates)."""
    _organizer()
    require_account()
    target = url_for("activities.manage", activity_id=activity_id)
    try:
        if step in STEPS and EmptyForm().validate_on_submit():
            audience = (request.form.get("audience") or "").strip() if step == "complete" else ""
            if audience and not (audience.isdigit() and len(audience) <= 8):
                flash(_("受众人次须为 0 到 10000000 之间的整数"), "error")
                return redirect(target)
            body = {"json": {"audience": int(audience)}} if audience else {}
            _api("POST", f"/api/v1/activities/{activity_id}/{step}", **body)
            flash(_(STEPS[step]), "success")
        elif step == "cancel":
            form = CancelForm()
            if not form.validate_on_submit():
                flash(_("请说明取消原因（2 到 500 个字符）"), "error")
                return redirect(target)
            _api(
                "POST",
                f"/api/v1/activities/{activity_id}/cancel",
                json={"reason": form.reason.data.strip()},
            )
            flash(_("活动已取消，已报名的志愿者会看到取消原因"), "success")
        elif step == "copy":
            form = CopyForm()
            if not form.validate_on_submit():
                flash(_("请填写新的开始和结束时间"), "error")
                return redirect(target)
            copied = _api(
                "POST",
                f"/api/v1/activities/{activity_id}/copy",
                json={
                    "starts_at": _aware(form.starts_at.data),
                    "ends_at": _aware(form.ends_at.data),
                },
            )
            flash(_("已复制为新的活动草稿"), "success")
            return redirect(url_for("activities.manage", activity_id=copied["id"]))
        else:
            flash(_("页面已过期，请刷新后再提交"), "error")
    except DomainError as error:
        flash(explain(error), "error")
    return redirect(target)
