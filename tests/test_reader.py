"""A consumer with a reader process (events/reader.py), against the real broker: a refused
transaction is read again in order, a reader that dies is started again, and a reader never
outlives its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from backbone import (
    applied_log,
    count,
    logging_handlers,
    metadata,
    send_events,
    unit_event,
    wait_for,
)
from sqlalchemy import select, text

from events.consumer import ConsumerRunner

TESTS = Path(__file__).resolve().parent
pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])


@pytest.fixture
def factory(contexts):
    ctx = contexts["volunteers"]
    metadata.create_all(ctx.engine)
    return ctx.session_factory


def _runner(settings, factory, name: str, **options) -> ConsumerRunner:
    return ConsumerRunner(
        name,
        logging_handlers(),
        factory,
        settings,
        group_id=f"{settings.topic_prefix}{name}",
        reader_process=True,
        **options,
    )


def _seqs_by_key(factory) -> dict[str, list[int]]:
    with factory() as session:
        rows = session.execute(
            select(applied_log.c.key, applied_log.c.seq).order_by(applied_log.c.id)
        ).all()
    found: dict[str, list[int]] = {}
    for key, seq in rows:
        found.setdefault(key, []).append(seq)
    return found


def test_a_refused_transaction_is_read_again_and_what_was_fetched_after_it_is_dropped(
    settings, factory
):
    keys = [f"r{n}" for n in range(4)]
    send_events(settings, [unit_event(key, n) for n in range(10) for key in keys])
    with factory() as session, session.begin():
        # The database refuses every claim while a row is in `refuse` (a constraint failing).
        session.execute(text("CREATE TABLE refuse (n INTEGER)"))
        session.execute(text("INSERT INTO refuse VALUES (1)"))
        session.execute(
            text(
                "CREATE TRIGGER refuse_claims BEFORE INSERT ON consumed_events"
                " WHEN (SELECT count(*) FROM refuse) > 0"
                " BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
            )
        )
    runner = _runner(settings, factory, "refused", max_records=3)
    try:
        runner.wait_for_assignment()
        # Let the reader fetch ahead (several batches wait), then have three transactions refused.
        wait_for(lambda: runner.reader._batches.qsize() >= 3, message="batches to wait")
        refused = [runner.poll_once(timeout_ms=2000) for _ in range(3)]
        assert refused == [0, 0, 0] and count(factory) == 0
        with factory() as session, session.begin():
            session.execute(text("DELETE FROM refuse"))
        wait_for(lambda: runner.poll_once(300) >= 0 and count(factory) == 40, timeout=60)
    finally:
        runner.close()
    # Every event once, each key's in order: nothing fetched after a refused batch was applied
    # before it was read again.
    assert _seqs_by_key(factory) == {key: list(range(10)) for key in keys}
    assert runner.counts["applied"] == 40 and runner.counts["duplicate"] == 0


def test_a_reader_process_that_dies_is_started_again_and_nothing_is_lost(settings, factory):
    send_events(settings, [unit_event(f"d{n % 3}", n) for n in range(15)])
    runner = _runner(settings, factory, "phoenix", max_records=5)
    try:
        wait_for(lambda: runner.poll_once(300) >= 0 and count(factory) == 15, timeout=60)
        first = runner.reader._process.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: not runner.reader._process.is_alive(), message="the reader to die")
        send_events(settings, [unit_event(f"d{n % 3}", n) for n in range(15, 30)])
        wait_for(lambda: runner.poll_once(300) >= 0 and count(factory) == 30, timeout=90)
        assert runner.reader._process.pid != first
    finally:
        runner.close()
    assert _seqs_by_key(factory) == {f"d{k}": list(range(k, 30, 3)) for k in range(3)}


def test_a_reader_process_does_not_outlive_its_parent(settings, factory, tmp_path):
    send_events(settings, [unit_event("orphan", 0)])
    script = tmp_path / "parent.py"
    script.write_text(
        "import threading\n"
        "from backbone import logging_handlers\n"
        "from events.consumer import ConsumerRunner\n"
        "from events.settings import Settings\n"
        "if __name__ == '__main__':\n"
        "    settings = Settings.from_env()\n"
        "    runner = ConsumerRunner('orphan', logging_handlers(), None, settings,\n"
        "                            group_id=settings.topic_prefix + 'orphan', reader_process=True)\n"
        "    runner.wait_for_assignment()\n"
        "    print(runner.reader._process.pid, flush=True)\n"
        "    threading.Event().wait()  # until killed\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SHILIU_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SHILIU_TOPIC_PREFIX": settings.topic_prefix,
        # The embedded broker's group timeouts: at Kafka's default the first join takes ~23 s.
        "SHILIU_KAFKA_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
        "SHILIU_KAFKA_HEARTBEAT_INTERVAL_MS": str(settings.heartbeat_interval_ms),
    }
    parent = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        child = int(parent.stdout.readline().decode() or 0)
        assert child, parent.stderr.read().decode()[-2000:]
        assert _alive(child)
        parent.kill()
        parent.wait(10)
        wait_for(lambda: not _alive(child), timeout=10, message="the orphaned reader to end")
    finally:
        parent.kill()
        parent.wait(10)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie is dead, just not reaped
    except FileNotFoundError:
        return False
