"""`shiliu`: the command line of the platform."""

from __future__ import annotations

import gc
import json
import threading

import click
from tqdm import tqdm

from events import logs
from events.settings import Settings
from infra.registry import PARTS


def _settings() -> Settings:
    return Settings.from_env()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """石榴 Shiliu: activities, volunteers, points and recognition for urban ethnic-unity work.

    Configuration comes from SHILIU_* environment variables (see the README).
    """
    # Collect the youngest objects every 50,000 allocations rather than every 700, and the
    # oldest a tenth as often: a consumer's transaction makes tens of thousands of short-lived
    # objects, and each collection walks them all again (at the defaults, about a seventh of the
    # ledger's ingest time). Objects without cycles are freed at once as ever.
    gc.set_threshold(50_000, 20, 100)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port of the one base URL.")
@click.option("--no-seed", is_flag=True, help="Do not load the demonstration city.")
@click.option(
    "--no-history", is_flag=True, help="Load the demonstration city without its recent past."
)
def dev(host: str, port: int, no_seed: bool, no_history: bool) -> None:
    """Run the whole platform on the embedded default (what `make run` does).

    Ctrl-C, SIGTERM or SIGHUP stop it after a drain (SHILIU_DRAIN_SECONDS, default 30): what is
    committed is published and applied first. A second signal stops at once; the next start
    publishes again whatever was left."""
    from infra.dev import run

    run(_settings(), host, port, seed=not no_seed, history=not no_history)


@main.command()
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

    settings = _settings()
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


@main.command()
@click.argument("parts", nargs=-1, type=click.Choice(sorted(PARTS)))
def republish(parts: tuple[str, ...]) -> None:
    """Publish every event of the parts' outboxes again (all of them if none is named):
    their relays send the whole history; consumers skip what they applied."""
    from sqlalchemy import update

    from events.store import outbox
    from services.common.db import make_engine, make_session_factory

    settings = _settings()
    for name in parts or sorted(PARTS):
        engine = make_engine(settings.database_url(name))
        try:
            with make_session_factory(engine)() as session, session.begin():
                marked = session.execute(update(outbox).values(sent_at=None)).rowcount
        finally:
            engine.dispose()
        click.echo(f"{name}: {marked} events to publish again")


@main.group()
def db() -> None:
    """Databases: migrations."""


@db.command("upgrade")
@click.option(
    "--service",
    type=click.Choice(sorted(PARTS)),
    multiple=True,
    help="Only these services (default: all).",
)
def db_upgrade(service: tuple[str, ...]) -> None:
    """Bring every service's database to its newest migration."""
    from services.common.db import upgrade

    settings = _settings()
    for name in tqdm(service or sorted(PARTS), desc="migrating", unit="service"):
        upgrade(name, settings.database_url(name))
    click.echo("databases are up to date")


@main.command()
def seed() -> None:
    """Load the demonstration city (idempotent)."""
    from infra.seed import seed_demo
    from services.common.db import make_engine, make_session_factory, upgrade

    settings = _settings()
    url = settings.database_url("activities")
    upgrade("activities", url)
    with tqdm(desc="demo units", unit="unit") as bar:
        created = seed_demo(make_session_factory(make_engine(url)), progress=bar.update)
    click.echo(f"created {created} units" if created else "the demonstration city is already there")


@main.group()
def accounts() -> None:
    """Accounts: the first administrator of an installation, scripted set-ups."""


@accounts.command("create")
@click.option("--username", required=True, help="The staff member's sign-in name.")
@click.option("--password", required=True, help="At least 8 characters with letters and digits.")
@click.option("--role", required=True, type=click.Choice(["admin", "organizer", "committee"]))
@click.option("--unit", "unit_id", required=True, help="The unit's id (or its path, e.g. /nb/bl/).")
@click.option("--name", default=None, help="Display name (default: the username).")
def accounts_create(
    username: str, password: str, role: str, unit_id: str, name: str | None
) -> None:
    """Create a staff account holding ROLE at a unit (and its whole subtree)."""
    from sqlalchemy import or_, select

    from services.common.db import make_engine, make_session_factory, upgrade
    from services.common.errors import DomainError
    from web import operations
    from web.models import UnitView

    settings = _settings()
    url = settings.database_url("web")
    upgrade("web", url)
    factory = make_session_factory(make_engine(url))
    try:
        with factory() as session, session.begin():
            place = session.scalar(
                select(UnitView).where(or_(UnitView.unit_id == unit_id, UnitView.path == unit_id))
            )
            if place is None:
                raise click.UsageError(
                    f"unit {unit_id} is not known to web yet: create it first and let the "
                    "platform run a moment (web learns units from the unit.* events)"
                )
            account = operations.create_staff_unchecked(
                session, username, name or username, password, role, place.unit_id
            )
    except DomainError as exc:
        details = "; ".join(m for msgs in (exc.errors or {}).values() for m in msgs)
        raise click.ClickException(f"{exc.detail}{': ' + details if details else ''}") from exc
    click.echo(f"created {role} {username} at {place.name} ({place.path}): {account.id}")


@main.group()
def events() -> None:
    """The event contract."""


@events.command("asyncapi")
@click.option("--indent", default=2, show_default=True)
def events_asyncapi(indent: int) -> None:
    """Print the AsyncAPI 3 document of every topic and event type."""
    from events.asyncapi import document

    click.echo(json.dumps(document(_settings().kafka_bootstrap), ensure_ascii=False, indent=indent))


@events.command("list")
def events_list() -> None:
    """List every event type with its topic and key."""
    from events import catalog

    for entry in catalog.all_types():
        click.echo(f"{entry.name:<26} v{entry.version}  {entry.topic:<18} key={entry.key_field}")


@main.command()
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

    settings = _settings()
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


@main.command()
@click.argument("url")
@click.option("--timeout", default=3.0, show_default=True, help="Seconds to wait for an answer.")
def probe(url: str, timeout: float) -> None:
    """Exit 0 if URL answers with a success status (container health checks)."""
    import requests

    try:
        status = requests.get(url, timeout=timeout).status_code
    except requests.RequestException as exc:
        raise click.ClickException(f"{url}: {type(exc).__name__}") from exc
    if status >= 400:
        raise click.ClickException(f"{url}: HTTP {status}")


@main.command()
@click.argument("service", type=click.Choice(sorted(PARTS)))
def ready(service: str) -> None:
    """Exit 0 if the service's database and the broker answer (worker health checks)."""
    from services.common.app import ServiceContext

    ctx = ServiceContext.create(service, _settings())
    try:
        report = ctx.readiness()
    finally:
        ctx.engine.dispose()
    if not report["ready"]:
        raise click.ClickException(json.dumps(report, ensure_ascii=False))


@main.group()
def gateway() -> None:
    """The production gateway (nginx) in front of every part."""


@gateway.command("config")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="Where to write it (default: infra/nginx/shiliu.conf.template; - for stdout).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the file is out of date.")
def gateway_config(output: str | None, check: bool) -> None:
    """Write the gateway's nginx configuration from the parts' URL maps."""
    import tempfile
    from pathlib import Path

    from infra.gateway import url_maps
    from infra.gateway_nginx import TEMPLATE, render

    with tempfile.TemporaryDirectory() as folder:
        text = render(url_maps(Settings.from_env({"SHILIU_DATA_DIR": folder})))
    if output == "-":
        click.echo(text, nl=False)
        return
    path = Path(output) if output else TEMPLATE
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if check:
        if current != text:
            raise click.ClickException(f"{path} is out of date: run `shiliu gateway config`")
        click.echo(f"{path} is up to date")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"{'unchanged' if current == text else 'wrote'} {path}")


@main.group()
def dlq() -> None:
    """Dead-letter topics: what consumers could not handle."""


@dlq.command("list")
@click.option("--topic", help="Only this topic's dead letters, e.g. shiliu.units.")
def dlq_list(topic: str | None) -> None:
    """List dead letters with their reasons."""
    from events.dlq import list_dead_letters

    letters = list_dead_letters(_settings(), topic)
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
        count = replay_dead_letters(_settings(), topic, progress=bar.update)
    click.echo(f"replayed {count} dead letters")


@main.command()
@click.argument("service", type=click.Choice(sorted(PARTS)))
@click.option("--relay/--no-relay", default=True, help="Run the service's outbox relay.")
@click.option("--consume/--no-consume", default=True, help="Run the service's consumer.")
def worker(service: str, relay: bool, consume: bool) -> None:
    """Run one service's outbox relay and consumer until interrupted (production containers)."""
    import signal

    from infra.workers import Workers
    from services.common.app import ServiceContext

    settings = _settings()
    logs.configure(settings.log_format)
    ctx = ServiceContext.create(service, settings)
    workers = Workers()
    workers.add(PARTS[service], ctx, relay=relay, consume=consume)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        workers.shutdown()


@main.group()
def ledger() -> None:
    """The points ledger: verify its hash chain, rebuild it from the event history."""


@ledger.command("verify")
def ledger_verify() -> None:
    """Walk the hash chain and check the standings totals against it; name the first altered,
    removed or inserted row, or a total that disagrees (exit 1 if any)."""
    from services.common.db import make_engine, make_session_factory
    from services.ledger import chain

    engine = make_engine(_settings().database_url("ledger"))
    try:
        with make_session_factory(engine)() as session:
            found = chain.verify(session)
            digest = chain.checksum(session)
    finally:
        engine.dispose()
    if found.ok:
        click.echo(f"ledger intact: {found.rows} rows, checksum {digest}")
        return
    problem = found.problem
    if problem.kind == "totals":
        click.echo(f"ledger rows intact, standings totals wrong: {problem.detail}")
        raise SystemExit(1)
    click.echo(
        f"ledger broken at row {problem.seq} ({problem.kind}"
        f"{', entry ' + problem.entry_id if problem.entry_id else ''}): {problem.detail}"
    )
    raise SystemExit(1)


@ledger.command("replay")
@click.option(
    "--into",
    "target_url",
    help="A fresh database URL for the rebuild (default: a new SQLite file in a temporary folder).",
)
@click.option(
    "--timeout", default=300.0, show_default=True, help="Seconds to wait for the event history."
)
@click.option(
    "--idle",
    default=15.0,
    show_default=True,
    help="Seconds without a new record after which the topics are taken to hold no more.",
)
def ledger_replay(target_url: str | None, timeout: float, idle: float) -> None:
    """Rebuild the ledger from the topics into a fresh database; print both SHA-256 checksums."""
    import tempfile
    from pathlib import Path

    from services.ledger.replay import rebuild

    settings = _settings()
    logs.configure(settings.log_format, level="WARNING")
    if not target_url:
        folder = Path(tempfile.mkdtemp(prefix="shiliu-ledger-replay-"))
        target_url = f"sqlite:///{folder / 'ledger.db'}"
    from kafka.errors import KafkaError

    from services.ledger.replay import IncompleteHistory

    try:
        with tqdm(desc="replaying", unit="event") as bar:
            result = rebuild(
                settings,
                settings.database_url("ledger"),
                target_url,
                timeout,
                progress=bar.update,
                idle_seconds=idle,
            )
    except IncompleteHistory as exc:
        raise click.ClickException(f"cannot rebuild: {exc}") from None
    except KafkaError as exc:
        raise click.ClickException(
            f"cannot rebuild: the broker at {settings.kafka_bootstrap} does not answer ({exc})"
        ) from None
    click.echo(
        f"rebuilt into {target_url}: {result.events} events, {result.adjustments} adjustments"
    )
    click.echo(f"live     {result.live_checksum}  ({result.live_rows} rows)")
    click.echo(f"rebuilt  {result.rebuilt_checksum}  ({result.rebuilt_rows} rows)")
    if not result.equal:
        click.echo("the checksums differ")
        raise SystemExit(1)
    click.echo("equal")


@main.group(invoke_without_command=True)
@click.option("--events", "count", default=50_000, show_default=True, help="Events per run.")
@click.option("--database-url", help="Run against this database (default: a fresh SQLite file).")
@click.pass_context
def bench(ctx: click.Context, count: int, database_url: str | None) -> None:
    """Benchmark the backbone against raw kafka-python on the same broker (see `make bench`);
    `shiliu bench checkins` and `shiliu bench ledger` benchmark check-ins and the ledger."""
    if ctx.invoked_subcommand is not None:
        return
    from infra.bench import run_backbone_bench

    logs.configure(_settings().log_format, level="WARNING")
    run_backbone_bench(count, database_url)


@bench.command("checkins")
@click.option("--volunteers", default=5_000, show_default=True, help="Check-ins per run.")
@click.option("--threads", default=8, show_default=True, help="Concurrent clients.")
@click.option("--database-url", help="Run against this database (default: a fresh SQLite file).")
def bench_checkins(volunteers: int, threads: int, database_url: str | None) -> None:
    """Check-ins through the API beside a bare Flask insert into the same database."""
    from infra.bench_checkins import run_checkin_bench

    logs.configure(_settings().log_format, level="WARNING")
    run_checkin_bench(volunteers, threads, database_url)


@bench.command("ledger")
@click.option("--events", "count", default=200_000, show_default=True, help="Attendance events.")
@click.option(
    "--volunteers", default=100_000, show_default=True, help="Volunteers in the district."
)
@click.option("--rows", default=1_000_000, show_default=True, help="Ledger rows for standings.")
@click.option("--queries", default=40, show_default=True, help="Standings queries per period.")
@click.option("--database-url", help="Ingest into this database (default: a fresh SQLite file).")
@click.option(
    "--standings-url",
    help="An empty ledger database for the standings benchmark (PostgreSQL; skipped if unset).",
)
@click.option(
    "--poll-records",
    default=500,
    show_default=True,
    help="Records per poll, for the ledger consumer and the baseline alike.",
)
@click.option("--skip-ingest", is_flag=True, help="Only the standings benchmark.")
def bench_ledger(
    count: int,
    volunteers: int,
    rows: int,
    queries: int,
    database_url: str | None,
    standings_url: str | None,
    poll_records: int,
    skip_ingest: bool,
) -> None:
    """Ledger ingest beside raw consume + bulk insert, and the standings of a district."""
    from infra.bench_ledger import run_ingest_bench, run_standings_bench

    logs.configure(_settings().log_format, level="WARNING")
    if not skip_ingest:
        run_ingest_bench(count, min(volunteers, max(1, count // 2)), database_url, poll_records)
    if standings_url:
        run_standings_bench(standings_url, volunteers, rows, queries)


if __name__ == "__main__":  # pragma: no cover
    main()
