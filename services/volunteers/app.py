"""services/volunteers: volunteer profiles, sign-ups, check-in and attendance."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import make_api
from services.common.app import create_base_app
from services.volunteers.api import blp

NAME = "volunteers"


def create_app(config: Settings | None = None) -> Flask:
    """Create the volunteers service app."""
    app = create_base_app(NAME, config, __name__)
    make_api(app, "石榴 volunteers").register_blueprint(blp)
    return app
