"""The development supervisor behind `make run`: broker, migrations, demo data, workers, web.

What it promises on the embedded default (the broker keeps nothing): a clean stop (Ctrl-C,
SIGTERM, SIGHUP) drains — requests stop, relays publish what is committed, consumers apply it —
for up to ``SHILIU_DRAIN_SECONDS``; a broker that dies is started again with the workers; and
whatever a stop, a crash or a broker's death leaves unapplied is published again at the next
start, because each relay finds a broker it has not published to (events/outbox.py).
"""

from __future__ import annotations

import signal
import threading
import time

import click
import structlog
from sqlalchemy import select
from waitress.server import create_server

from events import logs
from events.outbox import backlog
from events.reconcile import Report
from events.settings import Settings
from infra.broker import EmbeddedBroker
from infra.gateway import Gateway
from infra.registry import PARTS, SERVICES, WEB, reconciler
from infra.seed import demo_sign_ins, seed_demo, seed_demo_accounts, seed_demo_history
from infra.workers import Workers
from services.common import metrics
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
        self._watching = threading.Event()
        self._watcher: threading.Thread | None = None
        self._reconciler = None
        self._reconciling = threading.Lock()
        self.reconcile_gauge: metrics.ReconcileCollector | None = None  # on /metrics/web

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
        self._start_workers()
        self.reconcile_gauge = metrics.ReconcileCollector(
            lambda settle: self.unapplied(settle, full=True)
        )
        metrics.register(self.web, self.reconcile_gauge)
        if self.broker is not None:
            self._watcher = threading.Thread(
                target=self._watch_broker, name="broker-watch", daemon=True
            )
            self._watcher.start()
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

    def _contexts(self) -> dict:
        return {
            name: service_context(app) for name, app in {**self.apps, WEB.name: self.web}.items()
        }

    def _start_workers(self) -> None:
        self.workers = Workers()
        for name, ctx in self._contexts().items():
            self.workers.add(PARTS[name], ctx)

    def _watch_broker(self) -> None:
        """Start the embedded broker again when it dies, and the workers with it: the relays
        find a new broker and publish everything again, the consumers join their groups anew."""
        backoff = 0.0
        while not self._watching.wait(0.5):
            status = self.broker.exited()
            if status is None:
                continue
            log.error("the embedded broker stopped: starting it again", exit_status=status)
            self.workers.shutdown()
            try:
                self.broker.start()
            except Exception as exc:  # noqa: BLE001 - keep trying while the platform runs
                backoff = min(10.0, max(0.5, backoff * 2))
                log.error("the embedded broker did not start", error=str(exc), retry_in=backoff)
                self._watching.wait(backoff)
                continue
            backoff = 0.0
            if not self._watching.is_set():
                self._start_workers()
                log.info("embedded broker and workers started again")

    def unapplied(self, settle: float = 0.0, full: bool = False) -> Report:
        """What is committed and not yet applied by every consumer that should apply it,
        leaving out what a consumer has dead-lettered (events/reconcile.py); what is younger
        than ``settle`` seconds is in flight rather than missing. ``full`` reads the whole
        history again rather than what was added since the last look."""
        with self._reconciling:
            if full:
                self._reconciler = None
            return self._unapplied(settle)

    def _unapplied(self, settle: float) -> Report:
        if self._reconciler is None:
            factories = {name: ctx.session_factory for name, ctx in self._contexts().items()}
            self._reconciler = reconciler(self.settings, factories)
        runners = {runner.name: runner for runner in self.workers.consumers}

        def set_aside(consumer: str, event_id: str) -> bool:
            runner = runners.get(consumer)
            return runner is not None and event_id in runner.set_aside

        return self._reconciler.refresh(settle, set_aside=set_aside)

    def drain(self, timeout: float, progress=None) -> bool:
        """Wait up to ``timeout`` seconds until every committed event is published and applied;
        ``progress(to_publish, to_apply)`` is told each second. Return whether it drained."""
        deadline = time.monotonic() + timeout
        told = 0.0
        while True:
            to_publish = 0
            for ctx in self._contexts().values():
                with ctx.session_factory() as session:
                    to_publish += backlog(session)
            to_apply = len(self.unapplied().unapplied)
            if to_publish == 0 and to_apply == 0:
                return True
            now = time.monotonic()
            if now >= deadline:
                return False
            if progress is not None and now - told >= 1.0:
                progress(to_publish, to_apply)
                told = now
            time.sleep(0.2)

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
        """Stop watching the broker, stop the workers, then the broker."""
        self._watching.set()
        if self._watcher is not None:
            self._watcher.join(30)
        self.workers.shutdown()
        for app in [*self.apps.values(), self.web]:
            if app is not None:
                service_context(app).engine.dispose()
        if self.broker is not None:
            self.broker.stop()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run(settings: Settings, host: str, port: int, seed: bool = True, history: bool = True) -> None:
    """Run the whole platform until Ctrl-C, SIGTERM or SIGHUP, then drain and stop.

    The handlers are installed whatever the process inherited: a shell script that starts
    ``shiliu dev`` in the background leaves SIGINT ignored, and ``kill -INT`` must still stop it.
    A second signal (two seconds or more after the first) stops at once, without the drain."""
    logs.configure(settings.log_format)
    platform = Platform(settings)

    first: list[float] = []

    def _on_signal(_signum, _frame):
        # `make run` passes a signal on to its children: a second one within two seconds of
        # the first is the same stop, not a request to skip the drain.
        if first and time.monotonic() - first[0] < 2.0:
            return
        first.append(time.monotonic())
        raise KeyboardInterrupt

    for number in STOP_SIGNALS:
        signal.signal(number, _on_signal)
    server = None
    try:
        gateway = platform.start(seed=seed, history=history)
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
            ),
        )
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("\nStopping: no more requests; publishing and applying what is committed…")
        if server is not None:
            server.close()
            server.task_dispatcher.shutdown(cancel_pending=False, timeout=5)
        _drain(platform, settings.drain_seconds)
        platform.stop()
        click.echo("Stopped.")


def _drain(platform: Platform, seconds: float) -> None:
    """Let the backbone catch up before the broker, which keeps nothing, is stopped."""
    if not platform.workers.threads:
        return

    def progress(to_publish: int, to_apply: int) -> None:
        click.echo(f"  draining: {to_publish} to publish, {to_apply} to apply")

    try:
        drained = platform.drain(seconds, progress)
    except KeyboardInterrupt:
        click.echo("  not waiting (a second signal): the next start publishes the rest again")
        return
    except Exception as exc:  # noqa: BLE001 - a stop must go on; the next start re-drives
        click.echo(f"  could not drain ({exc}): the next start publishes the rest again")
        return
    if drained:
        click.echo("  drained: every committed event is published and applied")
    else:
        click.echo(f"  not drained after {seconds:.0f} s: the next start publishes the rest again")
