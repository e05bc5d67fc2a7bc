"""`shiliu ledger`: verify the ledger's hash chain, rebuild it from the event history
(assembled into `shiliu` by infra/cli.py)."""

from __future__ import annotations

import click
from tqdm import tqdm

from events import logs
from events.settings import Settings


@click.group("ledger")
def ledger_group() -> None:
    """The points ledger: verify its hash chain, rebuild it from the event history."""


@ledger_group.command("verify")
def ledger_verify() -> None:
    """Walk the hash chain and check the standings totals against it; name the first altered,
    removed or inserted row, or a total that disagrees (exit 1 if any)."""
    from services.common.db import make_engine, make_session_factory
    from services.ledger import chain

    engine = make_engine(Settings.from_env().database_url("ledger"))
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


@ledger_group.command("replay")
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

    settings = Settings.from_env()
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
