"""web: the pages, sign-in and identity; the only app a browser talks to."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from events.settings import Settings
from services.common.api import make_api
from services.common.app import create_base_app, db, http_problem, translate_errors
from services.common.errors import DomainError, problem
from web import i18n
from web.api import blp as api_blueprint
from web.i18n import _
from web.models import Account
from web.pages import bp as pages_blueprint
from web.pages_points import bp as points_pages

NAME = "web"


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
    i18n.init_app(app)
    csrf = CSRFProtect(app)
    api = make_api(app, "石榴 web")
    api.register_blueprint(api_blueprint)
    csrf.exempt(api_blueprint)  # the JSON API takes bearer tokens or JSON bodies, never forms
    app.register_blueprint(pages_blueprint)
    app.register_blueprint(points_pages)

    login = LoginManager(app)
    login.login_view = "pages.login"
    login.login_message = None

    @login.user_loader
    def _load(account_id: str):
        return db().get(Account, account_id)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        if request.path.startswith("/api/"):
            errors = translate_errors(exc.errors, _)
            response = problem(exc.status, exc.code, _(exc.title), _(exc.detail), errors=errors)
            if getattr(exc, "retry_after", None):
                response.headers["Retry-After"] = str(exc.retry_after)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        return render_template("error.html", title=_(exc.title), detail=_(exc.detail)), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return http_problem(exc, translate=_)
        return render_template("error.html", title=exc.name, detail=exc.description), exc.code

    return app
