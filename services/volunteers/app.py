"""services/volunteers: volunteer profiles, sign-ups, check-in and attendance."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import make_api
from services.common.app import NoCookieSessions, create_base_app
from services.volunteers.api import blp, certificates, signups

NAME = "volunteers"


def create_app(config: Settings | None = None) -> Flask:
    """Create the volunteers service app."""
    app = create_base_app(NAME, config, __name__)
    app.session_interface = NoCookieSessions()
    api = make_api(app, "石榴 volunteers")
    for blueprint in (blp, signups, certificates):
        api.register_blueprint(blueprint)
    return app
