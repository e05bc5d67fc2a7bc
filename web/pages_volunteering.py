"""Volunteering pages, phone first: sign-up and cancel, my activities, the check-in page opened by
scanning the QR, and the organizer's roster, live code screen and attendance confirmation.

The activity's public page (``/activities/<id>``) belongs to the activities pages; it includes
``volunteering_signup.html``, whose forms post to ``/activities/<id>/signup`` here. The
organizer's activity page includes ``volunteering_roster.html``. Every page calls the volunteers
API with the signed-in person's token; nothing here touches the volunteers' tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import segno
from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from events.settings import city_zone
from services.common.api import file_answer
from services.common.errors import DomainError
from services.common.states import ACTIVITY_FOR_VOLUNTEERS, SignupStatus
from web import services_client
from web.api import client_address
from web.attendance_form import confirmation_report, suggest_hours
from web.forms import EmptyForm
from web.i18n import _, explain, render
from web.identity import access_token_for, require_account
from web.pages_activities import local

bp = Blueprint("volunteering", __name__)

STATUS_LABELS = SignupStatus.labels()
ACTIVITY_STATUS = {str(status): label for status, label in ACTIVITY_FOR_VOLUNTEERS.items()}


def _token() -> str:
    return access_token_for(require_account(), address=client_address())["access_token"]


def _api(method: str, path: str, **kwargs):
    return services_client.call("volunteers", method, path, token=_token(), **kwargs)


def _safe(target: str | None, fallback: str) -> str:
    ok = target and target.startswith("/") and not target.startswith("//")
    return target if ok else fallback


def _back_to_activity(activity_id: str) -> str:
    """Where a sign-up or its withdrawal returns: the page that posted it (``next``, a path on
    this site only), else the activity's volunteering page."""
    return _safe(
        request.form.get("next"), url_for("volunteering.activity", activity_id=activity_id)
    )


@bp.app_template_filter("volunteering_time")
def volunteering_time(moment, fmt: str = "%m月%d日 %H:%M") -> str:
    """Show an API time in the city's time zone, in the page's language."""
    return local(moment, fmt)


@bp.app_context_processor
def _helpers():
    def volunteering_state(activity_id: str):
        """The signed-in person's view of an activity's places and their sign-up, or None."""
        if not current_user.is_authenticated:
            return None
        try:
            return _api("GET", f"/api/v1/activities/{activity_id}/signups/me")
        except DomainError:
            return None

    return {
        "volunteering_state": volunteering_state,
        "SIGNUP_STATUS": STATUS_LABELS,
        "VOLUNTEERING_ACTIVITY_STATUS": ACTIVITY_STATUS,
    }


# ---- volunteers --------------------------------------------------------------------------


@bp.get("/volunteering/activities/<activity_id>")
@login_required
def activity(activity_id):
    """Sign up for an activity, see one's place or waitlist position, cancel."""
    state = _api("GET", f"/api/v1/activities/{activity_id}/signups/me")
    return render_template("volunteering_activity.html", state=state, activity=state["activity"])


@bp.post("/activities/<activity_id>/signup")
@login_required
def sign_up(activity_id):
    """Sign up (a place, or the waitlist) from the activity page."""
    back = _back_to_activity(activity_id)
    if not EmptyForm().validate_on_submit():
        return redirect(back)
    body: dict = {}
    if request.form.get("shift_id"):
        body["shift_id"] = request.form["shift_id"]
    try:
        body["party_size"] = int(request.form.get("party_size") or 1)
        signup = _api("POST", f"/api/v1/activities/{activity_id}/signups", json=body)
        if signup["status"] == "confirmed":
            flash(_("报名成功，你已获得名额"), "success")
        else:
            flash(
                _(
                    "名额已满，你已进入候补名单第 {n} 位，有人取消时会自动递补",
                    n=signup["waitlist_position"],
                ),
                "success",
            )
    except ValueError:
        flash(_("同行人数须为数字"), "error")
    except DomainError as error:
        flash(explain(error), "error")
    return redirect(back)


@bp.post("/activities/<activity_id>/signup/cancel")
@login_required
def cancel(activity_id):
    """Withdraw one's sign-up before the start."""
    back = _back_to_activity(activity_id)
    if EmptyForm().validate_on_submit():
        try:
            _api("DELETE", f"/api/v1/activities/{activity_id}/signups/me")
            flash(_("已取消报名"), "success")
        except DomainError as error:
            flash(explain(error), "error")
    return redirect(back)


@bp.get("/volunteering/me")
@login_required
def mine():
    """My activities: sign-ups, waitlist positions, upcoming, confirmed hours, certificate."""
    signups = _api("GET", "/api/v1/volunteers/me/signups", params={"per_page": 100})
    try:
        hours = _api("GET", "/api/v1/volunteers/me/hours")
    except DomainError:  # staff without a volunteer profile
        hours = {"total_hours": "0", "items": []}
    now = datetime.now(city_zone())
    upcoming, past, cancelled = [], [], []
    for item in signups["items"]:
        ends = datetime.fromisoformat(item["activity"]["ends_at"])
        if item["activity"]["status"] == "cancelled":
            cancelled.append(item)  # neither ahead of them nor taken part in
        else:
            (upcoming if ends >= now else past).append(item)
    upcoming.reverse()  # soonest first
    signed_up = {item["activity"]["activity_id"] for item in signups["items"]}
    walk_ins = [r for r in reversed(hours["items"]) if r["activity_id"] not in signed_up]
    return render_template(
        "volunteering_me.html",
        upcoming=upcoming,
        past=past,
        cancelled=cancelled,
        walk_ins=walk_ins,
        hours=hours,
    )


def _raw(path: str) -> tuple[int, bytes, str]:
    """Call the volunteers API for a file (status, bytes, content type)."""
    return services_client.fetch("volunteers", path, token=_token())


@bp.get("/volunteering/me/certificate.pdf")
@login_required
def certificate():
    """Download one's volunteer-hours certificate."""
    status, data, content_type = _raw("/api/v1/volunteers/me/certificate.pdf")
    if status != 200:
        flash(_("还没有经组织者确认的服务时长，暂不能开具证明"), "error")
        return redirect(url_for("volunteering.mine"))
    return file_answer(data, content_type, "shiliu-hours-certificate.pdf", inline=False)


@bp.get("/volunteering/verify/<code>")
def verify(code):
    """Anyone checks a certificate's verification code."""
    try:
        found = services_client.call("volunteers", "GET", f"/api/v1/hours-certificates/{code}")
    except DomainError as error:
        if error.status != 404:
            raise
        found = None
    return render_template("volunteering_verify.html", code=code, found=found), (
        200 if found else 404
    )


@bp.route("/volunteering/checkin/<activity_id>", methods=["GET", "POST"])
@login_required
def checkin(activity_id):
    """The page a scan of the live QR opens: one tap to confirm the check-in (the QR's scan
    token stays good for five minutes, through signing in), one tap to check out."""
    result, problem, status = None, None, 200
    code = request.values.get("code", "").strip()
    ask_code = False
    if request.method == "POST" and EmptyForm().validate_on_submit():
        body: dict = {"code": (request.form.get("code") or "").strip()}
        for name in ("latitude", "longitude"):
            try:
                body[name] = float(request.form[name]) if request.form.get(name) else None
            except ValueError:
                body[name] = None
        leaving = request.form.get("action") == "checkout"
        path = f"/api/v1/activities/{activity_id}/{'checkouts' if leaving else 'checkins'}"
        try:
            if leaving:
                body = {"code": body["code"]}
            result = _api("POST", path, json=body)
            result["message"] = _said(result, leaving)
        except DomainError as error:
            # A wait after wrong codes keeps its 429; any other refusal is the page's 409.
            problem, status = explain(error), 429 if error.status == 429 else 409
            code, ask_code = "", error.code == "checkout-closed"  # a refused code is not kept
    state = _api("GET", f"/api/v1/activities/{activity_id}/signups/me")
    return render_template(
        "volunteering_checkin.html",
        state=state,
        activity=state["activity"],
        code=code,
        scanned="-" in code,  # the QR's scan token (STEP-MAC), not 6 typed digits
        ask_code=ask_code,
        result=result,
        problem=problem,
    ), status


def _said(record: dict, leaving: bool) -> str:
    """What a check-in or check-out answer tells the volunteer, in the page's language."""
    time = local(record["checked_out_at"] if leaving else record["checked_in_at"], "%H:%M")
    if leaving:
        return (
            _("已于 {time} 签退", time=time)
            if record["already"]
            else _("签退成功（{time}）", time=time)
        )
    return (
        _("已于 {time} 签到", time=time)
        if record["already"]
        else _("签到成功（{time}）", time=time)
    )


# ---- organizers --------------------------------------------------------------------------


@bp.get("/volunteering/organize/<activity_id>/roster")
@login_required
def roster(activity_id):
    """The organizer's roster: places, then the waitlist in order; removal and hand check-in."""
    listing = _api("GET", f"/api/v1/activities/{activity_id}/signups", params={"per_page": 200})
    return render_template(
        "volunteering_organize_roster.html",
        roster=listing,
        activity=listing["activity"],
        walk_ins=_present(activity_id)["walk_ins"],
    )


def _present(activity_id: str) -> dict:
    """Who has checked in, and who of them walked in without a sign-up (the roster of sign-ups
    does not have them; the attendance table does)."""
    rows = _api("GET", f"/api/v1/activities/{activity_id}/attendance")["items"]
    here = [row for row in rows if row["checked_in_at"]]
    return {"checked_in": len(here), "walk_ins": [row for row in here if row["walk_in"]]}


@bp.post("/volunteering/organize/<activity_id>/signups/<signup_id>/remove")
@login_required
def remove(activity_id, signup_id):
    """Remove a sign-up with a reason."""
    if EmptyForm().validate_on_submit():
        try:
            _api(
                "POST",
                f"/api/v1/activities/{activity_id}/signups/{signup_id}/removal",
                json={"reason": (request.form.get("reason") or "").strip()},
            )
            flash(_("已移出名单"), "success")
        except DomainError as error:
            flash(explain(error), "error")
    return redirect(url_for("volunteering.roster", activity_id=activity_id))


@bp.post("/volunteering/organize/<activity_id>/checkins")
@login_required
def hand_checkin(activity_id):
    """Check someone in by hand (a resident without a phone)."""
    if EmptyForm().validate_on_submit():
        action = "checkouts" if request.form.get("action") == "checkout" else "checkins"
        try:
            record = _api(
                "POST",
                f"/api/v1/activities/{activity_id}/{action}",
                json={"volunteer_id": request.form.get("volunteer_id")},
            )
            flash(_said(record, action == "checkouts"), "success")
        except DomainError as error:
            flash(explain(error), "error")
    return redirect(
        _safe(request.form.get("next"), url_for("volunteering.roster", activity_id=activity_id))
    )


def _live_code(activity_id: str) -> dict:
    shown = _api("GET", f"/api/v1/activities/{activity_id}/checkin-code")
    url = request.host_url.rstrip("/") + shown["url"]
    qr = segno.make(url, error="m")
    # A viewBox and no size: the QR fills its box, a phone's or a projector's.
    svg = qr.svg_inline(scale=6, border=2, omitsize=True)
    present = _present(activity_id)
    return {
        **shown,
        "absolute_url": url,
        "qr_svg": svg,
        "window": _checkin_window(shown),
        "checked_in": present["checked_in"],
        "walked_in": len(present["walk_ins"]),
    }


def _checkin_window(shown: dict) -> str | None:
    """Whether check-in is not open yet ("not-open") or over ("closed"); None while it is open
    (the screen reloads itself when this changes)."""

    def moment(name: str) -> datetime:
        found = datetime.fromisoformat(shown[name])
        return found if found.tzinfo else found.replace(tzinfo=UTC)  # the services send UTC

    now = datetime.now(UTC)
    if moment("checkin_opens_at") > now:
        return "not-open"
    if moment("checkin_closes_at") < now:
        return "closed"
    return None


@bp.get("/volunteering/organize/<activity_id>/live")
@login_required
def live(activity_id):
    """The live code screen shown at the venue: QR and 6-digit code, refreshing themselves, and
    a warning while check-in is not open yet or is over."""
    listing = _api("GET", f"/api/v1/activities/{activity_id}/signups", params={"per_page": 1})
    shown = _live_code(activity_id)
    return render_template(
        "volunteering_live.html", shown=shown, activity=listing["activity"], window=shown["window"]
    )


@bp.get("/volunteering/organize/<activity_id>/live.json")
@login_required
def live_json(activity_id):
    """The current code and QR, for the live screen to refresh itself."""
    return jsonify(_live_code(activity_id))


@bp.route("/volunteering/organize/<activity_id>/attendance", methods=["GET", "POST"])
@login_required
def attendance(activity_id):
    """Review the attendance table, adjust hours with reasons, mark no-shows, confirm; the answer
    names who was confirmed, changed, marked absent and left unconfirmed (and why)."""
    errors: dict = {}
    table = _api("GET", f"/api/v1/activities/{activity_id}/attendance")
    if request.method == "POST" and EmptyForm().validate_on_submit():
        entries, no_shows, bad = [], [], {}
        for volunteer_id in request.form.getlist("volunteer_id"):
            if request.form.get(f"absent-{volunteer_id}"):
                no_shows.append(volunteer_id)
                continue
            raw = (request.form.get(f"hours-{volunteer_id}") or "").strip()
            if not raw:
                continue
            try:
                hours = Decimal(raw)
            except InvalidOperation:
                bad[volunteer_id] = [_("时长须为数字，以 0.5 小时为单位")]
                continue
            entry = {"volunteer_id": volunteer_id, "hours": str(hours)}
            reason = (request.form.get(f"reason-{volunteer_id}") or "").strip()
            if reason:
                entry["reason"] = reason
            entries.append(entry)
        try:
            if bad:
                raise DomainError(_("请检查填写的内容"), code="validation", errors=bad)
            summary = _api(
                "POST",
                f"/api/v1/activities/{activity_id}/attendance/confirm",
                json={"entries": entries, "no_shows": no_shows},
            )
            counted = _(
                "已确认：新确认 {a} 人，修改 {b} 人，缺席 {c} 人",
                a=summary["confirmed"],
                b=summary["corrected"],
                c=summary["no_shows"],
            )
            named, left = confirmation_report(table["items"], entries, no_shows)
            flash("；".join([counted, *named]), "success")
            if left:
                flash(left, "warning")
            return redirect(url_for("volunteering.attendance", activity_id=activity_id))
        except DomainError as error:
            errors = _field_errors(error)
            flash(explain(error), "error")
    suggest_hours(table)
    return render_template(
        "volunteering_attendance.html",
        table=table,
        activity=table["activity"],
        errors=errors,
        form=request.form if request.method == "POST" else {},
    ), (422 if errors else 200)


def _field_errors(error: DomainError) -> dict:
    """Per-volunteer messages from the API's answer (validation errors nest under json)."""
    found = error.errors or {}
    if "json" in found:
        found = {"": [_("请检查填写的时长（0 到 24 小时，以 0.5 小时为单位）")]}
    return {key: [render(m) for m in messages] for key, messages in found.items()}
