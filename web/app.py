"""web: the pages, sign-in and identity; the only app a browser talks to."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from events.settings import Settings
from services.common.api import make_api
from services.common.app import (
    create_base_app,
    db,
    http_problem,
    service_context,
)
from services.common.errors import DomainError, meanings, problem
from web import i18n, openapi, operations, sms
from web.api import blp as api_blueprint
from web.api import internal as internal_api
from web.i18n import _, explain, render, render_errors
from web.identity import session_account
from web.pages import bp as pages_blueprint
from web.pages_activities import bp as activity_pages
from web.pages_awards import bp as award_pages
from web.pages_inbox import bp as inbox_pages
from web.pages_points import bp as points_pages
from web.pages_sharing import bp as sharing_pages
from web.pages_stats import bp as stats_pages
from web.pages_volunteering import bp as volunteering_blueprint
from web.readiness import bp as readiness_blueprint

NAME = "web"

# What a person sees when a page cannot be shown (werkzeug's own names are English).
PAGE_ERRORS = {
    400: ("请求无效", "请返回上一页重新操作。"),
    403: ("没有权限", "你的账号不能访问这个页面。"),
    404: ("页面不存在", "请检查网址，或回到首页。"),
    405: ("不支持这种操作", "请返回上一页重新操作。"),
    429: ("尝试次数过多", "请稍后再试。"),
}


# What the pages may load: only this site's own scripts, styles, images and fonts (QR codes are
# inline SVG; Swagger UI draws some icons from data: URIs). No inline script, handler or style
# attribute is allowed, and no other site may frame a page.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Swagger UI (the API's interactive page, no user content on it) sets inline styles as it draws.
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    # The check-in page's address holds the live code: never tell another site where one came from.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=(), payment=()",
}


def create_app(config: Settings | None = None, services: dict[str, Flask] | None = None) -> Flask:
    """Create the web app; ``services`` are the service apps when they run in this process."""
    app = create_base_app(NAME, config, __name__)
    settings = app.extensions["shiliu"].settings
    app.config.update(
        SHILIU_SERVICE_APPS=services or {},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
    )
    # The SMS adapter (SHILIU_SMS_ADAPTER), made once: a wrong name stops web from starting.
    app.extensions["shiliu_sms"] = sms.sender(
        settings.sms_adapter, service_context(app).session_factory
    )
    i18n.init_app(app)
    csrf = CSRFProtect(app)
    api = make_api(app, "石榴 web")
    api.register_blueprint(api_blueprint)
    api.register_blueprint(internal_api)
    csrf.exempt(api_blueprint)  # the JSON API takes bearer tokens or JSON bodies, never forms
    app.register_blueprint(pages_blueprint)
    app.register_blueprint(activity_pages)
    app.register_blueprint(sharing_pages)
    openapi.init_app(app)
    app.register_blueprint(volunteering_blueprint)
    app.register_blueprint(points_pages)
    app.register_blueprint(award_pages)
    app.register_blueprint(inbox_pages)
    app.register_blueprint(stats_pages)
    app.register_blueprint(readiness_blueprint)  # the gateway's /readyz

    @app.after_request
    def _page_headers(response):
        """Every answer of web carries the pages' security headers (nosniff and HSTS come from
        the shared app set-up)."""
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith(openapi.DOCS):
            response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

    login = LoginManager(app)
    login.login_view = "pages.login"
    login.login_message = None

    @login.user_loader
    def _load(account_id: str):
        return session_account(account_id)

    @app.context_processor
    def _navigation():
        """What the navigation offers: 管理 only to administrators, 评选 to committee members and
        administrators (from their current grants)."""
        is_admin = is_organizer = is_committee = is_staff = False
        if current_user.is_authenticated:
            who = operations.principal_of(db(), current_user)
            is_admin = bool(who.paths("admin"))
            is_organizer = bool(who.paths(("organizer", "admin")))
            is_committee = bool(who.paths(("committee", "admin")))
            is_staff = bool(who.paths(("organizer", "committee", "admin")))
        return {
            "is_admin": is_admin,
            "is_organizer": is_organizer,
            "is_committee": is_committee,
            "is_staff": is_staff,
        }

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        if request.path.startswith("/api/"):
            response = problem(
                exc.status,
                exc.code,
                _(exc.title),
                explain(exc),
                errors=render_errors(exc.errors),
                message=exc.message,
                error_messages=meanings(exc.errors) if exc.errors else None,
            )
            if getattr(exc, "retry_after", None):
                response.headers["Retry-After"] = str(exc.retry_after)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        detail = explain(exc)
        title = exc.title
        if title == DomainError.title and exc.status in PAGE_ERRORS:
            # No title of its own: every 403 page says 没有权限, every 404 页面不存在.
            title = PAGE_ERRORS[exc.status][0]
        return render_template("error.html", title=_(title), detail=detail), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return http_problem(exc, translate=render)
        if isinstance(exc, CSRFError):
            title, detail = "页面已过期", "为了安全，表单需要重新提交：请返回上一页，刷新后再试。"
        else:
            title, detail = PAGE_ERRORS.get(exc.code, ("出错了", "请稍后再试，或回到首页。"))
        return render_template("error.html", title=_(title), detail=_(detail)), exc.code

    return app
