"""The consumer runner: exactly-once effect on at-least-once delivery.

Each poll's records are applied in one database transaction that also records every applied
event id; offsets are committed only after that transaction committed. (With a reader process,
``events/reader.py``, one transaction takes the polls that have arrived, up to
``max_transaction_records`` records.) A redelivered event
finds its id recorded and changes nothing. A handler that keeps failing sends its event to
``<topic>.dlq`` with the error, and processing moves on. Unknown types and versions are
skipped, counted and logged.

A handler made with ``batched(apply_many)`` can also be given many events at once: on the
optimistic pass the runner calls ``apply_many`` once for each run of consecutive events (in the
poll's order) whose handlers share it, so a service can load what a whole poll needs in a few
queries and write in bulk. If anything fails, the careful pass applies every event on its own.
"""

from __future__ import annotations

import functools
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
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from events import catalog
from events import kafka as kafka_clients
from events.catalog import DLQ_SUFFIX
from events.envelope import Event, utcnow
from events.reader import ReaderProcess, first_and_next_offsets, prepare
from events.settings import Settings
from events.store import consumed_events

log = structlog.get_logger(__name__)

Handler = Callable[[Session, Event, dict], None]
"""A handler receives the session, the event and its validated payload."""

BatchHandler = Callable[[Session, list[tuple[Event, dict]]], None]
"""A batch handler receives the session and (event, validated payload) pairs, in order; it must
leave the database as applying them one by one, in that order, would."""


def batched(apply_many: BatchHandler) -> Handler:
    """A handler that applies one event through ``apply_many``, which the runner may also call
    with a run of consecutive events whose handlers share it."""

    def handler(session: Session, event: Event, payload: dict) -> None:
        apply_many(session, [(event, payload)])

    handler.apply_many = apply_many
    handler.__doc__ = apply_many.__doc__
    return handler


class _HandlerFailed(Exception):
    """A handler failed on the optimistic pass; the batch is applied again carefully."""


@dataclass
class Outcome:
    """What happened to one record."""

    status: str  # applied | duplicate | skipped | dead_lettered
    error: str | None = None


@dataclass(slots=True)
class _Prepared:
    """One record of a poll as it stands before the database is asked: an outcome already, or
    its event, validated payload and handler."""

    record: object
    outcome: Outcome | None
    event: Event | None = None
    payload: dict | None = None
    handler: Handler | None = None


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
        reader_process: bool = False,
        max_transaction_records: int = 4000,
    ):
        self.name = name
        self.group_id = group_id or name
        self.handlers = handlers
        self.session_factory = session_factory
        self.settings = settings
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.max_records = max_records
        self.max_transaction_records = max_transaction_records
        self.topics = [settings.topic(t) for t in catalog.topics_for(handlers)]
        self.counts: Counter[str] = Counter()
        # Events of the types it handles that this runner dead-lettered or skipped (an unknown
        # version): they will not be applied, so a drain does not wait for them.
        self.set_aside: set[str] = set()
        self._consumer = None
        self._dlq_producer = None
        self._batches = 0
        self.log = log.bind(consumer=self.name)
        self.reader = (
            ReaderProcess(name, settings, self.group_id, self.topics, set(handlers), max_records)
            if reader_process
            else None
        )

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

    def _claim(self, session: Session, events: list[Event]) -> set[str]:
        """Record events as applied by this consumer, in this transaction; return the ids that
        were not recorded before (a redelivered event finds its id there and is a duplicate).

        Insert-or-nothing on the primary key: no plan to go wrong as the table grows, and
        another member of the group that applied an event first makes it a duplicate here.
        """
        if not events:
            return set()
        now = utcnow()
        rows = [
            {"consumer": self.name, "event_id": e.id, "event_type": e.type, "applied_at": now}
            for e in events
        ]
        return set(session.scalars(_claim_statement(session.get_bind().dialect.name), rows))

    def _unclaim(self, session: Session, event_id: str) -> None:
        """Forget an event this transaction claimed but could not apply (it is dead-lettered)."""
        session.execute(
            delete(consumed_events).where(
                consumed_events.c.consumer == self.name, consumed_events.c.event_id == event_id
            )
        )

    def _run_handler(self, session: Session, event: Event, payload: dict, handler: Handler) -> None:
        with structlog.contextvars.bound_contextvars(
            correlation_id=event.correlation_id, event_id=event.id, event_type=event.type
        ):
            handler(session, event, payload)
            self.log.info("event applied")

    def apply_records(self, records: list) -> list[Outcome]:
        """Apply records in one transaction; return one outcome per record.

        Records are decoded and their payloads validated first, outside the transaction. The
        whole batch is then applied optimistically, without savepoints, each run of
        consecutive events that share a batch handler in one call. If a handler fails, that
        transaction is rolled back and the batch is applied again carefully: each event on its
        own in a savepoint, retried with backoff, then dead-lettered.
        """
        return self._apply_prepared(self._prepare(records))

    def _apply_prepared(self, prepared: list[_Prepared]) -> list[Outcome]:
        try:
            outcomes, letters = self._apply_batch(prepared, careful=False)
        except _HandlerFailed:
            outcomes, letters = self._apply_batch(prepared, careful=True)
        for record, reason in letters:  # only after the transaction committed
            self._dead_letter(record, reason)
        self.counts.update(outcome.status for outcome in outcomes)
        self.set_aside.update(
            item.event.id
            for item, outcome in zip(prepared, outcomes, strict=True)
            if outcome.status in ("skipped", "dead_lettered")
            and item.event is not None
            and item.event.type in self.handlers
        )
        return outcomes

    def _prepare(self, records: list) -> list[_Prepared]:
        """Decode and validate a poll's records here (``reader.prepare``), with their handlers."""
        return self._prepared(prepare(records, self.handlers, self.log))

    def _prepared(self, items: list[tuple]) -> list[_Prepared]:
        """``_Prepared`` records, with their handlers, from what ``reader.prepare`` gave."""
        return [
            _Prepared(record, Outcome(*outcome), event, payload)
            if outcome is not None
            else _Prepared(record, None, event, payload, self.handlers[event.type])
            for record, outcome, event, payload in items
        ]

    def _apply_batch(self, prepared: list[_Prepared], careful: bool):
        outcomes: list[Outcome | None] = []
        letters: list[tuple[object, str]] = []
        admitted: list[tuple[int, object, Event, dict, Handler]] = []
        for item in prepared:
            if item.outcome is not None:
                if item.outcome.status == "dead_lettered":
                    letters.append((item.record, item.outcome.error))
                outcomes.append(item.outcome)
            else:
                admitted.append(
                    (len(outcomes), item.record, item.event, item.payload, item.handler)
                )
                outcomes.append(None)
        with self.session_factory() as session, session.begin():
            new = self._claim(session, [event for _, _, event, _, _ in admitted])
            pending = []
            for index, record, event, payload, handler in admitted:
                if event.id not in new:
                    outcomes[index] = Outcome("duplicate")
                elif careful:
                    outcomes[index] = self._apply_carefully(session, event, payload, handler)
                    if outcomes[index].status == "dead_lettered":
                        self._unclaim(session, event.id)
                        letters.append((record, outcomes[index].error))
                else:
                    pending.append((event, payload, handler))
                    outcomes[index] = Outcome("applied")
            if pending:
                try:
                    self._apply_optimistically(session, pending)
                except Exception as exc:  # noqa: BLE001 - start again, carefully
                    raise _HandlerFailed from exc
        return outcomes, letters

    def _apply_optimistically(self, session: Session, admitted: list) -> None:
        """Apply events in order, handing each run of events that share a batch handler to it."""
        start = 0
        while start < len(admitted):
            apply_many = getattr(admitted[start][2], "apply_many", None)
            end = start + 1
            if apply_many is None:
                event, payload, handler = admitted[start]
                self._run_handler(session, event, payload, handler)
            else:
                while end < len(admitted) and (
                    getattr(admitted[end][2], "apply_many", None) is apply_many
                ):
                    end += 1
                run = [(event, payload) for event, payload, _ in admitted[start:end]]
                apply_many(session, run)
                self.log.info(
                    "events applied",
                    count=len(run),
                    event_types=sorted({event.type for event, _ in run}),
                    first_event_id=run[0][0].id,
                    last_event_id=run[-1][0].id,
                )
            start = end

    def _apply_carefully(self, session, event, payload, handler) -> Outcome:
        """Apply one event in a savepoint, retried with backoff; dead-lettered if it keeps failing."""
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                with session.begin_nested():
                    self._run_handler(session, event, payload, handler)
                return Outcome("applied")
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                last_error = f"{type(exc).__name__}: {exc}"
                self.log.warning(
                    "handler failed", event_id=event.id, attempt=attempt, error=last_error
                )
                if attempt < self.max_attempts:
                    time.sleep(self.retry_backoff * 2 ** (attempt - 1))
        return Outcome("dead_lettered", f"handler failed {self.max_attempts} times: {last_error}")

    # -- the loop ---------------------------------------------------------------------------

    def poll_once(self, timeout_ms: int = 500) -> int:
        """Poll, apply, flush dead letters and commit offsets; return the number of records.

        With a reader process, what it has fetched is applied, up to
        ``max_transaction_records`` records in one transaction."""
        if self.reader is not None:
            prepared = self._prepared(self.reader.take(timeout_ms, self.max_transaction_records))
        else:
            batch = self._ensure_consumer().poll(
                timeout_ms=timeout_ms, max_records=self.max_records
            )
            prepared = self._prepare([r for records in batch.values() for r in records])
        if not prepared:
            return 0
        first, after = first_and_next_offsets(item.record for item in prepared)
        try:
            self._apply_prepared(prepared)
        except (IntegrityError, OperationalError) as exc:
            # A constraint refused part of this batch, or the database was busy: nothing of it
            # committed, so read it again from the last commit. (Events another member of the
            # group applied first are no error: they are claimed already, so duplicates here.)
            self.log.warning("batch rolled back, re-reading it", error=str(exc))
            self._rewind(first)
            return 0
        if self._dlq_producer is not None:
            self._dlq_producer.flush(timeout=30)
        self._batches += 1
        _fault_point(self.settings.fault, "after_db_commit", self._batches)
        self._commit(after)
        return len(prepared)

    def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        if self.reader is not None:
            self.reader.commit(offsets)
            return
        try:
            self._consumer.commit(
                {
                    TopicPartition(*place): OffsetAndMetadata(o, "", -1)
                    for place, o in offsets.items()
                }
            )
        except CommitFailedError as exc:
            self.log.warning("offset commit failed after a rebalance", error=str(exc))

    def _rewind(self, offsets: dict[tuple[str, int], int]) -> None:
        if self.reader is not None:
            self.reader.rewind()  # to the committed offsets: it may have fetched further ahead
            return
        for place, offset in offsets.items():
            self._consumer.seek(TopicPartition(*place), offset)

    def assignment(self) -> set:
        """Return the partitions this runner holds now (empty before it joined its group)."""
        if self.reader is not None:
            return self.reader.assignment()
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    def wait_for_assignment(self, timeout: float = 60.0) -> None:
        """Join the group and block until partitions are assigned (nothing polled is lost)."""
        if self.reader is not None:
            self.reader.wait_for_assignment(timeout)
        else:
            kafka_clients.wait_for_assignment(self._ensure_consumer(), timeout)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, riding out broker outages."""
        self.log.info("consumer started", topics=self.topics)
        backoff = 0.0
        while not stop.is_set():
            try:
                self.poll_once()
                backoff = 0.0
            except (KafkaError, OSError) as exc:
                backoff = kafka_clients.next_backoff(backoff)
                self.log.warning("broker unavailable, will retry", error=str(exc), backoff=backoff)
                stop.wait(backoff)
        self.close()
        self.log.info("consumer stopped", **dict(self.counts))

    def close(self) -> None:
        """Leave the group and close the clients."""
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
        if self.reader is not None:
            self.reader.close()
        if self._dlq_producer is not None:
            self._dlq_producer.close(timeout=5)
            self._dlq_producer = None


@functools.cache
def _claim_statement(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return (
        dialect_insert(consumed_events)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(consumed_events.c.event_id)
    )


def _fault_point(spec: str, name: str, count: int) -> None:
    """Fault injection for crash tests: SHILIU_FAULT=after_db_commit:N kills the process there."""
    if spec.startswith(name + ":") and int(spec.split(":", 1)[1]) == count:
        os.kill(os.getpid(), signal.SIGKILL)
