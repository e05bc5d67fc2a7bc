"""services/notifications: each person's inbox, reminders and outside channels."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import create_service_app
from services.notifications.api import blp

NAME = "notifications"


def create_app(config: Settings | None = None) -> Flask:
    """Create the notifications service app."""
    return create_service_app(NAME, config, __name__, blp)
