"""Benchmarks, reported as ratios to a bare baseline measured in the same run (never pass/fail)."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click
from kafka import TopicPartition
from kafka.admin import NewTopic
from sqlalchemy import insert
from tqdm import tqdm

from events import catalog
from events import kafka as kafka_clients
from events.consumer import ConsumerRunner
from events.envelope import utcnow
from events.outbox import Relay
from events.settings import Settings
from events.store import outbox
from infra.broker import EmbeddedBroker, free_port
from services.common.db import make_engine, make_session_factory, upgrade
from services.volunteers.handlers import HANDLERS as VOLUNTEER_HANDLERS


def _events(count: int) -> list:
    return [
        catalog.make_event(
            "unit.created",
            {
                "unit_id": f"u{n}",
                "name": f"社区{n}",
                "kind": "community",
                "parent_id": None,
                "path": f"/b/u{n}/",
            },
            producer="bench",
        )
        for n in range(count)
    ]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _raw_produce(settings: Settings, topic: str, items: list[tuple[bytes, bytes]]) -> float:
    producer = kafka_clients.producer(settings)
    start = time.perf_counter()
    for key, value in tqdm(items, desc="raw produce", unit="msg", leave=False):
        producer.send(topic, key=key, value=value)
    producer.flush(120)
    seconds = time.perf_counter() - start
    producer.close()
    return seconds


def reader_from_start(settings: Settings, topic: str, poll_records: int = 500):
    """A plain kafka-python consumer (no group) on every partition of ``topic``, at its start."""
    reader = kafka_clients.consumer(settings, None, max_poll_records=poll_records)
    partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic))]
    reader.assign(partitions)
    reader.seek_to_beginning(*partitions)
    return reader


def raw_consume_insert(
    settings: Settings, topic: str, factory, table, row, count: int, poll_records: int
) -> float:
    """The baseline a consumer is measured beside, in events/s: read ``topic`` from its start
    with kafka-python and bulk-insert each poll's rows (``row(record)`` of each record) into
    ``table`` of the same database, nothing else."""
    reader = reader_from_start(settings, topic, poll_records)
    seen = 0
    with tqdm(total=count, desc="raw consume + insert", unit="event", leave=False) as bar:
        started = time.perf_counter()
        while seen < count:
            rows = [row(r) for records in reader.poll(timeout_ms=1000).values() for r in records]
            if rows:
                with factory() as session, session.begin():
                    session.execute(insert(table), rows)
            seen += len(rows)
            bar.update(len(rows))
        seconds = time.perf_counter() - started
    reader.close()
    return count / seconds


def _raw_consume(settings: Settings, topic: str, count: int) -> float:
    reader = reader_from_start(settings, topic)
    seen = 0
    with tqdm(total=count, desc="raw consume", unit="msg", leave=False) as bar:
        start = time.perf_counter()
        while seen < count:
            for records in reader.poll(timeout_ms=1000).values():
                seen += len(records)
                bar.update(len(records))
        seconds = time.perf_counter() - start
    reader.close()
    return seconds


def _redrive(broker: EmbeddedBroker, settings: Settings, factory, count: int):
    """Start the broker again empty and time the catch-up: marking the outbox unsent, the relay
    publishing it all again, a consumer whose events are all applied skipping them all."""
    broker.stop()
    broker.start()
    kafka_clients.ensure_topics(settings)
    relay = Relay("bench", factory, settings, batch_size=2000)
    start = time.perf_counter()
    marked = relay.check_broker()
    mark_seconds = time.perf_counter() - start
    assert marked == count, f"{marked} of {count} rows marked"
    republish_seconds = _relay_all(relay, count, "relay again")
    runner, catch_up_seconds = _consume_all(factory, settings, count, "consumer skips")
    assert runner.counts["applied"] == 0, "a re-driven event was applied twice"
    return mark_seconds, republish_seconds, catch_up_seconds


def _relay_all(relay: Relay, count: int, desc: str) -> float:
    """Seconds the relay takes to publish ``count`` events; the relay is closed after."""
    with tqdm(total=count, desc=desc, unit="event", leave=False) as bar:
        start = time.perf_counter()
        while relay.published < count:
            bar.update(relay.publish_pending())
        seconds = time.perf_counter() - start
    relay.close()
    return seconds


def _consume_all(factory, settings: Settings, count: int, desc: str):
    """A consumer of the benchmark's group, and the seconds it takes to take ``count`` records
    (it is closed after)."""
    runner = ConsumerRunner(
        "bench", VOLUNTEER_HANDLERS, factory, settings, group_id=f"{settings.topic_prefix}b"
    )
    runner.wait_for_assignment()
    with tqdm(total=count, desc=desc, unit="event", leave=False) as bar:
        start = time.perf_counter()
        done = 0
        while done < count:
            got = runner.poll_once(timeout_ms=1000)
            done += got
            bar.update(got)
        seconds = time.perf_counter() - start
    runner.close()
    return runner, seconds


def bench_broker(workdir: Path, prefix: str) -> tuple[Settings, EmbeddedBroker | None]:
    """The broker a benchmark runs on: the configured one, or a fresh embedded broker (its log in
    ``workdir``) when none is; with topics of their own (``prefix`` and a random suffix)."""
    base = Settings.from_env()
    broker = None
    if base.embedded_broker:
        port = free_port()
        base = replace(base, kafka_bootstrap=f"127.0.0.1:{port}")
        broker = EmbeddedBroker(base, port=port, log_path=workdir / "broker.log").start()
    settings = replace(base, topic_prefix=f"{prefix}{uuid.uuid4().hex[:6]}.")
    kafka_clients.ensure_topics(settings)
    return settings, broker


@contextmanager
def bench_run(name: str, prefix: str) -> Iterator[tuple[Path, Settings, EmbeddedBroker | None]]:
    """A benchmark's scratch folder (``shiliu-NAME-…``) and its broker (``bench_broker``, topics
    prefixed ``prefix``), both gone when it ends: the broker stopped, the folder with its
    databases and the broker's log removed."""
    workdir = Path(tempfile.mkdtemp(prefix=f"shiliu-{name}-"))
    broker = None
    try:
        settings, broker = bench_broker(workdir, prefix)
        yield workdir, settings, broker
    finally:
        if broker:
            broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_backbone_bench(count: int, database_url: str | None = None) -> dict:
    """Measure outbox → relay → broker → consumer against raw kafka-python on one broker."""
    with bench_run("bench", "bench") as (workdir, settings, broker):
        url = database_url or f"sqlite:///{workdir / 'bench.db'}"
        upgrade("volunteers", url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        events = _events(count)
        items = [(e.key.encode(), e.encode()) for e in events]

        raw_topic = settings.topic("shiliu.units") + ".raw"
        admin = kafka_clients.admin(settings)
        admin.create_topics([NewTopic(raw_topic, settings.topic_partitions, 1)])
        admin.close()
        raw_produce = _raw_produce(settings, raw_topic, items)
        raw_consume = _raw_consume(settings, raw_topic, count)

        start = time.perf_counter()
        with factory() as session, session.begin():
            session.execute(
                insert(outbox),
                [
                    {
                        "event_id": e.id,
                        "event_type": e.type,
                        "topic": "shiliu.units",
                        "key": e.key,
                        "value": e.encode(),
                        "created_at": utcnow(),
                    }
                    for e in events
                ],
            )
        emit_seconds = time.perf_counter() - start

        relay = Relay("bench", factory, settings, batch_size=2000)
        relay_seconds = _relay_all(relay, count, "relay")
        _runner, consume_seconds = _consume_all(factory, settings, count, "consumer")
        redrive = _redrive(broker, settings, factory, count) if broker else None
        engine.dispose()

    report = {
        "events": count,
        "database": url.split(":", 1)[0],
        "raw_produce_per_s": round(_rate(count, raw_produce)),
        "raw_consume_per_s": round(_rate(count, raw_consume)),
        "outbox_emit_per_s": round(_rate(count, emit_seconds)),
        "relay_per_s": round(_rate(count, relay_seconds)),
        "consumer_per_s": round(_rate(count, consume_seconds)),
    }
    report["relay_vs_raw_produce"] = round(report["relay_per_s"] / report["raw_produce_per_s"], 3)
    report["consumer_vs_raw_consume"] = round(
        report["consumer_per_s"] / report["raw_consume_per_s"], 3
    )
    lines = []
    if redrive:
        mark, republish, catch_up = redrive
        report["redrive_mark_s"] = round(mark, 2)
        report["redrive_publish_per_s"] = round(_rate(count, republish))
        report["redrive_catch_up_per_s"] = round(_rate(count, catch_up))
        total = mark + republish + catch_up
        report["redrive_seconds_per_100k"] = round(total * 100_000 / count, 1)
        report["redrive_vs_raw"] = round((raw_produce + raw_consume) / total, 3)
        lines = [
            "  a broker started again empty: the whole outbox published again, consumers skip it",
            f"  mark every row unsent       {mark:>9.2f} s",
            f"  relay publishes again      {report['redrive_publish_per_s']:>9,} events/s",
            f"  consumer skips applied     {report['redrive_catch_up_per_s']:>9,} events/s",
            f"  whole catch-up             {report['redrive_seconds_per_100k']:>9.1f} s per 100,000"
            f" events = {report['redrive_vs_raw']:.2f} × raw produce + consume",
        ]
    click.echo(
        "\n".join(
            [
                f"backbone benchmark: {count} events, {report['database']}, one embedded broker",
                f"  raw kafka-python produce   {report['raw_produce_per_s']:>9,} events/s  (baseline)",
                f"  raw kafka-python consume   {report['raw_consume_per_s']:>9,} events/s  (baseline)",
                f"  outbox emit (one txn)      {report['outbox_emit_per_s']:>9,} events/s",
                f"  relay outbox → broker      {report['relay_per_s']:>9,} events/s"
                f"  = {report['relay_vs_raw_produce']:.2f} × raw produce (aim ≥ 0.20)",
                f"  consumer broker → db       {report['consumer_per_s']:>9,} events/s"
                f"  = {report['consumer_vs_raw_consume']:.2f} × raw consume (aim ≥ 0.20)",
                *lines,
            ]
        )
    )
    click.echo(json.dumps(report))
    return report
