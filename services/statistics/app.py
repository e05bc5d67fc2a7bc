"""services/statistics: counts for 考核 reports, fed by the topics."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import make_api
from services.common.app import create_base_app
from services.statistics.api import blp

NAME = "statistics"


def create_app(config: Settings | None = None) -> Flask:
    """Create the statistics service app."""
    app = create_base_app(NAME, config, __name__)
    api = make_api(app, "石榴 statistics")
    api.register_blueprint(blp)
    return app
