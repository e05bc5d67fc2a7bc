"""Domain errors with stable machine codes, and their HTTP form (application/problem+json)."""

from __future__ import annotations

from flask import Response, json


class DomainError(Exception):
    """A rule said no. ``code`` is stable for machines; ``title`` and ``detail`` are for people.

    ``detail`` may be a message template with ``{names}`` filled from ``values``, so that web can
    translate the template and fill it in afterwards.
    """

    status = 400
    code = "invalid"
    title = "请求无效"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: dict | None = None,
        status: int | None = None,
        title: str | None = None,
        values: dict | None = None,
    ):
        self.values = values or {}
        super().__init__(detail.format(**self.values) if self.values else detail)
        self.template = detail
        self.detail = str(self)
        self.errors = errors
        if code:
            self.code = code
        if status:
            self.status = status
        if title:
            self.title = title


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status = 404
    code = "not-found"
    title = "未找到"


class Conflict(DomainError):
    """The request does not fit the current state of the thing."""

    status = 409
    code = "conflict"
    title = "状态冲突"


def problem(
    status: int, code: str, title: str, detail: str | None = None, errors: dict | None = None
) -> Response:
    """Return an application/problem+json response."""
    body = {"type": f"urn:shiliu:problem:{code}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )
