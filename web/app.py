"""web: the pages, sign-in and identity; the only app a browser talks to."""

from __future__ import annotations

from flask import Flask, render_template

from events.settings import Settings
from services.common.app import create_base_app

NAME = "web"


def create_app(config: Settings | None = None) -> Flask:
    """Create the web app."""
    app = create_base_app(NAME, config, __name__)

    @app.get("/")
    def home():
        """The front page."""
        return render_template("home.html")

    return app
