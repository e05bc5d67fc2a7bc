"""Prometheus metrics of a service, computed when scraped: outbox backlog and consumer lag.

Lag is the broker's end offset minus the group's committed offset (the earliest offset where
the group has committed nothing yet), per topic and partition, read with the admin client and
kept for a few seconds (``SHILIU_METRICS_CACHE_SECONDS`` in the app config, default 5).
When the broker does not answer, ``shiliu_broker_up`` is 0 and no lag is reported.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from flask import Flask, Response
from kafka import TopicPartition
from kafka.admin import OffsetSpec
from kafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import inspect

from events import catalog
from events import kafka as kafka_clients
from events.catalog import DLQ_SUFFIX
from events.outbox import backlog
from events.settings import Settings

if TYPE_CHECKING:
    from services.common.app import ServiceContext

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BrokerReading:
    """What the broker said about one consumer group, at one moment."""

    up: bool
    lag: dict[TopicPartition, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)


def consumer_group(name: str, settings: Settings) -> tuple[str, list[str]] | None:
    """Return the consumer group of a service and the broker-level topics it reads, if it reads."""
    from infra.registry import SERVICES

    part = SERVICES.get(name)
    handlers = part.handlers() if part else {}
    if not handlers:
        return None
    return part.group_id(settings), [settings.topic(t) for t in catalog.topics_for(handlers)]


def read_broker(settings: Settings, group_id: str, topics: list[str]) -> BrokerReading:
    """Ask the broker for a group's lag per partition and the size of its topics' dead letters."""
    client = kafka_clients.admin(settings, request_timeout_ms=3000, bootstrap_timeout_ms=3000)
    try:
        dlq_topics = [topic + DLQ_SUFFIX for topic in topics]
        described = client.describe_topics(topics + dlq_topics)
        partitions = [
            TopicPartition(topic["name"], p["partition_index"])
            for topic in described
            if topic["error_code"] == 0
            for p in topic["partitions"]
        ]
        latest = client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions})
        earliest = client.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in partitions})
        consumed = [tp for tp in partitions if tp.topic in topics]
        committed = client.list_group_offsets({group_id: consumed}).get(group_id, {})
    finally:
        client.close()
    lag = {}
    for tp in consumed:
        position = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else -1
        if position < 0:
            position = earliest[tp].offset
        # The embedded broker's end offset can under-count batched records; never below 0.
        lag[tp] = max(0, latest[tp].offset - position)
    dead_letters: dict[str, int] = {}
    for tp in partitions:
        if tp.topic in dlq_topics:
            held = max(0, latest[tp].offset - earliest[tp].offset)
            dead_letters[tp.topic] = dead_letters.get(tp.topic, 0) + held
    return BrokerReading(True, lag, dead_letters)


class ServiceCollector:
    """Collects one service's metrics from its database and the broker at scrape time."""

    def __init__(self, ctx: ServiceContext, cache_seconds: float = 5.0):
        self.ctx = ctx
        self.cache_seconds = cache_seconds
        self._group = consumer_group(ctx.name, ctx.settings)
        self._lock = threading.Lock()
        self._reading: BrokerReading | None = None
        self._read_at = 0.0

    def broker_reading(self) -> BrokerReading:
        """Return the broker's answer, asking again when the cached one is too old."""
        with self._lock:
            if self._reading and time.monotonic() - self._read_at < self.cache_seconds:
                return self._reading
            up, _detail = self.ctx.broker.check()
            reading = BrokerReading(up)
            if up and self._group:
                try:
                    reading = read_broker(self.ctx.settings, *self._group)
                except (KafkaError, OSError) as exc:
                    log.warning("cannot read consumer lag", error=repr(exc))
                    reading = BrokerReading(False)
            self._reading, self._read_at = reading, time.monotonic()
            return reading

    def outbox_backlog(self) -> tuple[bool, int | None]:
        """Return (database answered, unsent outbox rows or None where there is no outbox)."""
        try:
            with self.ctx.session_factory() as session:
                if not inspect(session.connection()).has_table("outbox"):
                    return True, None
                return True, backlog(session)
        except Exception as exc:  # noqa: BLE001 - a scrape must answer even without a database
            log.warning("cannot count the outbox backlog", error=repr(exc))
            return False, None

    def collect(self):
        """Yield the metric families (prometheus_client calls this on every scrape)."""
        service = self.ctx.name
        answered, pending = self.outbox_backlog()
        database_up = GaugeMetricFamily(
            "shiliu_database_up", "1 if the service's database answered", labels=["service"]
        )
        outbox = GaugeMetricFamily(
            "shiliu_outbox_backlog",
            "Events committed to the outbox but not yet acknowledged by the broker",
            labels=["service"],
        )
        if pending is not None:
            outbox.add_metric([service], pending)
        database_up.add_metric([service], 1 if answered else 0)
        yield database_up
        yield outbox

        reading = self.broker_reading()
        broker_up = GaugeMetricFamily(
            "shiliu_broker_up", "1 if the Kafka broker answered", labels=["service"]
        )
        broker_up.add_metric([service], 1 if reading.up else 0)
        yield broker_up
        lag = GaugeMetricFamily(
            "shiliu_consumer_lag",
            "Records on the topic not yet committed by the consumer group",
            labels=["service", "group", "topic", "partition"],
        )
        group = self._group[0] if self._group else ""
        for tp, value in sorted(reading.lag.items()):
            lag.add_metric([service, group, tp.topic, str(tp.partition)], value)
        yield lag
        dead = GaugeMetricFamily(
            "shiliu_dead_letters",
            "Records held by the dead-letter topic of a topic the service reads (replayed included)",
            labels=["service", "topic"],
        )
        for topic, value in sorted(reading.dead_letters.items()):
            dead.add_metric([service, topic], value)
        yield dead


class ReconcileCollector:
    """``shiliu_events_missing``: events a producer committed more than ``settle`` seconds ago
    that a consumer which handles their type has not applied (events/reconcile.py), from
    ``reconcile(settle)``, asked again at most every ``cache_seconds``."""

    def __init__(self, reconcile, settle: float = 30.0, cache_seconds: float = 60.0):
        self.reconcile = reconcile
        self.settle = settle
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._counts = None
        self._read_at = 0.0

    def collect(self):
        """Yield the metric family (prometheus_client calls this on every scrape)."""
        with self._lock:
            if self._counts is None or time.monotonic() - self._read_at >= self.cache_seconds:
                try:
                    self._counts = self.reconcile(self.settle).counts()
                except Exception as exc:  # noqa: BLE001 - a scrape must answer
                    log.warning("cannot reconcile", error=repr(exc))
                    self._counts = None
                self._read_at = time.monotonic()
            counts = self._counts
        missing = GaugeMetricFamily(
            "shiliu_events_missing",
            "Events a producer committed that a consumer of their type has not applied "
            "(older than the settle time; shiliu reconcile names them)",
            labels=["producer", "consumer", "event_type"],
        )
        for (producer, consumer, event_type), value in sorted((counts or {}).items()):
            missing.add_metric([producer, consumer, event_type], value)
        yield missing
        up = GaugeMetricFamily(
            "shiliu_reconcile_up", "1 if the last reconciliation could read every database"
        )
        up.add_metric([], 0 if counts is None else 1)
        yield up


def register(app: Flask, collector) -> None:
    """Add a collector to what the app's ``/metrics`` serves."""
    app.extensions["shiliu_metrics"].register(collector)


def install(app: Flask, ctx: ServiceContext) -> None:
    """Serve the service's metrics at ``/metrics`` in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    collector = ServiceCollector(ctx)
    registry.register(collector)
    app.extensions["shiliu_metrics"] = registry

    @app.get("/metrics")
    def metrics():
        """Prometheus metrics: outbox backlog, broker and database up, consumer lag."""
        collector.cache_seconds = app.config.get("SHILIU_METRICS_CACHE_SECONDS", 5.0)
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
