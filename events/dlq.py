"""Dead-letter topics: list what consumers could not handle, and re-drive it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kafka import OffsetAndMetadata, TopicPartition

from events import kafka as kafka_clients
from events.catalog import DLQ_SUFFIX, TOPICS
from events.settings import Settings

REPLAY_GROUP = "shiliu-dlq-replay"


@dataclass
class DeadLetter:
    """One dead-lettered message with the reason it failed."""

    dlq_topic: str
    partition: int
    offset: int
    original_topic: str
    original_offset: str
    consumer: str
    error: str
    failed_at: str
    key: bytes | None
    value: bytes | None
    replayed: bool = False


def _dlq_topics(settings: Settings, topic: str | None) -> list[str]:
    logical = [topic] if topic else list(TOPICS)
    return [settings.topic(name + DLQ_SUFFIX) for name in logical]


def _as_letter(record) -> DeadLetter:
    headers = {name: value.decode("utf-8", "replace") for name, value in record.headers or []}
    return DeadLetter(
        dlq_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        original_topic=headers.get("original_topic", record.topic.removesuffix(DLQ_SUFFIX)),
        original_offset=headers.get("original_offset", "?"),
        consumer=headers.get("consumer", "?"),
        error=headers.get("error", ""),
        failed_at=headers.get("failed_at", ""),
        key=record.key,
        value=record.value,
    )


def _read_all(consumer, idle_ms: int) -> Iterator:
    """Yield records until the consumer has been idle for ``idle_ms``.

    The embedded broker's high watermark under-counts batched records, so "the end" is
    taken as "nothing more arrives", never as an end offset.
    """
    while True:
        batch = consumer.poll(timeout_ms=idle_ms)
        if not batch:
            return
        for records in batch.values():
            yield from records


def list_dead_letters(
    settings: Settings, topic: str | None = None, idle_ms: int = 1500
) -> list[DeadLetter]:
    """Return every dead letter, marking those the replay group has already re-driven."""
    topics = _dlq_topics(settings, topic)
    reader = kafka_clients.consumer(settings, None)
    try:
        partitions = [
            TopicPartition(name, p)
            for name in topics
            for p in sorted(reader.partitions_for_topic(name) or [])
        ]
        if not partitions:
            return []
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        letters = [_as_letter(r) for r in _read_all(reader, idle_ms)]
    finally:
        reader.close()
    admin = kafka_clients.admin(settings)
    try:
        replayed = admin.list_group_offsets(REPLAY_GROUP).get(REPLAY_GROUP, {})
    except Exception:  # noqa: BLE001 - no replay group yet means nothing was replayed
        replayed = {}
    finally:
        admin.close()
    for letter in letters:
        done = replayed.get(TopicPartition(letter.dlq_topic, letter.partition))
        letter.replayed = bool(done and done.offset > letter.offset)
    return sorted(letters, key=lambda item: (item.dlq_topic, item.partition, item.offset))


def replay_dead_letters(
    settings: Settings, topic: str | None = None, idle_ms: int = 1500, progress=None
) -> int:
    """Re-publish every not-yet-replayed dead letter to its original topic; return the count."""
    topics = _dlq_topics(settings, topic)
    reader = kafka_clients.consumer(settings, REPLAY_GROUP)
    producer = kafka_clients.producer(settings)
    count = 0
    try:
        reader.subscribe(topics)
        kafka_clients.wait_for_assignment(reader)
        for record in _read_all(reader, idle_ms):
            letter = _as_letter(record)
            producer.send(letter.original_topic, key=record.key, value=record.value).get(30)
            reader.commit(
                {
                    TopicPartition(record.topic, record.partition): OffsetAndMetadata(
                        record.offset + 1, "", -1
                    )
                }
            )
            count += 1
            if progress:
                progress(1)
        producer.flush(30)
    finally:
        producer.close(timeout=5)
        reader.close(autocommit=False)
    return count
