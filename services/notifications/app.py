"""services/notifications: each person's inbox, reminders and outside channels."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import make_api
from services.common.app import create_base_app
from services.notifications.api import blp

NAME = "notifications"


def create_app(config: Settings | None = None) -> Flask:
    """Create the notifications service app."""
    app = create_base_app(NAME, config, __name__)
    api = make_api(app, "石榴 notifications")
    api.register_blueprint(blp)
    return app
