"""The correlation id that follows one user action from HTTP request to event to consumer."""

from __future__ import annotations

import uuid

import structlog


def new_correlation_id() -> str:
    """Return a fresh correlation id."""
    return uuid.uuid4().hex


def correlation_id() -> str:
    """Return the correlation id bound to the current context, or a fresh one."""
    bound = structlog.contextvars.get_contextvars().get("correlation_id")
    return bound or new_correlation_id()


def bind_correlation_id(value: str | None) -> str:
    """Bind a correlation id (a fresh one when none is given) to logs and events from here on."""
    value = (value or "").strip()[:64] or new_correlation_id()
    structlog.contextvars.bind_contextvars(correlation_id=value)
    return value


def clear() -> None:
    """Forget everything bound to the current context."""
    structlog.contextvars.clear_contextvars()
