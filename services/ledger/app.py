"""services/ledger: points rules, the points ledger, standings, and 民族团结之星 award cycles."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import make_api
from services.common.app import create_base_app
from services.ledger.api import blp
from services.ledger.awards.api import cycles, honors

NAME = "ledger"


def create_app(config: Settings | None = None) -> Flask:
    """Create the ledger service app."""
    app = create_base_app(NAME, config, __name__)
    api = make_api(app, "石榴 ledger")
    for blueprint in (blp, cycles, honors):
        api.register_blueprint(blueprint)
    return app
