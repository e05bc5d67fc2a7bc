"""services/ledger: points rules, the points ledger, standings, and 民族团结之星 award cycles."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.api import create_service_app
from services.ledger.api import blp
from services.ledger.awards.api import cycles, honors

NAME = "ledger"


def create_app(config: Settings | None = None) -> Flask:
    """Create the ledger service app."""
    return create_service_app(NAME, config, __name__, blp, cycles, honors)
