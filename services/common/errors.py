"""Domain errors with stable machine codes, and their HTTP form (application/problem+json).

A refusal carries its meaning, not only its prose: ``key`` (the catalog's msgid, the Chinese
template with ``{names}``) and ``values``. The problem+json body has ``detail`` (the filled
Chinese text, for API clients and people) and ``message`` (``{"key", "values"}``); a validation
error's per-field ``errors`` have ``error_messages`` of the same shape beside them, each message
as ``{"key", "values"}``. web shows both in the page's language from the key and values.
"""

from __future__ import annotations

from flask import Response, json

from events.messages import Message, meaning, meanings

__all__ = ["Conflict", "DomainError", "Message", "NotFound", "meaning", "meanings", "problem"]


class DomainError(Exception):
    """A rule said no. ``code`` is stable for machines; ``title`` and ``detail`` are for people.

    ``detail`` is given as a message template with ``{names}`` filled from ``values`` (or as a
    ``Message``): ``key`` and ``values`` keep its meaning, ``detail`` is the filled Chinese text.
    A value that is itself words to translate (a status name) is given as a ``Message``.
    """

    status = 400
    code = "invalid"
    title = "请求无效"

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, title: str | None = None
    ):
        """A kind of refusal states its HTTP status, code and title where it is named:
        ``class NotFound(DomainError, status=404, code="not-found", title="未找到")``; what it
        leaves out it inherits."""
        super().__init_subclass__()
        for name, value in (("status", status), ("code", code), ("title", title)):
            if value is not None:
                setattr(cls, name, value)

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
        if values or not isinstance(detail, Message):
            detail = Message(detail, values)
        super().__init__(str(detail))
        self.message = detail
        self.key, self.values = detail.key, detail.values
        self.detail = str(detail)
        self.errors = errors
        if code:
            self.code = code
        if status:
            self.status = status
        if title:
            self.title = title


class NotFound(DomainError, status=404, code="not-found", title="未找到"):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Conflict(DomainError, status=409, code="conflict", title="状态冲突"):
    """The request does not fit the current state of the thing."""


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    errors: dict | None = None,
    message: str | None = None,
    error_messages: dict | None = None,
) -> Response:
    """Return an application/problem+json response. ``message`` is the detail's meaning (a
    ``Message``, or the detail itself), ``error_messages`` those of ``errors`` (by default each
    message of ``errors`` brings its own): given when detail and errors are translated already."""
    body = {"type": f"urn:shiliu:problem:{code}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
        body["message"] = meaning(message if message is not None else detail)
    if errors:
        body["errors"] = errors
        body["error_messages"] = meanings(errors) if error_messages is None else error_messages
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )
