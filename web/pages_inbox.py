"""The inbox pages (issue 21): the unread count on every page, one's messages, a reminder's
one-tap answers, what one wants to be told, and administrators' view of the outside deliveries.

Every page reads and writes through services/notifications' API with the signed-in person's
own token; "来不了了" first cancels the sign-up through services/volunteers (the volunteer's own
cancel, as the activity page does), which gives the place to the first on the waitlist, and only
then records the answer. A notifications service that does not answer hides the badge and
leaves every other page as it was.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from services.common.auth import Forbidden
from services.common.errors import DomainError, Message
from services.notifications.kinds import ANSWERS, REMINDER_KINDS
from web import services_client
from web.api import client_address
from web.forms import EmptyForm
from web.i18n import _, explain, render
from web.identity import access_token_for, current_principal, require_account

bp = Blueprint("inbox", __name__)

PER_PAGE = 20
DELIVERY_STATES = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}
AUDIENCES = {
    "volunteers": "志愿者",
    "organizers": "组织者",
    "committee": "评审委员",
    "residents": "居民",
}


def _token() -> str:
    return access_token_for(require_account(), address=client_address())["access_token"]


def _notifications(method: str, path: str = "", **kwargs):
    return services_client.call(
        "notifications", method, "/api/v1/notifications" + path, token=_token(), **kwargs
    )


def _page() -> int:
    return max(1, min(request.args.get("page", 1, type=int), 100_000))


def words(item: dict) -> str:
    """A message's text in the page's language (the service's Chinese when it sent no meaning)."""
    found = item.get("message")
    if isinstance(found, dict) and isinstance(found.get("key"), str):
        return render(Message.from_meaning(found, text=item.get("text")))
    return item.get("text") or ""


@bp.app_context_processor
def _badge():
    def unread_messages() -> int | None:
        """How many of the signed-in person's messages are unread; None (no badge) when
        signed out or when the notifications service does not answer."""
        if not current_user.is_authenticated:
            return None
        try:
            return int(_notifications("GET", "/unread")["unread"])
        except (DomainError, KeyError, TypeError, ValueError):
            return None

    return {"unread_messages": unread_messages}


def _safe(target: str | None) -> str:
    ok = target and target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if ok else url_for("inbox.inbox")


@bp.get("/inbox")
@login_required
def inbox():
    """One's messages, newest first (unread ones marked), a page at a time."""
    only_unread = request.args.get("unread") == "1"
    params = {"page": _page(), "per_page": PER_PAGE}
    if only_unread:
        params["unread"] = "true"
    found = _notifications("GET", params=params)
    pages = max(1, -(-found["total"] // PER_PAGE))
    return render_template(
        "inbox.html",
        found=found,
        page=_page(),
        pages=pages,
        only_unread=only_unread,
        words=words,
        reminders=REMINDER_KINDS,
    )


@bp.get("/inbox/<notification_id>")
@login_required
def open_message(notification_id):
    """Open a message: it is marked read and one lands where it points (an activity's page)."""
    item = _notifications("POST", f"/{notification_id}/read")
    return redirect(_safe(item.get("link")))


@bp.post("/inbox/read-all")
@login_required
def read_all():
    """Mark every message read."""
    if EmptyForm().validate_on_submit():
        _notifications("POST", "/read-all")
        flash(_("已全部标为已读"), "success")
    return redirect(url_for("inbox.inbox"))


@bp.post("/inbox/<notification_id>/answer")
@login_required
def answer(notification_id):
    """A reminder's one-tap answer: 还会来, or 来不了了 (the sign-up is cancelled first, so the
    next on the waitlist gets the place)."""
    back = url_for("inbox.inbox")
    if not EmptyForm().validate_on_submit():
        return redirect(back)
    reply = request.form.get("answer")
    if reply not in ANSWERS:
        raise DomainError("请选择「还会来」或「来不了了」", code="bad-answer", status=400)
    item = _notifications("POST", f"/{notification_id}/read")
    if item["kind"] not in REMINDER_KINDS:
        flash(_("这条消息不需要回复"), "error")
        return redirect(back)
    if not item["answerable"] and not (item["answer"] == "coming" and reply == "not_coming"):
        flash(_("这条提醒已经不能回复了：活动已开始或你已回复过"), "warning")
        return redirect(back)
    title = (item.get("message") or {}).get("values", {}).get("title") or "—"
    if reply == "not_coming":
        try:
            services_client.call(
                "volunteers",
                "DELETE",
                f"/api/v1/activities/{item['activity_id']}/signups/me",
                token=_token(),
            )
        except DomainError as error:
            if error.code != "not-signed-up":  # no place held any more: the answer still holds
                flash(explain(error), "error")
                return redirect(back)
    try:
        _notifications("POST", f"/{notification_id}/answer", json={"answer": reply})
    except DomainError as error:
        flash(explain(error), "error")
        return redirect(back)
    if reply == "coming":
        flash(_("好的，到时见！你已回复还会来参加「{title}」", title=title), "success")
    else:
        flash(
            _("已取消你在「{title}」的报名，名额会让给候补的志愿者。谢谢你告诉我们", title=title),
            "success",
        )
    return redirect(back)


@bp.route("/inbox/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    """What one wants to be told: kinds on or off (not those that change where one must be),
    quiet hours for outside channels, outside channels at all."""
    chosen = _notifications("GET", "/preferences")
    if request.method == "POST" and EmptyForm().validate_on_submit():
        # A kind is on when its box is ticked; those one cannot turn off come as hidden fields
        # (a form without one asks to turn it off, which the service refuses).
        wanted = set(request.form.getlist("kinds"))
        body = {
            "muted_kinds": sorted({k["name"] for k in chosen["kinds"]} - wanted),
            "quiet_at_night": request.form.get("quiet_at_night") == "1",
            "outside_channels": request.form.get("outside_channels") == "1",
        }
        try:
            _notifications("PUT", "/preferences", json=body)
        except DomainError as error:
            flash(explain(error), "error")
            return _preferences_page(chosen, error.status)
        flash(_("消息设置已保存"), "success")
        return redirect(url_for("inbox.preferences"))
    return _preferences_page(chosen)


def _preferences_page(chosen: dict, status: int = 200):
    return (
        render_template("inbox_preferences.html", chosen=chosen, audiences=AUDIENCES),
        status,
    )


@bp.get("/admin/notifications")
@login_required
def admin_deliveries():
    """Messages on outside channels to people of the administrator's units: state, attempts
    with their times and errors, and the text that was (or would be) sent."""
    if not current_principal().paths("admin"):
        raise Forbidden("只有管理员可以访问此页面", code="admin-only")
    state = request.args.get("state") or None
    if state not in (None, *DELIVERY_STATES):
        raise DomainError("请选择待发送、已发送或发送失败", code="bad-state", status=400)
    params = {"page": _page(), "per_page": PER_PAGE, **({"state": state} if state else {})}
    found = _notifications("GET", "/deliveries", params=params)
    pages = max(1, -(-found["total"] // PER_PAGE))
    return render_template(
        "admin_notifications.html",
        found=found,
        state=state,
        page=_page(),
        pages=pages,
        states=DELIVERY_STATES,
        adapter=current_app.extensions["shiliu"].settings.notify_adapter,
    )
