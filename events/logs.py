"""Structured logs: readable in development, JSON lines in production, with the correlation id."""

from __future__ import annotations

import logging
import sys

import structlog

_configured: str | None = None


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure(log_format: str = "console", level: str = "INFO", stream=None) -> None:
    """Configure structlog and the standard library to write one structured line per event."""
    global _configured
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream) if stream else _CurrentStderr()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_shiliu", False):
            root.removeHandler(old)
    handler._shiliu = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # kafka-python is chatty at INFO about every connection; keep its warnings.
    logging.getLogger("kafka").setLevel(logging.WARNING)
    logging.getLogger("waitress").setLevel(logging.WARNING)
    _configured = log_format
