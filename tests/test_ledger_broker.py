"""The ledger consumer against the real broker: killed ten times, it ends with exactly the
expected rows; the ledger rebuilt from the topics has the live ledger's checksum."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from backbone import command_line_env, send_events
from click.testing import CliRunner
from databases import migrate
from ledger_support import Ledger, expected_balances, fresh_ledger_url, stream
from sqlalchemy import select

from infra.cli import main as shiliu
from services.ledger import chain
from services.ledger.models import PointsTotal

TESTS = Path(__file__).resolve().parent
EVENTS, KILLS = 10_000, 10


@pytest.mark.broker
@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_a_ledger_consumer_killed_ten_times_ends_with_exactly_the_expected_rows(
    settings, tmp_path, monkeypatch
):
    events = stream(EVENTS)
    distinct = len({event.id for event in events})
    reference = Ledger(fresh_ledger_url(tmp_path, "reference"))
    # The same events applied once without a broker, meanwhile (the killed consumers mostly
    # wait for their group to settle).
    applying = threading.Thread(target=reference.apply, args=(events, 500))
    applying.start()

    url = settings.database_url("ledger")
    migrate("ledger", url)
    send_events(settings, events)
    env = {
        **os.environ,
        "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SHILIU_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SHILIU_TOPIC_PREFIX": settings.topic_prefix,
        "SHILIU_LEDGER_DATABASE_URL": url,
        # A killed member's place is given up when its session times out: keep that short.
        "SHILIU_KAFKA_SESSION_TIMEOUT_MS": "1500",
        "SHILIU_KAFKA_HEARTBEAT_INTERVAL_MS": "300",
        "SHILIU_LOG_FORMAT": "console",
    }
    script = [sys.executable, str(TESTS / "crash_part.py"), "ledger", str(distinct), "500"]
    rng = random.Random(11)
    for _kill in range(KILLS):
        # Dies right after its Nth database commit, before committing the offsets: the next
        # process gets the last batch again (its first commit applies nothing new).
        fault = f"after_db_commit:{rng.randint(2, 3)}"
        killed = subprocess.run(
            script, env={**env, "SHILIU_FAULT": fault}, capture_output=True, timeout=180
        )
        assert killed.returncode == -9, killed.stderr.decode()[-3000:]
    survivor = subprocess.run(script, env=env, capture_output=True, timeout=300)
    assert survivor.returncode == 0, survivor.stderr.decode()[-3000:]

    applying.join()
    with reference.factory() as session:
        expected_checksum, expected_rows = chain.checksum(session), chain.verify(session).rows
    assert reference.balances() == {
        v: p for v, p in expected_balances(events).items() if v in reference.balances()
    }
    live = Ledger(url)
    with live.factory() as session:
        found = chain.verify(session)
        assert found.ok, found.problem
        assert found.rows == expected_rows
        assert chain.checksum(session) == expected_checksum
    assert live.balances() == reference.balances()

    # Rebuilt from the topics into a fresh database: the same checksum.
    command_line_env(monkeypatch, settings)
    monkeypatch.setenv("SHILIU_LEDGER_DATABASE_URL", url)
    target = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    said = CliRunner().invoke(shiliu, ["ledger", "replay", "--into", target, "--timeout", "120"])
    assert said.exit_code == 0, said.output
    lines = {line.split()[0]: line.split()[1] for line in said.output.splitlines() if "  " in line}
    assert lines["live"] == lines["rebuilt"] == expected_checksum
    assert said.output.strip().endswith("equal")
    # The rebuild wrote the standings totals anew: they hold, and they are the live ones.
    rebuilt = Ledger(target)
    with live.factory() as a, rebuilt.factory() as b:
        assert chain.verify(b).ok, chain.verify(b).problem
        assert _totals(a) == _totals(b)
    rebuilt.close()
    live.close()
    reference.close()


def _totals(session) -> list:
    return session.execute(
        select(PointsTotal.volunteer_id, PointsTotal.period, PointsTotal.points).order_by(
            PointsTotal.volunteer_id, PointsTotal.period
        )
    ).all()


@pytest.mark.broker
@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_a_replay_from_topics_that_lost_the_history_says_so_in_one_sentence(
    settings, tmp_path, monkeypatch
):
    """A broker started again empty holds none of what the live ledger applied: the rebuild
    ends with one sentence saying what is missing and what to do, not a traceback."""
    live_url = fresh_ledger_url(tmp_path, "live")
    live = Ledger(live_url)
    live.apply(stream(40), 20)  # applied without this test's (empty) topics
    live.close()
    command_line_env(monkeypatch, settings)
    monkeypatch.setenv("SHILIU_LEDGER_DATABASE_URL", live_url)
    target = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    said = CliRunner().invoke(
        shiliu, ["ledger", "replay", "--into", target, "--timeout", "60", "--idle", "2"]
    )
    assert said.exit_code == 1, said.output
    assert "cannot rebuild: the topics hold only 0 of" in said.output
    assert "shiliu republish" in said.output
    assert "Traceback" not in said.output and isinstance(said.exception, SystemExit)
