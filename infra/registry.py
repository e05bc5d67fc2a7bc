"""The parts of Shiliu: each service's app factory, migrations and event handlers."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from events.settings import Settings


@dataclass(frozen=True)
class Part:
    """One deployable part: an HTTP app, optionally with its outbox relay and consumer."""

    name: str
    app_module: str
    migrated: bool = True
    consumes: bool = True

    def create_app(self, settings: Settings):
        """Create the part's Flask app."""
        return importlib.import_module(self.app_module).create_app(settings)

    def handlers(self) -> dict:
        """Return the part's consumer handlers by event type."""
        if not self.consumes:
            return {}
        return importlib.import_module(f"services.{self.name}.handlers").HANDLERS

    def group_id(self, settings: Settings) -> str:
        """Return the consumer group of the part (prefixed like the topics)."""
        return f"{settings.topic_prefix}shiliu-{self.name}"


SERVICES = {
    part.name: part
    for part in (
        Part("activities", "services.activities.app"),
        Part("volunteers", "services.volunteers.app"),
        Part("ledger", "services.ledger.app"),
    )
}
WEB = Part("web", "web.app", migrated=False, consumes=False)
