"""The pages: registration, sign-in, one's profile, and the administrator's units, accounts, audit."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user
from wtforms.fields.choices import SelectChoice

from services.common.app import db, transaction
from services.common.auth import Forbidden
from services.common.errors import DomainError
from web import devices, operations, services_client
from web.api import client_address, send_reset_code
from web.forms import (
    DisableForm,
    EmptyForm,
    ForgotForm,
    GrantForm,
    LoginForm,
    PasswordForm,
    ProfileForm,
    RegistrationForm,
    ResetForm,
    SearchForm,
    StaffForm,
    UnitChangeForm,
    UnitForm,
)
from web.i18n import _, explain, render
from web.identity import (
    access_token_for,
    current_principal,
    keep_signed_in,
    require_account,
    sign_in,
)
from web.models import Account

bp = Blueprint("pages", __name__)


def _show_errors(form, error: DomainError) -> None:
    """Put a domain error's per-field messages next to the fields, or flash it."""
    placed = False
    for name, messages in (error.errors or {}).items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors or []) + [render(m) for m in messages]
            placed = True
    if not placed:
        flash(explain(error), "error")


def _communities_and_teams():
    session = db()
    return operations.units(session, ("community",)), operations.units(session, ("volunteer_team",))


def _landing() -> str:
    """Where the signed-in person starts: staff at their desk (organizers and administrators at
    the activities they run, committee members at the selections), residents on their own page."""
    who = operations.principal_of(db(), current_user)
    if who.paths(("organizer", "admin")):
        return url_for("activities.dashboard")
    if who.paths("committee"):
        return url_for("awards.cycles")
    return url_for("pages.me")


def _safe_next(target: str | None) -> str:
    """The page to go to after signing in: a path of this site, else one's landing page.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    ``/%09/evil.example/`` would become ``//evil.example/``: any such character refuses the
    address outright, as does anything with a scheme or a host.
    """
    if not target or any(ch < " " or ch in "\\\x7f" for ch in target):
        return _landing()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return _landing()
    return target


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on their own: the pomegranate, kept as SVG in static/."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.get("/")
def home():
    """The front page, with the next few activities."""
    try:
        upcoming = services_client.call(
            "activities", "GET", "/api/v1/activities", params={"per_page": 5}
        )["items"]
    except DomainError:
        upcoming = []  # the page still works when the activities service does not answer
    return render_template("home.html", upcoming=upcoming)


@bp.route("/register", methods=["GET", "POST"])
def register():
    """A resident registers as a volunteer."""
    form = RegistrationForm()
    form.fill_choices(*_communities_and_teams())
    if form.is_submitted():
        data = form.checked(db(), operations.registration_problems)
        if data is not None:
            try:
                with transaction() as session:
                    account = operations.register_volunteer(session, data)
                sign_in(account)
                flash(_("注册成功，欢迎加入！"), "success")
                return redirect(_safe_next(request.args.get("next") or url_for("pages.me")))
            except DomainError as error:
                _show_errors(form, error)
    return render_template("register.html", form=form), (422 if form.errors else 200)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with a mobile number (or staff username) and password."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            device = devices.known_device()
            with transaction() as session:
                account = operations.authenticate(
                    session,
                    form.username.data,
                    form.password.data,
                    client_address(),
                    device=device,
                )
            if account is None:
                raise operations.wrong_credentials()
            sign_in(account)
            flash(_("已登录"), "success")
            response = redirect(_safe_next(request.args.get("next")))
            devices.remember_device(response, account, device)
            return response
        except DomainError as error:
            flash(explain(error), "error")
            status = error.status
    return render_template("login.html", form=form), status


@bp.post("/logout")
def logout():
    """Sign out."""
    if EmptyForm().validate_on_submit():
        logout_user()
        flash(_("已退出登录"), "success")
    return redirect(url_for("pages.home"))


@bp.route("/me", methods=["GET", "POST"])
@login_required
def me():
    """One's own account: full phone number, roles, volunteer profile (editable)."""
    account = require_account()
    profile = operations.load_profile(account)
    form = ProfileForm()
    form.fill_choices(*_communities_and_teams())
    if profile and request.method == "GET":
        form.name.data = account.display_name
        form.home_unit_id.data = profile["home_unit_id"]
        form.team_id.data = profile.get("team_id") or ""
        form.languages.data = "，".join(profile.get("languages") or [])
        form.ethnicity.data = profile.get("ethnicity") or ""
        form.ethnicity_consent.data = bool(profile.get("ethnicity_consent_at"))
    if profile and form.validate_on_submit():
        try:
            with transaction() as session:
                profile = operations.update_profile(session, account, form.profile())
            flash(_("资料已保存"), "success")
            return redirect(url_for("pages.me"))
        except DomainError as error:
            _show_errors(form, error)
    units = {u.unit_id: u for u in operations.units(db())}
    return render_template(
        "me.html",
        account=account,
        profile=profile,
        form=form,
        units=units,
        grants=operations.principal_of(db(), account).grants,
    )


@bp.route("/me/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's password."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            with transaction() as session:
                version = operations.change_password(
                    session, require_account(), form.current_password.data, form.new_password.data
                )
            keep_signed_in(version)
            flash(_("密码已修改，其他设备上的登录已退出"), "success")
            return redirect(url_for("pages.me"))
        except DomainError as error:
            _show_errors(form, error)
    return render_template("password.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
def password_forgot():
    """A volunteer who forgot their password asks for a code by SMS."""
    form = ForgotForm()
    status = 200
    if form.validate_on_submit():
        phone = form.username.data.strip()
        try:
            send_reset_code(phone, client_address())
            flash(_(operations.FORGOT_ANSWER), "success")
            return redirect(url_for("pages.password_reset", username=phone))
        except DomainError as error:
            flash(explain(error), "error")
            status = error.status
    elif form.errors:
        status = 422
    return render_template("password_forgot.html", form=form), status


@bp.route("/password/reset", methods=["GET", "POST"])
def password_reset():
    """Set a new password with a one-time code (from an administrator or by SMS)."""
    form = ResetForm()
    if request.method == "GET" and request.args.get("username"):
        form.username.data = request.args["username"][:64]
    status = 200
    if form.validate_on_submit():
        try:
            with transaction() as session:
                account = operations.redeem_password_reset(
                    session, form.username.data, form.code.data, form.new_password.data
                )
            if account is None:
                raise operations.wrong_reset_code()
            flash(_("密码已重设，请用新密码登录"), "success")
            return redirect(url_for("pages.login"))
        except DomainError as error:
            _show_errors(form, error)
            status = error.status
    elif form.errors:
        status = 422
    return render_template("password_reset.html", form=form), status


# ---- administration ----------------------------------------------------------------------


def _admin():
    who = current_principal()
    if not who.paths("admin"):
        raise Forbidden("只有管理员可以访问此页面", code="admin-only")
    return who


def _units_in_scope(who) -> list:
    paths = who.paths("admin")
    return [u for u in operations.units(db()) if any(u.path.startswith(p) for p in paths)]


def _unit_choices(units) -> list[SelectChoice]:
    """The units as options, indented by their depth in the tree."""
    return [SelectChoice(u.unit_id, "　" * (u.path.count("/") - 2) + u.name) for u in units]


@bp.route("/admin/units", methods=["GET", "POST"])
@login_required
def admin_units():
    """Add, rename and move units within the administrator's scope."""
    who = _admin()
    units = _units_in_scope(who)
    add, change = UnitForm(prefix="add"), UnitChangeForm(prefix="change")
    add.parent_id.choices = change.unit_id.choices = _unit_choices(units)
    change.parent_id.choices = [SelectChoice("", _("不移动"))] + _unit_choices(units)
    token = access_token_for(require_account())["access_token"]
    try:
        if "add-name" in request.form and add.validate_on_submit():
            services_client.call(
                "activities",
                "POST",
                "/api/v1/units",
                token=token,
                json={
                    "name": add.name.data.strip(),
                    "kind": add.kind.data,
                    "parent_id": add.parent_id.data,
                },
            )
            flash(_("单位已添加（各服务同步需要几秒钟）"), "success")
            return redirect(url_for("pages.admin_units"))
        if "change-unit_id" in request.form and change.validate_on_submit():
            body = {}
            if change.name.data and change.name.data.strip():
                body["name"] = change.name.data.strip()
            if change.parent_id.data:
                body["parent_id"] = change.parent_id.data
            services_client.call(
                "activities",
                "PATCH",
                f"/api/v1/units/{change.unit_id.data}",
                token=token,
                json=body,
            )
            flash(_("单位已更新（各服务同步需要几秒钟）"), "success")
            return redirect(url_for("pages.admin_units"))
    except DomainError as error:
        _show_errors(add if "add-name" in request.form else change, error)
    return render_template("admin_units.html", units=units, add=add, change=change)


@bp.route("/admin/accounts", methods=["GET", "POST"])
@login_required
def admin_accounts():
    """Find accounts and create staff accounts within the administrator's scope."""
    who = _admin()
    search = SearchForm(request.args)
    staff = StaffForm()
    staff.unit_id.choices = _unit_choices(_units_in_scope(who))
    if staff.validate_on_submit():
        try:
            from web.schemas import StaffCreate

            data = {
                f: getattr(staff, f).data
                for f in ("username", "name", "password", "role", "unit_id")
            }
            errors = StaffCreate().validate(data)
            if errors:
                raise DomainError("请检查填写的内容", code="validation", errors=errors)
            with transaction() as session:
                account = operations.create_staff(session, who, data)
            flash(_("工作人员账号已创建"), "success")
            return redirect(url_for("pages.admin_account", account_id=account.id))
        except DomainError as error:
            _show_errors(staff, error)
    found = operations.find_accounts(db(), who, search.q.data or "")
    return render_template("admin_accounts.html", search=search, staff=staff, found=found)


def _account_page(who, account, status: int = 200, **forms):
    """One account's page for an administrator: state, roles, password reset, granting."""
    units = _units_in_scope(who)
    form = forms.pop("form", None) or GrantForm()
    form.unit_id.choices = _unit_choices(units)
    if request.method == "GET" and account.home_unit_id in {u.unit_id for u in units}:
        form.unit_id.data = account.home_unit_id  # most roles are held at one's own community
    names = {u.unit_id: u.name for u in operations.units(db())}
    page = render_template(
        "admin_account.html",
        account=account,
        form=form,
        revoke=EmptyForm(),
        disable=forms.pop("disable", None) or DisableForm(),
        names=names,
        myself=account.id == who.account_id,
        **forms,
    )
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"  # a reset code may be on it
    return response


@bp.route("/admin/accounts/<account_id>", methods=["GET", "POST"])
@login_required
def admin_account(account_id):
    """One account: its state, its roles, granting and revoking them, disabling, reset codes."""
    who = _admin()
    session = db()
    account = operations.get_account(session, account_id)
    operations.ensure_in_scope(session, who, account)
    form = GrantForm()
    form.unit_id.choices = _unit_choices(_units_in_scope(who))
    if form.validate_on_submit():
        try:
            with transaction() as session:
                operations.grant_role(session, who, account.id, form.role.data, form.unit_id.data)
            flash(_("角色已授予"), "success")
            return redirect(url_for("pages.admin_account", account_id=account.id))
        except DomainError as error:
            _show_errors(form, error)
    return _account_page(who, account, form=form)


@bp.post("/admin/accounts/<account_id>/disable")
@login_required
def admin_disable(account_id):
    """Disable an account, with a reason."""
    who = _admin()
    account = operations.get_account(db(), account_id)
    operations.ensure_in_scope(db(), who, account)
    disable = DisableForm()
    if disable.validate_on_submit():
        try:
            with transaction() as session:
                operations.disable_account(session, who, account.id, disable.reason.data)
            flash(_("账号已停用，它的登录已全部退出"), "success")
            return redirect(url_for("pages.admin_account", account_id=account.id))
        except DomainError as error:
            _show_errors(disable, error)
            return _account_page(who, account, error.status, disable=disable)
    return _account_page(who, account, 422, disable=disable)


@bp.post("/admin/accounts/<account_id>/enable")
@login_required
def admin_enable(account_id):
    """Enable a disabled account again."""
    who = _admin()
    if EmptyForm().validate_on_submit():
        with transaction() as session:
            operations.enable_account(session, who, account_id)
        flash(_("账号已重新启用"), "success")
    return redirect(url_for("pages.admin_account", account_id=account_id))


@bp.post("/admin/accounts/<account_id>/password-reset")
@login_required
def admin_password_reset(account_id):
    """Make a one-time code for a new password and show it, once."""
    who = _admin()
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("pages.admin_account", account_id=account_id))
    with transaction() as session:
        issued = operations.issue_password_reset(session, who, account_id)
    account = operations.get_account(db(), account_id)
    return _account_page(who, account, issued=issued)


@bp.get("/admin/sms")
@login_required
def admin_sms():
    """Text messages the development SMS adapter kept, for administrators to read out."""
    messages = operations.sms_outbox(db(), _admin())
    response = make_response(render_template("admin_sms.html", messages=messages))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/admin/accounts/<account_id>/roles/<int:grant_id>/revoke")
@login_required
def admin_revoke(account_id, grant_id):
    """Revoke one role."""
    who = _admin()
    if EmptyForm().validate_on_submit():
        with transaction() as session:
            operations.revoke_role(session, who, account_id, grant_id)
        flash(_("角色已撤销"), "success")
    return redirect(url_for("pages.admin_account", account_id=account_id))


@bp.get("/admin/audit")
@login_required
def admin_audit():
    """The audit trail of the administrator's units."""
    who = _admin()
    page = max(1, request.args.get("page", 1, type=int))
    items, total = operations.audit_entries(db(), who, page, 50)
    ids = {e.actor_id for e in items} | {e.subject_id for e in items}
    people = {a.id: a.display_name for a in (db().get(Account, i) for i in ids if i) if a}
    return render_template(
        "admin_audit.html", items=items, total=total, page=page, per_page=50, people=people
    )
