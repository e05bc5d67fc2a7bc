"""The committee's pages: cycles, creating one, the evidence, votes, running the notice and
publication, the audit trail and the export.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from services.common.app import db
from services.common.auth import STAFF_ROLES, Forbidden
from services.common.errors import DomainError
from web import operations
from web.forms import AwardCycleForm
from web.i18n import _, explain, render
from web.identity import current_principal, require_account
from web.pages_awards._common import (
    ANONYMOUS,
    CYCLE_STATUS,
    DECISIONS,
    MANAGING,
    STEPS,
    XLSX,
    _ledger,
    _messages,
    _raw,
    _safe,
    _this_year,
    bp,
    punctuation,
)

# ---- the committee's pages -----------------------------------------------------------------


@bp.get("/awards")
@login_required
def cycles():
    """The cycles I sit on or whose unit I serve, newest first, with a link to start one."""
    who = current_principal()
    status = request.args.get("status", "")
    params = {"per_page": 100, **({"status": status} if status in CYCLE_STATUS else {})}
    listing = _ledger("GET", "/award-cycles", params=params)
    return render_template(
        "awards_list.html",
        listing=listing,
        status=status if status in CYCLE_STATUS else "",
        can_create=bool(who.paths(MANAGING)),
    )


def _manager():
    who = current_principal()
    if not who.paths(MANAGING):
        raise Forbidden("只有评审委员或管理员可以发起评选", code="committee-only")
    return who


def _unit_choices(who) -> list[SelectChoice]:
    """Units where the person holds a committee or administrator role (and the units below)."""
    paths = who.paths(MANAGING)
    units = [u for u in operations.units(db()) if any(u.path.startswith(p) for p in paths)]
    return [SelectChoice(u.unit_id, "　" * (u.path.count("/") - 2) + u.name) for u in units]


def _member_choices(who) -> list[SelectChoice]:
    """Staff accounts of the units in the person's branch, with their roles."""
    from web.forms import ROLES

    units = operations.units_by_id(db())
    choices = []
    for account, grants in operations.staff_in_branch(db(), who.paths(MANAGING), MANAGING):
        held = punctuation()["list"].join(
            f"{_(ROLES[g.role])} · {units[g.unit_id].name}" for g in grants if g.unit_id in units
        )
        label = _("{name}（{roles}）", name=account.display_name, roles=held)
        choices.append(SelectChoice(account.id, label))
    return choices


def _cycle_body(form: AwardCycleForm) -> tuple[dict, dict[str, list[str]]]:
    """The API's body from the form, and the messages of what web itself cannot send."""
    problems: dict[str, list[str]] = {}
    committee = list(form.committee.data or [])
    body = {
        "title": (form.title.data or "").strip(),
        "unit_id": form.unit_id.data,
        "period_start": form.period_start.data.isoformat(),
        "period_end": form.period_end.data.isoformat(),
        "criteria": {
            name: getattr(form, name).data
            for name in ("min_points", "min_activities", "min_dimensions", "max_no_shows")
            if getattr(form, name).data is not None
        },
        "quota": form.quota.data,
        "committee": committee,
        "quorum": form.quorum.data
        if form.quorum.data is not None
        else max(1, len(committee) // 2 + 1),
    }
    if form.notice_days.data is not None:
        body["notice_days"] = form.notice_days.data
    try:
        body["majority"] = float(Decimal((form.majority.data or "0.667").strip()))
    except InvalidOperation:
        problems["majority"] = [_("请填写 0.5 到 1 之间的小数，例如 0.667")]
    return body, problems


def _place(form, messages: dict[str, list[str]]) -> bool:
    """Put per-field messages beside the form's fields; tell whether every one found a place."""
    placed_all = True
    for name, texts in messages.items():
        field = getattr(form, name, None)
        if field is None or name == "csrf_token":
            placed_all = False
            continue
        field.errors = list(field.errors or []) + texts
    return placed_all


def _api_field_errors(error: DomainError) -> dict[str, list[str]]:
    """The API's per-field messages with nested ones (criteria, committee) under their field."""
    errors = error.errors or {}
    errors = errors.get("json", errors) if isinstance(errors, dict) else {}
    flat: dict[str, list[str]] = {}

    def collect(value) -> list[str]:
        if isinstance(value, str):
            return [render(value)]
        if isinstance(value, dict):
            return [m for item in value.values() for m in collect(item)]
        if isinstance(value, list):
            return [m for item in value for m in collect(item)]
        return []

    for name, value in errors.items():
        if name == "criteria" and isinstance(value, dict):
            for inner, texts in value.items():
                flat.setdefault(inner, []).extend(collect(texts))
        else:
            flat.setdefault(name, []).extend(collect(value))
    return flat


@bp.route("/awards/new", methods=["GET", "POST"])
@login_required
def create():
    """Start a cycle in draft: title, unit, period, criteria, quota, committee and its rules."""
    who = _manager()
    form = AwardCycleForm()
    form.unit_id.choices = _unit_choices(who)
    form.committee.choices = _member_choices(who)
    status = 200
    if request.method == "GET":
        year = _this_year()
        form.title.data = _("{year}年度 民族团结之星", year=year)
        form.period_start.data = datetime(year, 1, 1).date()
        form.period_end.data = datetime(year, 12, 31).date()
        form.committee.data = [require_account().id]
    elif form.validate_on_submit():
        body, problems = _cycle_body(form)
        try:
            if problems:
                raise DomainError(
                    "请检查填写的内容", code="validation", errors=problems, status=422
                )
            body["committee_statement"] = operations.staff_statement(
                db(), current_app.config["SECRET_KEY"], body["committee"]
            )["statement"]
            created = _ledger("POST", "/award-cycles", json=body)
            flash(_("评选已创建（草稿）。请核对规则，然后开始评审。"), "success")
            return redirect(url_for("awards.cycle", cycle_id=created["id"]))
        except DomainError as error:
            if error.status >= 500:
                raise
            status = error.status
            if not _place(form, _api_field_errors(error)) or not error.errors:
                flash(explain(error), "error")
    else:
        status = 422
    return render_template("awards_new.html", form=form), status


def _cycle_page(cycle_id: str, problems: dict | None = None, status: int = 200):
    """The committee's page of a cycle: rules, actions, candidates with evidence and votes."""
    who = current_principal()
    found = _ledger("GET", f"/award-cycles/{cycle_id}")
    candidates = _ledger("GET", f"/award-cycles/{cycle_id}/candidates")["items"]
    objections = []
    if found["status"] not in ("draft", "open"):
        objections = _ledger("GET", f"/award-cycles/{cycle_id}/objections")["items"]
    units = operations.units_by_id(db())
    by_id = {c["candidate_id"]: c for c in candidates}
    may_tell = {
        c["candidate_id"]
        for c in candidates
        if c["unit_id"] in units and who.can(STAFF_ROLES, units[c["unit_id"]].path)
    }
    me = require_account().id
    mine = {
        c["candidate_id"]: next((v for v in c["votes"] if v["member_id"] == me), None)
        for c in candidates
    }
    names = {m["account_id"]: m["name"] for m in found["committee_members"] if m["name"]}
    names.update(
        operations.account_names(db(), found["committee"])
    )  # web's own names are the current ones
    objectors = operations.account_names(db(), (o.get("lodged_by") for o in objections))
    return render_template(
        "awards_cycle.html",
        cycle=found,
        candidates=candidates,
        by_id=by_id,
        objections=objections,
        may_tell=may_tell,
        mine=mine,
        names=names,
        objectors=objectors,
        problems=problems or {},
        posted=request.form if problems else {},
        best_month=max(
            [m["points"] for c in candidates for m in c["evidence"]["points_by_month"]] + [1]
        ),
    ), status


@bp.get("/awards/<cycle_id>")
@login_required
def cycle(cycle_id):
    """The committee's page of a cycle (staff of its branch see it too and tell stories)."""
    return _cycle_page(cycle_id)


def _submit(cycle_id: str, key: str, method: str, path: str, body: dict | None, done: str):
    """Send a form to the ledger; on success back to the cycle with a message, else the page
    again with the ledger's message beside the form (and its status)."""
    try:
        answer = _ledger(method, f"/award-cycles/{cycle_id}{path}", json=body)
    except DomainError as error:
        if error.status >= 500:
            raise
        return _refused(cycle_id, key, _messages(error), error.status)
    flash(done if isinstance(done, str) else done(answer), "success")
    return redirect(url_for("awards.cycle", cycle_id=cycle_id) + f"#{key}")


def _refused(cycle_id: str, key: str, messages: list[str], status: int):
    flash(punctuation()["clause"].join(messages), "error")
    return _cycle_page(cycle_id, {key: messages}, status)


@bp.post("/awards/<cycle_id>/candidates/<candidate_id>/vote")
@login_required
def vote(cycle_id, candidate_id):
    """Cast my vote on a candidate, or change it while voting is open."""
    key = f"vote-{candidate_id}"
    decision = request.form.get("decision", "")
    if decision not in ("approve", "reject", "abstain"):
        return _refused(cycle_id, key, [_("请选择赞成、反对或弃权")], 422)
    body = {"decision": decision, "comment": request.form.get("comment", "").strip()}
    done = _("已投票：{decision}", decision=_(DECISIONS[decision]))
    if request.form.get("change"):
        return _submit(cycle_id, key, "PUT", f"/votes/{candidate_id}", body, done)
    return _submit(cycle_id, key, "POST", "/votes", {**body, "candidate_id": candidate_id}, done)


@bp.post("/awards/<cycle_id>/candidates/<candidate_id>/recuse")
@login_required
def recuse(cycle_id, candidate_id):
    """Step aside from a candidate, with the reason."""
    body = {"candidate_id": candidate_id, "reason": request.form.get("reason", "")}
    return _submit(
        cycle_id,
        f"recuse-{candidate_id}",
        "POST",
        "/recusals",
        body,
        _("已回避，不再对这位候选人投票"),
    )


@bp.post("/awards/<cycle_id>/candidates/<candidate_id>/story")
@login_required
def story(cycle_id, candidate_id):
    """An organizer of the candidate's unit tells their story (事迹)."""
    body = {
        "volunteer_id": request.form.get("volunteer_id", ""),
        "story": request.form.get("story", ""),
    }
    return _submit(cycle_id, f"story-{candidate_id}", "POST", "/nominations", body, _("事迹已保存"))


@bp.post("/awards/<cycle_id>/objections/<objection_id>/decision")
@login_required
def decide(cycle_id, objection_id):
    """The committee upholds or dismisses an objection, with the reason."""
    key = f"objection-{objection_id}"
    decision = request.form.get("decision", "")
    if decision not in ("uphold", "dismiss"):
        return _refused(cycle_id, key, [_("请选择异议成立或不成立")], 422)
    body = {"decision": decision, "reason": request.form.get("reason", "")}
    done = (
        _("异议成立，该候选人已从公示名单中移除")
        if decision == "uphold"
        else _("异议不成立，公示名单不变")
    )
    return _submit(cycle_id, key, "POST", f"/objections/{objection_id}/decision", body, done)


@bp.post("/awards/<cycle_id>/<step>")
@login_required
def act(cycle_id, step):
    """Move the cycle on: open, put on notice, publish, cancel, revoke, break a tie, propose."""
    if step not in STEPS:
        abort(404)
    form = request.form
    reason = form.get("reason", "")
    if step == "open":
        return _submit(
            cycle_id,
            "actions",
            "POST",
            "/open",
            None,
            lambda found: _("评审已开始，候选人已从积分账本列出"),
        )
    if step == "notice":
        return _submit(
            cycle_id,
            "actions",
            "POST",
            "/notice",
            None,
            lambda found: _("已进入公示，公示期至 {day}", day=found["notice_ends_on"]),
        )
    if step == "publish":
        return _submit(cycle_id, "actions", "POST", "/publish", None, _("光荣榜已发布，证书已颁发"))
    if step == "cancel":
        return _submit(cycle_id, "cancel", "POST", "/cancel", {"reason": reason}, _("评选已取消"))
    if step == "revoke":
        if not form.get("candidate_id"):
            return _refused(cycle_id, "revoke", [_("请选择要撤销表彰的获评人")], 422)
        body = {"candidate_id": form["candidate_id"], "reason": reason}
        return _submit(cycle_id, "revoke", "POST", "/revoke", body, _("已撤销表彰，证书已失效"))
    if step == "tie-break":
        chosen = form.getlist("candidate_ids")
        if not chosen:
            return _refused(cycle_id, "tie", [_("请选出入选的候选人")], 422)
        body = {"candidate_ids": chosen, "reason": reason}
        return _submit(cycle_id, "tie", "POST", "/tie-break", body, _("并列人选已决定"))
    body = {"candidate_id": form.get("candidate_id", "")}
    return _submit(
        cycle_id,
        "objections",
        "POST",
        "/proposals",
        body,
        _("已递补，公示期重新计算"),
    )


@bp.get("/awards/<cycle_id>/audit")
@login_required
def audit(cycle_id):
    """Every act on the cycle: who, what, when."""
    found = _ledger("GET", f"/award-cycles/{cycle_id}")
    trail = _ledger("GET", f"/award-cycles/{cycle_id}/audit")["items"]
    candidates = _ledger("GET", f"/award-cycles/{cycle_id}/candidates")["items"]
    people = {c["candidate_id"]: c["name"] for c in candidates}
    names = operations.account_names(db(), (i["actor_id"] for i in trail if i["actor_id"]))
    for item in trail:
        item["who"] = (
            _(ANONYMOUS[item["anonymous_as"]])
            if item.get("anonymous_as") in ANONYMOUS
            else names.get(item["actor_id"]) or item["detail"].get("by") or ""
        )
        item["about"] = _describe(item["detail"], people)
    return render_template("awards_audit.html", cycle=found, trail=trail)


def _describe(detail: dict, people: dict[str, str]) -> str:
    """A line saying what an act was about, in the page's language."""
    parts = []
    if detail.get("candidate_id"):
        parts.append(people.get(detail["candidate_id"], detail["candidate_id"]))
    if isinstance(detail.get("candidates"), int):
        parts.append(_("{n} 位候选人", n=detail["candidates"]))
    for key in ("proposed", "winners", "chosen", "candidates"):
        if isinstance(detail.get(key), list):
            parts.append(punctuation()["list"].join(people.get(i, i) for i in detail[key]))
    if detail.get("decision"):
        parts.append(_(DECISIONS.get(detail["decision"], detail["decision"])))
    if detail.get("before") and detail.get("after"):
        parts.append(
            f"{_(DECISIONS.get(detail['before'], detail['before']))} → "
            f"{_(DECISIONS.get(detail['after'], detail['after']))}"
        )
    for key in ("ends_on", "notice_ends_on"):
        if detail.get(key):
            parts.append(_("公示期至 {day}", day=detail[key]))
    if detail.get("title"):
        parts.append(detail["title"])
    if detail.get("reason"):
        parts.append(_("理由：{reason}", reason=detail["reason"]))
    return punctuation()["clause"].join(str(p) for p in parts if p)


@bp.get("/awards/<cycle_id>/export.xlsx")
@login_required
def export(cycle_id):
    """The committee's Excel file (candidates, evidence, votes, objections, the record)."""
    status, data, content_type = _raw(f"/api/v1/award-cycles/{cycle_id}/export.xlsx")
    if status != 200:
        abort(404 if status in (401, 403, 404) else status)
    return Response(
        data,
        content_type=content_type or XLSX,
        headers={"Content-Disposition": f'attachment; filename="award-{_safe(cycle_id)}.xlsx"'},
    )
