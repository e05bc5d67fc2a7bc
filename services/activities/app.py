"""services/activities: the unit tree and activities."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.activities.api import activities, blp
from services.common.api import make_api
from services.common.app import create_base_app

NAME = "activities"


def create_app(config: Settings | None = None) -> Flask:
    """Create the activities service app."""
    app = create_base_app(NAME, config, __name__)
    api = make_api(app, "石榴 activities")
    api.register_blueprint(blp)
    api.register_blueprint(activities)
    return app
