"""`shiliu dev`, `seed`, `db`, `worker`, `probe`, `ready`, `gateway` and `bench`: the commands
that start, migrate, seed, check and measure the platform (assembled into `shiliu` by
infra/cli.py)."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace

import click
from tqdm import tqdm

from events import logs
from events.settings import Settings
from infra.registry import PARTS


@click.command()
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

    run(served_settings(host, port), host, port, seed=not no_seed, history=not no_history)


def served_settings(host: str, port: int, env: dict[str, str] | None = None) -> Settings:
    """The settings of `shiliu dev` serving at host:port: unless SHILIU_PUBLIC_URL says
    otherwise, documents point to where it serves."""
    env = dict(os.environ if env is None else env)
    settings = Settings.from_env(env)
    if env.get("SHILIU_PUBLIC_URL", "").strip():
        return settings
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    return replace(settings, public_url=f"http://{shown}:{port}")


@click.command()
def seed() -> None:
    """Load the demonstration city (idempotent)."""
    from infra.seed import seed_demo
    from services.common.db import make_engine, make_session_factory, upgrade

    settings = Settings.from_env()
    url = settings.database_url("activities")
    upgrade("activities", url)
    with tqdm(desc="demo units", unit="unit") as bar:
        created = seed_demo(make_session_factory(make_engine(url)), progress=bar.update)
    click.echo(f"created {created} units" if created else "the demonstration city is already there")


@click.group()
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

    settings = Settings.from_env()
    for name in tqdm(service or sorted(PARTS), desc="migrating", unit="service"):
        upgrade(name, settings.database_url(name))
    click.echo("databases are up to date")


@click.command()
@click.argument("service", type=click.Choice(sorted(PARTS)))
@click.option("--relay/--no-relay", default=True, help="Run the service's outbox relay.")
@click.option("--consume/--no-consume", default=True, help="Run the service's consumer.")
def worker(service: str, relay: bool, consume: bool) -> None:
    """Run one service's outbox relay and consumer until interrupted (production containers)."""
    import signal

    from infra.workers import Workers
    from services.common.app import ServiceContext

    settings = Settings.from_env()
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


@click.command()
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


@click.command()
@click.argument("service", type=click.Choice(sorted(PARTS)))
def ready(service: str) -> None:
    """Exit 0 if the service's database and the broker answer (worker health checks)."""
    from services.common.app import ServiceContext

    ctx = ServiceContext.create(service, Settings.from_env())
    try:
        report = ctx.readiness()
    finally:
        ctx.engine.dispose()
    if not report["ready"]:
        raise click.ClickException(json.dumps(report, ensure_ascii=False))


@click.group()
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


@click.group(invoke_without_command=True)
@click.option("--events", "count", default=50_000, show_default=True, help="Events per run.")
@click.option("--database-url", help="Run against this database (default: a fresh SQLite file).")
@click.pass_context
def bench(ctx: click.Context, count: int, database_url: str | None) -> None:
    """Benchmark the backbone against raw kafka-python on the same broker (see `make bench`);
    `shiliu bench checkins`, `shiliu bench ledger`, `shiliu bench notifications` and `shiliu bench
    stats` benchmark check-ins, the ledger, notifications and statistics."""
    if ctx.invoked_subcommand is not None:
        return
    from infra.bench import run_backbone_bench

    logs.configure(Settings.from_env().log_format, level="WARNING")
    run_backbone_bench(count, database_url)


@bench.command("checkins")
@click.option("--volunteers", default=5_000, show_default=True, help="Check-ins per run.")
@click.option("--threads", default=8, show_default=True, help="Concurrent clients.")
@click.option("--database-url", help="Run against this database (default: a fresh SQLite file).")
def bench_checkins(volunteers: int, threads: int, database_url: str | None) -> None:
    """Check-ins through the API beside a bare Flask insert into the same database."""
    from infra.bench_checkins import run_checkin_bench

    logs.configure(Settings.from_env().log_format, level="WARNING")
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

    logs.configure(Settings.from_env().log_format, level="WARNING")
    if not skip_ingest:
        run_ingest_bench(count, min(volunteers, max(1, count // 2)), database_url, poll_records)
    if standings_url:
        run_standings_bench(standings_url, volunteers, rows, queries)


@bench.command("notifications")
@click.option(
    "--reminders", default=10_000, show_default=True, help="Due reminders of one day to send."
)
@click.option("--rate", default=200, show_default=True, help="Attendance confirmations per second.")
@click.option(
    "--rounds", default=3, show_default=True, help="Fan-out rounds (the median is reported)."
)
@click.option("--seconds", default=20.0, show_default=True, help="How long the load lasts.")
@click.option(
    "--database-url",
    help="A PostgreSQL database to measure on (each part in schemas of its own, dropped after;"
    " default: fresh SQLite files).",
)
@click.option("--skip-fanout", is_flag=True, help="Only the lag under load.")
@click.option("--skip-lag", is_flag=True, help="Only the reminder fan-out.")
def bench_notifications(
    reminders: int,
    rate: int,
    rounds: int,
    seconds: float,
    database_url: str | None,
    skip_fanout: bool,
    skip_lag: bool,
) -> None:
    """Reminder fan-out beside a bare bulk insert of the same inbox rows, and the lag from an
    attendance confirmation to its inbox message under a steady load."""
    from infra.bench_notifications import run_fanout_bench, run_lag_bench

    logs.configure(Settings.from_env().log_format, level="WARNING")
    if not skip_fanout:
        run_fanout_bench(reminders, database_url, rounds)
    if not skip_lag:
        run_lag_bench(rate, seconds, database_url)


@bench.command("stats")
@click.option("--communities", default=200, show_default=True, help="Communities in the district.")
@click.option(
    "--attendances", default=1_000_000, show_default=True, help="Attendances over three years."
)
@click.option("--queries", default=20, show_default=True, help="Reports per breakdown.")
@click.option(
    "--events", "count", default=100_000, show_default=True, help="Attendance events to apply."
)
@click.option(
    "--poll-records",
    default=500,
    show_default=True,
    help="Records per poll, for the statistics consumer and the baseline alike.",
)
@click.option(
    "--database-url",
    help="A PostgreSQL database to measure on (a schema of its own for each benchmark, dropped"
    " after; default: fresh SQLite files).",
)
@click.option("--skip-report", is_flag=True, help="Only the consumer.")
@click.option("--skip-consumer", is_flag=True, help="Only the report.")
def bench_stats(
    communities: int,
    attendances: int,
    queries: int,
    count: int,
    poll_records: int,
    database_url: str | None,
    skip_report: bool,
    skip_consumer: bool,
) -> None:
    """The report of a district's year on three years of facts, and the statistics consumer
    beside raw consume + bulk insert of the same rows."""
    from infra.bench_stats import run_consumer_bench, run_report_bench

    logs.configure(Settings.from_env().log_format, level="WARNING")
    if not skip_report:
        run_report_bench(communities, attendances, queries, database_url)
    if not skip_consumer:
        run_consumer_bench(count, database_url, poll_records)


COMMANDS = (dev, seed, db, worker, probe, ready, gateway, bench)
