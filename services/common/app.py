"""What every Shiliu Flask app shares: settings, database, errors, correlation ids, health."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

import structlog
from flask import Flask, current_app, g, jsonify, request
from flask.sessions import SessionInterface
from kafka.errors import KafkaError
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from events import context
from events import kafka as kafka_clients
from events.settings import Settings, require_strong_secret
from services.common import metrics
from services.common.access import AccessVersions
from services.common.db import make_engine, make_session_factory
from services.common.errors import DomainError, meanings, problem
from services.common.idempotency import record_key

log = structlog.get_logger(__name__)


class BrokerProbe:
    """Answers "is the broker reachable?", remembering the answer for a moment."""

    def __init__(self, settings: Settings, ttl: float = 2.0):
        self.settings = settings
        self.ttl = ttl
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._answer: tuple[bool, str] = (False, "not checked")

    def check(self) -> tuple[bool, str]:
        """Return (reachable, detail)."""
        with self._lock:
            if time.monotonic() - self._checked_at < self.ttl:
                return self._answer
            try:
                if not kafka_clients.listening(self.settings.kafka_bootstrap):
                    raise ConnectionRefusedError(self.settings.kafka_bootstrap)
                client = kafka_clients.admin(self.settings, request_timeout_ms=2000)
                try:
                    client.list_topics()
                    self._answer = (True, "ok")
                finally:
                    client.close()
            except (KafkaError, OSError) as exc:
                self._answer = (False, f"unreachable: {type(exc).__name__}")
            self._checked_at = time.monotonic()
            return self._answer


@dataclass
class ServiceContext:
    """One service's settings, database and broker probe, shared by its app and workers."""

    name: str
    settings: Settings
    engine: Engine
    session_factory: sessionmaker
    broker: BrokerProbe = field(repr=False)

    @classmethod
    def create(cls, name: str, settings: Settings) -> ServiceContext:
        """Connect to the service's database as the settings say."""
        engine = make_engine(settings.database_url(name))
        return cls(name, settings, engine, make_session_factory(engine), BrokerProbe(settings))

    def readiness(self) -> dict:
        """Check the database and the broker; return a JSON-able report."""
        report = {"database": "ok", "broker": "ok"}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            report["database"] = f"unreachable: {type(exc).__name__}"
        ok, detail = self.broker.check()
        report["broker"] = detail
        report["ready"] = report["database"] == "ok" and ok
        return report


def service_context(app: Flask | None = None) -> ServiceContext:
    """Return the ServiceContext of the current (or given) app."""
    return (app or current_app).extensions["shiliu"]


def db() -> Session:
    """Return this request's database session (closed when the request ends)."""
    if "db" not in g:
        g.db = service_context().session_factory()
    return g.db


@contextlib.contextmanager
def transaction():
    """This request's session, committed at the end of the block or rolled back on error."""
    session = db()
    try:
        record_key(session)  # an Idempotency-Key commits with the effect it guards
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


@contextlib.contextmanager
def connection_transaction():
    """This request's transaction on a Core connection, for a hot path that needs no ORM
    session: committed at the end of the block or rolled back on error."""
    with service_context().engine.connect() as connection:
        try:
            record_key(connection)  # as in transaction()
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise


HTTP_TITLES = {
    400: "请求无效",
    401: "请先登录",
    403: "没有权限",
    404: "未找到",
    405: "不支持此操作",
    409: "状态冲突",
    413: "内容太大",
    415: "请以 JSON 格式提交",
    429: "请求太频繁",
}

# In place of werkzeug's English descriptions, where an error carries its default one.
HTTP_DETAILS = {
    400: "请求无法处理，请检查提交的内容",
    404: "没有这个地址，请检查链接是否正确",
    405: "这个地址不支持这种请求方法",
    413: "提交的内容太大",
    415: "请以 JSON 格式提交（Content-Type: application/json）",
}


def translate_errors(errors, translate):
    """Translate every message of a per-field error map, however deeply it is nested."""
    if isinstance(errors, dict):
        return {key: translate_errors(value, translate) for key, value in errors.items()}
    if isinstance(errors, list):
        return [translate_errors(item, translate) for item in errors]
    return translate(errors) if isinstance(errors, str) else errors


def http_problem(exc: HTTPException, translate=lambda text: text):
    """Shape a werkzeug/flask-smorest HTTP error as problem+json (422 names each bad field)."""
    messages = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
    if exc.code == 422:
        title, detail = "请检查填写的内容", "有字段不符合要求，详见 errors"
    else:
        title, detail = HTTP_TITLES.get(exc.code, exc.name), exc.description
        if detail == type(exc).description and exc.code in HTTP_DETAILS:
            detail = HTTP_DETAILS[exc.code]
        if messages and exc.code == 400:
            detail = "请求无法处理，详见 errors"
    code = "validation" if exc.code == 422 else (exc.name or "error").lower().replace(" ", "-")
    return problem(
        exc.code or 500,
        code,
        translate(title),
        translate(detail),
        errors=translate_errors(messages, translate),
        message=detail,
        error_messages=meanings(messages) if messages else None,
    )


class NoCookieSessions(SessionInterface):
    """For a service that answers bearer tokens only: no request opens (or sets) a session
    cookie. (With SECRET_KEY set, Flask would otherwise decode one on every request.)"""

    def open_session(self, app, request):
        """Return None, so that Flask gives the request its read-only null session."""
        return None

    def save_session(self, app, session, response):
        """Nothing to save."""


def create_base_app(name: str, settings: Settings | None, import_name: str) -> Flask:
    """Create a Flask app with the shared behaviour; the service adds its own routes."""
    settings = settings or Settings.from_env()
    if settings.env == "production":
        require_strong_secret(settings.secret_key)
    app = Flask(import_name)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        JSON_SORT_KEYS=False,
        SHILIU_SERVICE=name,
    )
    app.json.ensure_ascii = False
    app.extensions["shiliu"] = ServiceContext.create(name, settings)
    app.extensions["shiliu_access"] = AccessVersions(app.extensions["shiliu"].engine)
    if settings.trusted_proxies:
        # Behind the gateway (and a TLS proxy): believe that many X-Forwarded-* hops.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    metrics.install(app, app.extensions["shiliu"])

    @app.before_request
    def _bind_correlation_id():
        context.clear()
        g.correlation_id = context.bind_correlation_id(request.headers.get("X-Correlation-ID"))
        structlog.contextvars.bind_contextvars(service=name)

    @app.after_request
    def _echo_correlation_id(response):
        if "correlation_id" in g:
            response.headers["X-Correlation-ID"] = g.correlation_id
        return response

    @app.after_request
    def _security_headers(response):
        # Every answer is what its Content-Type says (no sniffing a JSON body into HTML), is
        # never framed, and in production is only ever fetched over HTTPS again.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        if settings.env == "production":
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response

    @app.teardown_request
    def _close_session(_exc):
        session = g.pop("db", None)
        if session is not None:
            session.close()

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        response = problem(
            exc.status, exc.code, exc.title, exc.detail, errors=exc.errors, message=exc.message
        )
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not request.path.startswith("/api/"):
            return exc
        return http_problem(exc)

    app.extensions["shiliu_http_error"] = _http_error  # make_api puts it back over smorest's

    @app.get("/healthz")
    def healthz():
        """Alive."""
        return jsonify(status="alive", service=name)

    @app.get("/readyz")
    def readyz():
        """Ready: database and broker reachable."""
        report = service_context().readiness()
        return jsonify(service=name, **report), (200 if report["ready"] else 503)

    return app
