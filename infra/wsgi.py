"""WSGI entry points for gunicorn, one per part: ``gunicorn 'infra.wsgi:create("activities")'``.

Parts: ``activities``, ``volunteers``, ``ledger`` and ``web`` (their Flask apps); nginx is the
gateway in front of them (``infra/nginx/``). Everything else comes from ``SHILIU_*`` variables.
"""

from __future__ import annotations

from events import logs
from events.settings import Settings
from infra.registry import SERVICES, WEB

PARTS = (*SERVICES, WEB.name)


def create(part: str):
    """Return the WSGI app of one part, configured from the environment."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; expected one of {', '.join(PARTS)}")
    settings = Settings.from_env()
    logs.configure(settings.log_format)
    return (SERVICES.get(part) or WEB).create_app(settings)
