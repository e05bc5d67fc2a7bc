"""services/volunteers: volunteer profiles, sign-ups, check-in and attendance."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import create_service_app
from services.common.app import NoCookieSessions
from services.volunteers.api import blp, certificates, signups

NAME = "volunteers"


def create_app(config: Settings | None = None) -> Flask:
    """Create the volunteers service app."""
    app = create_service_app(NAME, config, __name__, blp, signups, certificates)
    app.session_interface = NoCookieSessions()
    return app
