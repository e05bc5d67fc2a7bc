"""The development supervisor behind `make run`: broker, migrations, demo data, workers, web."""

from __future__ import annotations

import signal
import threading
import time

import click
import structlog
from sqlalchemy import select
from waitress.server import create_server

from events import logs
from events.settings import Settings
from infra.broker import EmbeddedBroker
from infra.gateway import Gateway
from infra.registry import PARTS, SERVICES, WEB
from infra.seed import demo_sign_ins, seed_demo, seed_demo_accounts, seed_demo_history
from infra.workers import Workers
from services.common.app import service_context
from services.common.db import upgrade

log = structlog.get_logger(__name__)


class Platform:
    """Every part of Shiliu in one process: the shape of the embedded default."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.broker: EmbeddedBroker | None = None
        self.workers = Workers()
        self.apps = {}
        self.web = None

    def start(self, seed: bool = True, history: bool = True) -> Gateway:
        """Start the broker (unless one is configured), migrate, seed, start workers.

        ``seed`` loads the demonstration city and its accounts; ``history`` (with ``seed``) also
        holds its past activities, so that its ledger has points to show."""
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if settings.embedded_broker:
            self.broker = EmbeddedBroker(
                settings, log_path=settings.data_dir / "broker.log"
            ).start()
        for name in PARTS:
            upgrade(name, settings.database_url(name))
        for name, part in SERVICES.items():
            self.apps[name] = part.create_app(settings)
        self.web = WEB.create_app(settings, services=self.apps)
        if seed:
            created = seed_demo(service_context(self.apps["activities"]).session_factory)
            if created:
                log.info("demonstration city loaded", units=created)
        for name, app in {**self.apps, WEB.name: self.web}.items():
            self.workers.add(PARTS[name], service_context(app))
        if seed:
            self._wait_for_units()
            created = seed_demo_accounts(self.web)
            if created:
                log.info("demonstration accounts created", accounts=created)
        if seed and history:
            held = seed_demo_history(self.apps, self.web, self._wait)
            if held:
                log.info("demonstration history held", activities=held)
        return Gateway(self.apps, self.web)

    def _wait_for_units(self) -> None:
        """Wait until web and volunteers have learnt the demo units from the broker."""
        from services.volunteers.models import UnitView as VolunteerUnit
        from web.models import UnitView as WebUnit

        for app, model in ((self.web, WebUnit), (self.apps["volunteers"], VolunteerUnit)):
            factory = service_context(app).session_factory

            def learnt(factory=factory, model=model):
                with factory() as session:
                    return session.scalar(
                        select(model.unit_id).where(model.path == "/nb/bl/xq/fc/")
                    )

            self._wait(learnt, "the demo units")

    @staticmethod
    def _wait(check, what: str, timeout: float = 60.0) -> None:
        """Wait until ``check()`` is true: a part has learnt ``what`` from the broker."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not arrive from the broker in {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop workers, then the broker."""
        self.workers.shutdown()
        for app in [*self.apps.values(), self.web]:
            if app is not None:
                service_context(app).engine.dispose()
        if self.broker is not None:
            self.broker.stop()


def run(settings: Settings, host: str, port: int, seed: bool = True) -> None:
    """Run the whole platform until Ctrl-C."""
    logs.configure(settings.log_format)
    platform = Platform(settings)
    stopping = threading.Event()
    server = None
    try:
        gateway = platform.start(seed=seed)
        server = create_server(gateway, host=host, port=port, threads=8)
        url = f"http://{host}:{port}"
        click.echo(
            "\n".join(
                [
                    "",
                    f"  石榴 Shiliu is running at {url}",
                    f"  health: {url}/healthz   readiness: {url}/readyz",
                    f"  data folder: {settings.data_dir.resolve()}   broker: {settings.kafka_bootstrap}",
                    "  demonstration sign-ins:",
                    *[f"    {line}" for line in demo_sign_ins()],
                    "  Ctrl-C stops everything.",
                    "",
                ]
            )
        )

        def _terminate(_signum, _frame):
            stopping.set()
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _terminate)
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("\nStopping…")
        if server is not None:
            server.close()
        platform.stop()
        click.echo("Stopped.")
