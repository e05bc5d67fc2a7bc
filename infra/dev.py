"""The development supervisor behind `make run`: broker, migrations, demo data, workers, web."""

from __future__ import annotations

import signal
import threading

import click
import structlog
from waitress.server import create_server

from events import logs
from events.settings import Settings
from infra.broker import EmbeddedBroker
from infra.gateway import Gateway
from infra.registry import SERVICES, WEB
from infra.seed import seed_demo
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

    def start(self, seed: bool = True) -> Gateway:
        """Start the broker (unless one is configured), migrate, seed, start workers."""
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if settings.embedded_broker:
            self.broker = EmbeddedBroker(
                settings, log_path=settings.data_dir / "broker.log"
            ).start()
        for name, part in SERVICES.items():
            upgrade(name, settings.database_url(name))
            self.apps[name] = part.create_app(settings)
        self.web = WEB.create_app(settings)
        if seed:
            created = seed_demo(service_context(self.apps["activities"]).session_factory)
            if created:
                log.info("demonstration city loaded", units=created)
        for name, part in SERVICES.items():
            self.workers.add(part, service_context(self.apps[name]))
        return Gateway(self.apps, self.web)

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
