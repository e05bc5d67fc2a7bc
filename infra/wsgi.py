"""WSGI entry points for gunicorn, one per part: ``gunicorn 'infra.wsgi:create("activities")'``.

Parts: ``activities``, ``volunteers``, ``ledger`` and ``web`` (their Flask apps) and ``gateway``
(the reverse proxy in front of them). Everything else comes from ``SHILIU_*`` variables.
"""

from __future__ import annotations

from events import logs
from events.settings import Settings
from infra.proxy import ProxyGateway
from infra.registry import SERVICES, WEB

GATEWAY = "gateway"
PARTS = (*SERVICES, WEB.name, GATEWAY)


def create(part: str):
    """Return the WSGI app of one part, configured from the environment."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; expected one of {', '.join(PARTS)}")
    settings = Settings.from_env()
    logs.configure(settings.log_format)
    if part == GATEWAY:
        return ProxyGateway.from_env()
    return (SERVICES.get(part) or WEB).create_app(settings)
