"""The consumer runner: exactly-once effect on at-least-once delivery.

Each poll's records are applied in one database transaction that also records every applied
event id; offsets are committed only after that transaction committed. A redelivered event
finds its id recorded and changes nothing. A handler that keeps failing sends its event to
``<topic>.dlq`` with the error, and processing moves on. Unknown types and versions are
skipped, counted and logged.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from events import catalog
from events import kafka as kafka_clients
from events.catalog import DLQ_SUFFIX, InvalidPayload
from events.envelope import Event, MalformedEvent, decode, utcnow
from events.settings import Settings
from events.store import consumed_events

log = structlog.get_logger(__name__)

Handler = Callable[[Session, Event, dict], None]
"""A handler receives the session, the event and its validated payload."""


class _HandlerFailed(Exception):
    """A handler failed on the optimistic pass; the batch is applied again carefully."""


@dataclass
class Outcome:
    """What happened to one record."""

    status: str  # applied | duplicate | skipped | dead_lettered
    error: str | None = None


class ConsumerRunner:
    """Applies events of the given types to a service's database, one transaction per poll."""

    def __init__(
        self,
        name: str,
        handlers: dict[str, Handler],
        session_factory: sessionmaker,
        settings: Settings,
        *,
        max_attempts: int = 3,
        retry_backoff: float = 0.1,
        max_records: int = 500,
        group_id: str | None = None,
    ):
        self.name = name
        self.group_id = group_id or name
        self.handlers = handlers
        self.session_factory = session_factory
        self.settings = settings
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.max_records = max_records
        self.topics = [settings.topic(t) for t in catalog.topics_for(handlers)]
        self.counts: Counter[str] = Counter()
        self._consumer = None
        self._dlq_producer = None
        self._batches = 0
        self.log = log.bind(consumer=self.name)

    # -- kafka ------------------------------------------------------------------------------

    def _ensure_consumer(self):
        if self._consumer is None:
            self._consumer = kafka_clients.consumer(
                self.settings, self.group_id, max_poll_records=self.max_records
            )
            self._consumer.subscribe(self.topics)
        return self._consumer

    def _ensure_dlq_producer(self):
        if self._dlq_producer is None:
            self._dlq_producer = kafka_clients.producer(self.settings)
        return self._dlq_producer

    # -- applying ---------------------------------------------------------------------------

    def _dead_letter(self, record, reason: str) -> None:
        headers = [
            ("error", reason[:4000].encode()),
            ("original_topic", record.topic.encode()),
            ("original_partition", str(record.partition).encode()),
            ("original_offset", str(record.offset).encode()),
            ("consumer", self.name.encode()),
            ("failed_at", utcnow().isoformat().encode()),
        ]
        self._ensure_dlq_producer().send(
            record.topic + DLQ_SUFFIX, key=record.key, value=record.value, headers=headers
        )
        self.log.error(
            "event sent to dead-letter topic",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
        )

    def _already_applied(self, session: Session, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        rows = session.execute(
            select(consumed_events.c.event_id).where(
                consumed_events.c.consumer == self.name,
                consumed_events.c.event_id.in_(event_ids),
            )
        )
        return {row[0] for row in rows}

    def _run_handler(self, session: Session, event: Event, payload: dict, handler: Handler) -> None:
        with structlog.contextvars.bound_contextvars(
            correlation_id=event.correlation_id, event_id=event.id, event_type=event.type
        ):
            handler(session, event, payload)
            self.log.info("event applied")

    def apply_records(self, records: list) -> list[Outcome]:
        """Apply records in one transaction; return one outcome per record.

        The whole batch is first applied optimistically, without savepoints. If a handler
        fails, that transaction is rolled back and the batch is applied again carefully:
        each event in its own savepoint, retried with backoff, then dead-lettered.
        """
        decoded: list[tuple[object, Event | None, str | None]] = []
        for record in records:
            try:
                decoded.append((record, decode(record.value), None))
            except MalformedEvent as exc:
                decoded.append((record, None, f"malformed: {exc}"))
        try:
            outcomes, letters = self._apply_batch(decoded, careful=False)
        except _HandlerFailed:
            outcomes, letters = self._apply_batch(decoded, careful=True)
        for record, reason in letters:  # only after the transaction committed
            self._dead_letter(record, reason)
        self.counts.update(outcome.status for outcome in outcomes)
        return outcomes

    def _apply_batch(self, decoded: list, careful: bool):
        outcomes: list[Outcome] = []
        letters: list[tuple[object, str]] = []
        applied: list[dict] = []
        with self.session_factory() as session, session.begin():
            seen = self._already_applied(session, [e.id for _, e, _ in decoded if e is not None])
            for record, event, problem in decoded:
                outcome = self._apply_record(session, event, problem, seen, careful, applied)
                if outcome.status == "dead_lettered":
                    letters.append((record, outcome.error))
                outcomes.append(outcome)
            if applied:
                session.execute(insert(consumed_events), applied)
        return outcomes, letters

    def _apply_record(self, session, event, problem, seen, careful, applied) -> Outcome:
        if problem:
            return Outcome("dead_lettered", problem)
        if event.id in seen:
            return Outcome("duplicate")
        handler = self.handlers.get(event.type)
        if handler is None or not catalog.knows(event.type, event.version):
            self.log.warning(
                "skipping unknown event type", event_type=event.type, version=event.version
            )
            return Outcome("skipped")
        try:
            payload = catalog.get(event.type, event.version).load(event.payload)
        except InvalidPayload as exc:
            return Outcome("dead_lettered", f"invalid payload: {exc.messages}")
        seen.add(event.id)
        row = {
            "consumer": self.name,
            "event_id": event.id,
            "event_type": event.type,
            "applied_at": utcnow(),
        }
        if not careful:
            try:
                self._run_handler(session, event, payload, handler)
            except Exception as exc:  # noqa: BLE001 - start again, carefully
                raise _HandlerFailed from exc
            applied.append(row)
            return Outcome("applied")
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                with session.begin_nested():
                    self._run_handler(session, event, payload, handler)
                    session.execute(insert(consumed_events).values(**row))
                return Outcome("applied")
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                last_error = f"{type(exc).__name__}: {exc}"
                self.log.warning(
                    "handler failed", event_id=event.id, attempt=attempt, error=last_error
                )
                if attempt < self.max_attempts:
                    time.sleep(self.retry_backoff * 2 ** (attempt - 1))
        seen.discard(event.id)
        return Outcome("dead_lettered", f"handler failed {self.max_attempts} times: {last_error}")

    # -- the loop ---------------------------------------------------------------------------

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Poll, apply, flush dead letters and commit offsets; return the number of records."""
        consumer = self._ensure_consumer()
        batch = consumer.poll(timeout_ms=timeout_ms, max_records=self.max_records)
        records = [r for partition_records in batch.values() for r in partition_records]
        if not records:
            return 0
        try:
            self.apply_records(records)
        except (IntegrityError, OperationalError) as exc:
            # Another member applied some of these first (a rebalance), or the database was
            # busy: nothing of this batch committed, so read it again from the last commit.
            self.log.warning("batch rolled back, re-reading it", error=str(exc))
            self._rewind(batch)
            return 0
        if self._dlq_producer is not None:
            self._dlq_producer.flush(timeout=30)
        self._batches += 1
        _fault_point("after_db_commit", self._batches)
        offsets = {
            tp: OffsetAndMetadata(recs[-1].offset + 1, "", -1) for tp, recs in batch.items() if recs
        }
        try:
            consumer.commit(offsets)
        except CommitFailedError as exc:
            self.log.warning("offset commit failed after a rebalance", error=str(exc))
        return len(records)

    def assignment(self) -> set:
        """Return the partitions this runner holds now (empty before it joined its group)."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    def _rewind(self, batch: dict) -> None:
        for tp, recs in batch.items():
            if recs:
                self._consumer.seek(TopicPartition(tp.topic, tp.partition), recs[0].offset)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, riding out broker outages."""
        self.log.info("consumer started", topics=self.topics)
        backoff = 0.0
        while not stop.is_set():
            try:
                self.poll_once()
                backoff = 0.0
            except (KafkaError, OSError) as exc:
                backoff = min(5.0, max(0.2, backoff * 2))
                self.log.warning("broker unavailable, will retry", error=str(exc), backoff=backoff)
                stop.wait(backoff)
        self.close()
        self.log.info("consumer stopped", **dict(self.counts))

    def close(self) -> None:
        """Leave the group and close the clients."""
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
        if self._dlq_producer is not None:
            self._dlq_producer.close(timeout=5)
            self._dlq_producer = None


def _fault_point(name: str, count: int) -> None:
    """Fault injection for crash tests: SHILIU_FAULT=after_db_commit:N kills the process there."""
    spec = os.environ.get("SHILIU_FAULT", "")
    if spec.startswith(name + ":") and int(spec.split(":", 1)[1]) == count:
        os.kill(os.getpid(), signal.SIGKILL)
