"""`shiliu events`, `topics`, `dlq`, `reconcile` and `republish`: the commands of the event
backbone (assembled into `shiliu` by infra/cli.py)."""

from __future__ import annotations

import json
import threading

import click
from tqdm import tqdm

from events import logs
from events.settings import SERVICES, Settings


@click.group("events")
def events_group() -> None:
    """The event contract."""


@events_group.command("asyncapi")
@click.option("--indent", default=2, show_default=True)
def events_asyncapi(indent: int) -> None:
    """Print the AsyncAPI 3 document of every topic and event type."""
    from events.asyncapi import document

    click.echo(
        json.dumps(document(Settings.from_env().kafka_bootstrap), ensure_ascii=False, indent=indent)
    )


@events_group.command("list")
def events_list() -> None:
    """List every event type with its topic and key."""
    from events import catalog

    for entry in catalog.all_types():
        click.echo(f"{entry.name:<26} v{entry.version}  {entry.topic:<18} key={entry.key_field}")


@click.command()
@click.option("--create", is_flag=True, help="Create the topics that are missing.")
@click.option(
    "--replication-factor",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Replicas of each topic it creates (3 on a three-broker cluster).",
)
@click.option(
    "--retention-ms",
    default=-1,
    show_default=True,
    type=click.IntRange(min=-1),
    help="retention.ms of each topic it creates; -1 keeps every event forever, for replay.",
)
@click.option(
    "--wait",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds to wait for the broker to answer first.",
)
def topics(create: bool, replication_factor: int, retention_ms: int, wait: float) -> None:
    """List the Shiliu topics on the broker (and create missing ones)."""
    from events import kafka as kafka_clients

    settings = Settings.from_env()
    if wait:
        kafka_clients.wait_until_reachable(settings, wait)
    if create:
        created = kafka_clients.ensure_topics(
            settings, replication_factor, configs={"retention.ms": str(retention_ms)}
        )
        click.echo(f"created {len(created)} topics")
    client = kafka_clients.admin(settings)
    try:
        present = set(client.list_topics())
    finally:
        client.close()
    for name in kafka_clients.all_topics(settings):
        click.echo(f"{'✓' if name in present else '✗'} {name}")


@click.group("dlq")
def dlq() -> None:
    """Dead-letter topics: what consumers could not handle."""


@dlq.command("list")
@click.option("--topic", help="Only this topic's dead letters, e.g. shiliu.units.")
def dlq_list(topic: str | None) -> None:
    """List dead letters with their reasons."""
    from events.dlq import list_dead_letters

    letters = list_dead_letters(Settings.from_env(), topic)
    if not letters:
        click.echo("no dead letters")
        return
    for item in letters:
        state = "replayed" if item.replayed else "pending"
        click.echo(
            f"{item.dlq_topic}[{item.partition}]@{item.offset} {state} from {item.original_topic}"
            f"@{item.original_offset} by {item.consumer} at {item.failed_at}: {item.error}"
        )


@dlq.command("replay")
@click.option("--topic", help="Only this topic's dead letters, e.g. shiliu.units.")
def dlq_replay(topic: str | None) -> None:
    """Re-publish pending dead letters to their original topics, so consumers try again."""
    from events.dlq import replay_dead_letters

    with tqdm(desc="replaying", unit="event") as bar:
        count = replay_dead_letters(Settings.from_env(), topic, progress=bar.update)
    click.echo(f"replayed {count} dead letters")


@click.command()
@click.option(
    "--settle",
    default=30.0,
    show_default=True,
    help="Events committed less than this many seconds ago are in flight, not missing.",
)
@click.option("--redrive", is_flag=True, help="Publish the missing events again.")
@click.option("--show", default=20, show_default=True, help="Name at most this many events.")
@click.option(
    "--metrics-port",
    type=int,
    help="Instead: serve shiliu_events_missing for Prometheus on this port until stopped.",
)
@click.option(
    "--every", default=300.0, show_default=True, help="With --metrics-port: seconds between looks."
)
def reconcile(
    settle: float, redrive: bool, show: int, metrics_port: int | None, every: float
) -> None:
    """Compare, per event type, the events each producer committed with those each consumer
    applied; name the missing ones (exit 1) and, with --redrive, publish them again."""
    from events.reconcile import redrive as mark_unsent
    from infra.registry import reconciler

    settings = Settings.from_env()
    logs.configure(settings.log_format, level="WARNING")
    if metrics_port is not None:
        _serve_reconciliation(settings, settle, metrics_port, every)
        return
    checker = reconciler(settings)
    with tqdm(desc="reading outboxes", unit="event") as bar:
        report = checker.refresh(settle, progress=bar.update)
    click.echo(f"compared {report.checked} events with the consumers of their types")
    for (producer, consumer, event_type), count in sorted(report.counts().items()):
        click.echo(f"  missing {count:>6}  {event_type:<24} {producer} -> {consumer}")
    for gap in report.missing[:show]:
        click.echo(
            f"  {gap.event_id} {gap.event_type} committed {gap.created_at:%Y-%m-%d %H:%M:%S} "
            f"by {gap.producer}, not applied by {gap.consumer}"
        )
    if len(report.missing) > show:
        click.echo(f"  … and {len(report.missing) - show} more")
    click.echo(f"{len(report.missing)} missing, {len(report.in_flight)} in flight")
    if report.missing and redrive:
        marked = mark_unsent(checker.factories, report.missing)
        click.echo(f"{marked} events marked for publishing again: their relays send them now")
    if report.missing:
        raise SystemExit(1)


def _serve_reconciliation(settings: Settings, settle: float, port: int, every: float) -> None:
    """Serve the reconciliation gauge, reading the whole history again at most every ``every``
    seconds (a database restored from a dump can forget events it had applied)."""
    from prometheus_client import CollectorRegistry, start_http_server

    from infra.registry import reconciler
    from services.common.metrics import ReconcileCollector

    factories = reconciler(settings).factories
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        ReconcileCollector(
            lambda wait: reconciler(settings, factories).refresh(wait),
            settle=settle,
            cache_seconds=every,
        )
    )
    start_http_server(port, registry=registry)
    click.echo(f"shiliu_events_missing served at http://0.0.0.0:{port}/metrics (Ctrl-C stops)")
    threading.Event().wait()


@click.command()
@click.argument("parts", nargs=-1, type=click.Choice(sorted(SERVICES)))
def republish(parts: tuple[str, ...]) -> None:
    """Publish every event of the parts' outboxes again (all of them if none is named):
    their relays send the whole history; consumers skip what they applied."""
    from sqlalchemy import update

    from events.store import outbox
    from services.common.db import make_engine, make_session_factory

    settings = Settings.from_env()
    for name in parts or sorted(SERVICES):
        engine = make_engine(settings.database_url(name))
        try:
            with make_session_factory(engine)() as session, session.begin():
                marked = session.execute(update(outbox).values(sent_at=None)).rowcount
        finally:
            engine.dispose()
        click.echo(f"{name}: {marked} events to publish again")


COMMANDS = (events_group, topics, dlq, reconcile, republish)
