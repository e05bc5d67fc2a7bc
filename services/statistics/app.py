"""services/statistics: counts for 考核 reports, fed by the topics."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import create_service_app
from services.statistics.api import blp

NAME = "statistics"


def create_app(config: Settings | None = None) -> Flask:
    """Create the statistics service app."""
    return create_service_app(NAME, config, __name__, blp)
