"""The parts of Shiliu: each service's app factory, migrations and event handlers."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from events.settings import Settings


@dataclass(frozen=True)
class Part:
    """One deployable part: an HTTP app, optionally with its outbox relay and consumer."""

    name: str
    package: str
    reader_process: bool = False  # its consumer polls in a process of its own (events/reader.py)
    scheduler: bool = False  # its worker also runs ``<package>.scheduler.Scheduler`` (a clock)

    def create_app(self, settings: Settings, **kwargs):
        """Create the part's Flask app."""
        return importlib.import_module(f"{self.package}.app").create_app(settings, **kwargs)

    def handlers(self) -> dict:
        """Return the part's consumer handlers by event type."""
        return importlib.import_module(f"{self.package}.handlers").HANDLERS

    def make_scheduler(self, ctx):
        """The part's clock (reminders and deliveries that are due), if it has one."""
        if not self.scheduler:
            return None
        module = importlib.import_module(f"{self.package}.scheduler")
        return module.Scheduler(ctx.session_factory, ctx.settings)

    def group_id(self, settings: Settings) -> str:
        """Return the consumer group of the part (prefixed like the topics)."""
        return f"{settings.topic_prefix}shiliu-{self.name}"


SERVICES = {
    part.name: part
    for part in (
        Part("activities", "services.activities"),
        Part("volunteers", "services.volunteers"),
        Part("ledger", "services.ledger", reader_process=True),
        Part("notifications", "services.notifications", scheduler=True),
        Part("statistics", "services.statistics", reader_process=True),
    )
}
WEB = Part("web", "web")
PARTS = {**SERVICES, WEB.name: WEB}


def reconciler(settings: Settings, factories: dict | None = None):
    """A reconciler over every part (events/reconcile.py), on the settings' databases or the
    given session factories by part."""
    from events.reconcile import Reconciler
    from services.common.db import make_engine, make_session_factory

    if factories is None:
        factories = {
            name: make_session_factory(make_engine(settings.database_url(name))) for name in PARTS
        }
    handled = {name: tuple(part.handlers()) for name, part in PARTS.items()}
    return Reconciler(factories, {name: types for name, types in handled.items() if types})
