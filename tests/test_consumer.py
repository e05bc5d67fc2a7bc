"""The consumer runner against the real broker: exactly-once effect on at-least-once delivery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from backbone import (
    applied_log,
    command_line_env,
    count,
    logging_handlers,
    metadata,
    read_topic,
    send_events,
    send_raw,
    unit_event,
    wait_for,
)
from click.testing import CliRunner
from sqlalchemy import select

from events import catalog
from events.consumer import ConsumerRunner
from events.envelope import Event, decode
from events.store import consumed_events
from infra.cli import main as shiliu

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def factory(contexts):
    """The volunteers database, with the applied log table added."""
    ctx = contexts["volunteers"]
    metadata.create_all(ctx.engine)
    return ctx.session_factory


def drain(runner: ConsumerRunner, until, timeout: float = 30.0) -> None:
    """Poll until the condition holds."""
    wait_for(lambda: runner.poll_once(300) >= 0 and until(), timeout=timeout, interval=0)


READER = pytest.mark.parametrize("reader", [False, True], ids=["in-process", "reader-process"])


@READER
def test_duplicates_and_a_whole_replay_change_the_tables_exactly_once(settings, factory, reader):
    events = [unit_event(f"u{n}", n, "unit.created") for n in range(10)]
    send_events(settings, events + events[:4])  # four delivered twice

    runner = ConsumerRunner(
        "dedupe",
        logging_handlers(),
        factory,
        settings,
        group_id=f"{settings.topic_prefix}g1",
        reader_process=reader,
    )
    drain(runner, lambda: runner.counts["applied"] + runner.counts["duplicate"] >= 14)
    runner.close()
    assert count(factory) == 10
    assert runner.counts["duplicate"] == 4

    # A new group reads the whole topic again from offset 0: nothing changes.
    replay = ConsumerRunner(
        "dedupe",
        logging_handlers(),
        factory,
        settings,
        group_id=f"{settings.topic_prefix}g2",
        reader_process=reader,
    )
    drain(replay, lambda: replay.counts["duplicate"] >= 14)
    replay.close()
    assert replay.counts["applied"] == 0
    assert count(factory) == 10
    with factory() as session:
        assert session.scalar(select(consumed_events.c.event_id).limit(1)) is not None
        ids = session.scalars(select(applied_log.c.event_id)).all()
    assert sorted(ids) == sorted(e.id for e in events)


@READER
@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_poison_and_unknown_messages_do_not_stop_a_consumer_and_dlq_replay_redrives(
    settings, factory, monkeypatch, reader
):
    command_line_env(monkeypatch, settings)
    broken = {"now": True}
    log_it = logging_handlers()["unit.created"]

    def flaky(session, event, payload):
        if payload["name"] == "13" and broken["now"]:
            raise RuntimeError("the projection is not ready for this unit")
        log_it(session, event, payload)

    unknown = Event(type="unit.teleported", version=1, key="u9", payload={}, producer="future")
    future_version = Event(type="unit.created", version=7, key="u9", payload={}, producer="future")
    send_raw(
        settings,
        "shiliu.units",
        [(b"u1", b"{not json"), (b"u2", unknown.encode()), (b"u3", future_version.encode())],
    )
    good, failing = unit_event("u4", 4, "unit.created"), unit_event("u5", 13, "unit.created")
    send_events(settings, [good, failing])

    handlers = {"unit.created": flaky}
    runner = ConsumerRunner(
        "poison",
        handlers,
        factory,
        settings,
        group_id=f"{settings.topic_prefix}p",
        retry_backoff=0.01,
        reader_process=reader,
    )
    drain(runner, lambda: sum(runner.counts.values()) >= 5)
    assert count(factory) == 1  # the good one
    assert runner.counts["skipped"] == 2
    assert runner.counts["dead_lettered"] == 2

    listed = CliRunner().invoke(shiliu, ["dlq", "list"])
    assert listed.exit_code == 0, listed.output
    assert "malformed: not UTF-8 JSON" in listed.output
    assert "handler failed 3 times: RuntimeError: the projection is not ready" in listed.output
    assert listed.output.count("pending") == 2

    broken["now"] = False  # the cause is fixed; re-drive the dead letters
    replayed = CliRunner().invoke(shiliu, ["dlq", "replay"])
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 2 dead letters" in replayed.output
    drain(runner, lambda: count(factory) == 2 and runner.counts["dead_lettered"] >= 3)
    runner.close()
    assert count(factory, event_id=failing.id) == 1
    # The malformed message went round again and is back in the dead-letter topic.
    again = CliRunner().invoke(shiliu, ["dlq", "list"])
    assert again.output.count("malformed") == 2
    assert again.output.count("replayed") == 2 and again.output.count("pending") == 1


def test_a_consumer_killed_between_database_commit_and_offset_commit_resumes_without_double_effect(
    settings, factory
):
    events = [unit_event(f"k{n % 3}", n) for n in range(30)]
    send_events(settings, events)
    env = {
        **os.environ,
        "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SHILIU_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SHILIU_TOPIC_PREFIX": settings.topic_prefix,
        "SHILIU_VOLUNTEERS_DATABASE_URL": settings.database_url("volunteers"),
        # The killed member's place is given up when its session times out: keep that short.
        "SHILIU_KAFKA_SESSION_TIMEOUT_MS": "1500",
        "SHILIU_KAFKA_HEARTBEAT_INTERVAL_MS": "300",
    }
    script = [sys.executable, str(TESTS / "crash_consumer.py"), "30", "30"]
    crashed = subprocess.run(
        script, env={**env, "SHILIU_FAULT": "after_db_commit:1"}, capture_output=True, timeout=120
    )
    assert crashed.returncode == -9, crashed.stderr.decode()[-2000:]
    applied_before = count(factory)
    assert applied_before == 10  # the first batch's database commit happened, its offsets' not

    resumed = subprocess.run(script, env=env, capture_output=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    counts = json.loads(resumed.stdout.decode().strip().splitlines()[-1])
    assert counts["duplicate"] == applied_before  # the first batch was delivered again...
    assert count(factory) == 30  # ...and changed nothing
    with factory() as session:
        assert sorted(session.scalars(select(applied_log.c.seq))) == list(range(30))


@READER
@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_events_with_one_key_keep_their_order_across_two_consumers_of_one_group(
    settings, factory, reader
):
    keys, rounds = [f"key{n}" for n in range(6)], 25
    group = f"{settings.topic_prefix}pair"
    stop = threading.Event()
    runners = [
        ConsumerRunner(
            "pair", logging_handlers(tag), factory, settings, group_id=group, reader_process=reader
        )
        for tag in ("A", "B")
    ]
    threads = [threading.Thread(target=r.run, args=(stop,), daemon=True) for r in runners]
    threads[0].start()
    try:
        for n in range(rounds):
            send_events(settings, [unit_event(key, n) for key in keys])
            if n == 5:
                wait_for(lambda: count(factory) > 0, message="A to start applying")
                threads[1].start()  # B joins mid-stream: a rebalance
                wait_for(lambda: runners[1].assignment(), message="B to be given partitions")
        wait_for(lambda: count(factory) == len(keys) * rounds, timeout=90, message="every event")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    with factory() as session:
        rows = session.execute(
            select(applied_log.c.key, applied_log.c.seq, applied_log.c.consumer_tag).order_by(
                applied_log.c.id
            )
        ).all()
    for key in keys:
        assert [row.seq for row in rows if row.key == key] == list(range(rounds)), key
    assert {row.consumer_tag for row in rows} == {"A", "B"}  # both really took part


@READER
def test_the_dead_letter_keeps_the_original_bytes_and_key(settings, factory, reader):
    send_raw(settings, "shiliu.units", [(b"odd-key", b"\x00binary")])
    runner = ConsumerRunner(
        "keeper",
        logging_handlers(),
        factory,
        settings,
        group_id=f"{settings.topic_prefix}keeper",
        reader_process=reader,
    )
    drain(runner, lambda: runner.counts["dead_lettered"] == 1)
    runner.close()
    [letter] = read_topic(settings, "shiliu.units.dlq", 1)
    assert (letter.key, letter.value) == (b"odd-key", b"\x00binary")
    headers = dict(letter.headers)
    assert headers["original_topic"].decode() == settings.topic("shiliu.units")
    assert headers["error"].decode().startswith("malformed")
    assert catalog.knows("unit.created", 1) and decode(unit_event("x", 1).encode()).key == "x"
