"""services/activities: the unit tree and activities."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.activities.api import activities, blp
from services.common.api import create_service_app

NAME = "activities"


def create_app(config: Settings | None = None) -> Flask:
    """Create the activities service app."""
    return create_service_app(NAME, config, __name__, blp, activities)
