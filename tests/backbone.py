"""Helpers for the backbone tests: a side-effect log that shows double applications, topic readers."""

from __future__ import annotations

import json
import time

from kafka import TopicPartition
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from events import catalog
from events import kafka as kafka_clients
from events.envelope import Event
from events.settings import Settings

metadata = MetaData()

# Every application of an event appends a row here, so a double effect is visible.
applied_log = Table(
    "test_applied_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("key", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("consumer_tag", String(16), nullable=False, default=""),
)


# The consumer-group timeouts of every test's settings. The embedded broker settles a new group
# in about half the session timeout (measured: 3 s at 6 s, 1 s at 2 s, never under 1 s), and the
# suite joins hundreds of groups, so its groups use 2 s with a heartbeat every 0.5 s. Production
# keeps DESIGN's 6 s; `shiliu dev` processes the suite starts keep their own settings.
GROUP_TIMEOUTS = {
    "session_timeout_ms": 2000,
    "heartbeat_interval_ms": 500,
    "max_poll_interval_ms": 30000,
}


def command_line_env(monkeypatch, settings: Settings) -> None:
    """Point `shiliu` commands (they read the environment) at this test's broker and topics,
    with the short group timeouts the embedded broker needs to settle in seconds."""
    for name, value in {
        "SHILIU_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SHILIU_TOPIC_PREFIX": settings.topic_prefix,
        "SHILIU_KAFKA_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
        "SHILIU_KAFKA_HEARTBEAT_INTERVAL_MS": str(settings.heartbeat_interval_ms),
    }.items():
        monkeypatch.setenv(name, value)


def log_application(tag: str = ""):
    """Return a handler that appends one applied_log row per application."""

    def handler(session, event: Event, payload: dict) -> None:
        session.execute(
            applied_log.insert().values(
                event_id=event.id, key=event.key, seq=int(payload["name"]), consumer_tag=tag
            )
        )

    return handler


def logging_handlers(tag: str = "") -> dict:
    """Handlers for unit.* that log every application."""
    handler = log_application(tag)
    return {"unit.created": handler, "unit.updated": handler}


def unit_event(key: str, seq: int, name: str = "unit.updated") -> Event:
    """A valid unit event whose name carries a sequence number."""
    return catalog.make_event(
        name,
        {
            "unit_id": key,
            "name": str(seq),
            "kind": "community",
            "parent_id": None,
            "path": f"/{key}/",
        },
        producer="test",
    )


def send_raw(
    settings: Settings, logical_topic: str, items: list[tuple[bytes, bytes | None]]
) -> None:
    """Publish raw (key, value) pairs to a topic and wait for the acknowledgements."""
    producer = kafka_clients.producer(settings)
    try:
        for key, value in items:
            producer.send(settings.topic(logical_topic), key=key, value=value)
        producer.flush(30)
    finally:
        producer.close()


def send_events(settings: Settings, events: list[Event]) -> None:
    """Publish events straight to their topics (bypassing any outbox)."""
    by_topic: dict[str, list] = {}
    for event in events:
        by_topic.setdefault(catalog.get(event.type).topic, []).append(
            (event.key.encode(), event.encode())
        )
    for topic, items in by_topic.items():
        send_raw(settings, topic, items)


def read_topic(
    settings: Settings, logical_topic: str, expect: int, timeout: float = 30.0, idle_ms: int = 1000
) -> list:
    """Read a topic from the beginning until ``expect`` records arrived and then nothing more."""
    reader = kafka_clients.consumer(settings, None)
    name = settings.topic(logical_topic)
    try:
        partitions = [TopicPartition(name, p) for p in sorted(reader.partitions_for_topic(name))]
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        records: list = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = reader.poll(timeout_ms=idle_ms)
            if not batch and len(records) >= expect:
                break
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        reader.close()


def wait_for(condition, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    """Poll ``condition`` until it returns something truthy; return it, or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(interval)


def count(session_factory, table=applied_log, **where) -> int:
    """Count rows of a table, optionally filtered by column values."""
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with session_factory() as session:
        return session.scalar(query)


def run_until(runner, done) -> None:
    """The body of the crash tests' consumer processes: poll until ``done()``, then close and
    print the runner's counts as JSON on stdout, where the test reads them (unless a fault
    killed the process first, which is what the test is about)."""
    while not done():
        runner.poll_once(timeout_ms=500)
    runner.close()
    print(json.dumps(dict(runner.counts)))
