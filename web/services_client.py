"""web's calls into the services: in-process when they run in the same process, HTTP otherwise."""

from __future__ import annotations

import json as _json

import requests
import structlog
from flask import current_app

from events.messages import Message, with_meanings
from services.common.auth import issue_token
from services.common.errors import DomainError

log = structlog.get_logger(__name__)


class ServiceUnavailable(DomainError, status=503, code="service-unavailable", title="服务暂不可用"):
    """A service did not answer; nothing was changed."""


def _base_url(service: str) -> str:
    """Where web finds a service in another process (``SHILIU_<SERVICE>_URL``, in Settings)."""
    return current_app.extensions["shiliu"].settings.service_urls[service]


def system_token() -> str:
    """A short-lived token for web's own calls (e.g. creating a volunteer profile)."""
    return issue_token(current_app.config["SECRET_KEY"], "web", name="web", system=True)


def _send(service: str, method: str, path: str, *, token, json=None, params=None, timeout=10):
    """The one way web reaches a service: with web's token (or the caller's), to its app in this
    process or over HTTP. Returns status, body bytes and content type; ServiceUnavailable when
    it does not answer."""
    headers = {"Authorization": f"Bearer {token or system_token()}"}
    in_process = current_app.config.get("SHILIU_SERVICE_APPS", {}).get(service)
    try:
        if in_process is not None:
            answer = in_process.test_client().open(
                path, method=method, json=json, query_string=params, headers=headers
            )
            return answer.status_code, answer.data, answer.content_type or ""
        answer = requests.request(
            method,
            _base_url(service) + path,
            json=json,
            params=params,
            headers=headers,
            timeout=timeout,
        )
        return answer.status_code, answer.content, answer.headers.get("Content-Type", "")
    except requests.RequestException as exc:
        log.warning("service unreachable", service=service, error=str(exc))
        raise ServiceUnavailable("服务暂时无法访问，请稍后再试") from exc


def call(service: str, method: str, path: str, *, token: str | None = None, json=None, params=None):
    """Call a service's API and return its JSON; a 4xx becomes the same DomainError here."""
    status, content, _type = _send(service, method, path, token=token, json=json, params=params)
    try:
        body = _json.loads(content) if content else None
    except ValueError as exc:  # a refusal without a problem body is still a refusal
        if status < 400:
            log.warning("service answered no JSON", service=service, status=status)
            raise ServiceUnavailable("服务暂时无法访问，请稍后再试") from exc
        body = None
    if status >= 500:
        log.warning("service failed", service=service, status=status)
        raise ServiceUnavailable("服务暂时无法处理，请稍后再试")
    if status >= 400:
        raise refusal(status, body)
    return body


def refusal(status: int, body: dict | None) -> DomainError:
    """A service's 4xx problem+json as the same DomainError here, its meaning kept: the detail's
    key and values (``message``) and those of each field's messages (``error_messages``)."""
    body = body or {}
    detail = body.get("detail") or body.get("title") or "请求无效"
    found = body.get("message")
    if isinstance(found, dict) and isinstance(found.get("key"), str):
        detail = Message.from_meaning(found, text=detail)
    return DomainError(
        detail,
        code=str(body.get("type", "error")).rsplit(":", 1)[-1],
        errors=with_meanings(body.get("errors"), body.get("error_messages")),
        status=status,
        title=body.get("title"),
    )


def fetch(service: str, path: str, *, token: str | None = None) -> tuple[int, bytes, str]:
    """GET a file from a service's API (a PDF, a spreadsheet): status, bytes, content type."""
    return _send(service, "GET", path, token=token, timeout=30)
