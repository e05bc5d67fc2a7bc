"""services/volunteers."""

from __future__ import annotations

from flask import Flask

from events.settings import Settings
from services.common.app import create_base_app

NAME = "volunteers"


def create_app(config: Settings | None = None) -> Flask:
    """Create the volunteers service app."""
    return create_base_app(NAME, config, __name__)
