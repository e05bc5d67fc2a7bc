"""Kafka clients configured one way for every Shiliu process (kafka-python 3)."""

from __future__ import annotations

import contextlib
import socket
import time

import structlog
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from events.catalog import DLQ_SUFFIX, TOPICS
from events.settings import Settings

log = structlog.get_logger(__name__)


# Clients try a lost broker again at least every two seconds, so a relay or consumer is back
# within seconds of the broker (kafka-python's own ceiling is 30 s between tries).
RECONNECT_BACKOFF_MAX_MS = 2000


DELIVERY_TIMEOUT_S = 30  # how long a producer keeps trying to deliver what it was given


def producer(settings: Settings, **overrides) -> KafkaProducer:
    """Return an idempotent producer (acks=all, the kafka-python 3 default, never weakened)."""
    config = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": "shiliu",
        "linger_ms": 5,
        "max_block_ms": 10000,
        "request_timeout_ms": 10000,
        "delivery_timeout_ms": DELIVERY_TIMEOUT_S * 1000,
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
    }
    config.update(overrides)
    return KafkaProducer(**config)


def next_backoff(previous: float, most: float = 5.0) -> float:
    """Seconds to wait before trying the broker again: 0.2 s first, doubling up to ``most``."""
    return min(most, max(0.2, previous * 2))


def consumer(settings: Settings, group_id: str | None, **overrides) -> KafkaConsumer:
    """Return a consumer with manual offset commits and the group timeouts of the settings."""
    config = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "client_id": f"shiliu-{group_id or 'reader'}",
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
    }
    for name in ("session_timeout_ms", "heartbeat_interval_ms", "max_poll_interval_ms"):
        value = getattr(settings, name)
        if value is not None:
            config[name] = value
    config.update(overrides)
    return KafkaConsumer(**config)


def admin(settings: Settings, **overrides) -> KafkaAdminClient:
    """Return an admin client."""
    return KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="shiliu-admin",
        request_timeout_ms=overrides.pop("request_timeout_ms", 10000),
        **overrides,
    )


def all_topics(settings: Settings) -> list[str]:
    """Return the broker-level names of every topic and its dead-letter topic."""
    names = []
    for logical in TOPICS:
        names += [settings.topic(logical), settings.topic(logical + DLQ_SUFFIX)]
    return names


def ensure_topics(
    settings: Settings, replication_factor: int = 1, configs: dict[str, str] | None = None
) -> list[str]:
    """Create every Shiliu topic that does not exist yet (with these topic configs); return the
    names created. Topics that exist are left as they are."""
    client = admin(settings)
    try:
        existing = set(client.list_topics())
        wanted = [
            NewTopic(name, settings.topic_partitions, replication_factor, topic_configs=configs)
            for name in all_topics(settings)
            if name not in existing
        ]
        if not wanted:
            return []
        with contextlib.suppress(TopicAlreadyExistsError):
            client.create_topics(wanted)
        return [t.name for t in wanted]
    finally:
        client.close()


def listening(bootstrap: str, timeout: float = 1.0) -> bool:
    """Tell quickly whether any bootstrap address accepts a TCP connection."""
    for address in bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
            return True
        except (OSError, ValueError):
            continue
    return False


def wait_until_reachable(settings: Settings, timeout: float = 30.0) -> None:
    """Block until the broker answers a metadata request, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not listening(settings.kafka_bootstrap, timeout=0.5):
            last = ConnectionRefusedError(settings.kafka_bootstrap)
            time.sleep(0.1)
            continue
        try:
            client = admin(settings, request_timeout_ms=2000)
            try:
                client.list_topics()
                return
            finally:
                client.close()
        except (KafkaError, OSError) as exc:
            last = exc
            time.sleep(0.2)
    raise TimeoutError(f"broker {settings.kafka_bootstrap} did not answer: {last}")


def wait_for_assignment(consumer: KafkaConsumer, timeout: float = 60.0) -> None:
    """Join the group and block until partitions are assigned (records polled meanwhile are
    not lost: the consumer is rewound to its committed positions)."""
    deadline = time.monotonic() + timeout
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise TimeoutError("consumer group did not assign partitions in time")
        batch = consumer.poll(timeout_ms=200, max_records=1)
        for tp, records in batch.items():
            consumer.seek(tp, records[0].offset)
