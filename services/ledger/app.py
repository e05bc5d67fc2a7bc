"""services/ledger: points rules, the points ledger, standings; awards and reports follow."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import make_api
from services.common.app import create_base_app
from services.ledger.api import blp

NAME = "ledger"


def create_app(config: Settings | None = None) -> Flask:
    """Create the ledger service app."""
    app = create_base_app(NAME, config, __name__)
    make_api(app, "石榴 ledger").register_blueprint(blp)
    return app
