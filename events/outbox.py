"""The transactional outbox: emit inside the service's transaction, relay to the broker after.

Nothing is published that was not committed, and nothing committed is left unpublished: not
even when the broker that acknowledged it loses it. The relay remembers which broker (its
cluster id) it published to; one that finds itself talking to another broker (the embedded
broker, which keeps nothing, started again; a cluster rebuilt empty) publishes the whole outbox
again, and every consumer de-duplicates by event id.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import datetime

import structlog
from kafka.errors import KafkaError, KafkaTimeoutError
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from events import catalog
from events import kafka as kafka_clients
from events.driver import driver_statement
from events.envelope import Event, utcnow
from events.settings import Settings
from events.store import outbox, relay_state

log = structlog.get_logger(__name__)

# PostgreSQL advisory locks, named after the outbox table they guard (its schema), since
# several services may share one database. Emitting transactions take the first, so outbox
# rows get their sequence numbers in commit order (the relay publishes in that order); it is
# held from the first emit to commit, so services emit as late in a transaction as they can.
# The one relay of a service that may publish holds the second for as long as it runs.
_OUTBOX_LOCK = "SELECT pg_advisory_xact_lock(hashtext('shiliu.outbox:' || current_schema()))"
_RELAY_LOCK = "SELECT pg_try_advisory_lock(hashtext('shiliu.relay:' || current_schema()))"


_OUTBOX_COLUMNS = ("event_id", "event_type", "topic", "key", "value", "created_at")


def locked_insert(after=None):
    """PostgreSQL: the INSERT of one outbox row (the parameters of ``outbox_row``) with the
    outbox lock taken in the same statement, before the row and its sequence number are made
    (a materialized CTE, scanned before each row is built). Given ``after``, a CTE of a
    data-modifying statement run in the same statement, the lock is taken and the row written
    only if that statement returned a row. One statement holds the lock one round trip less
    than a SELECT of the lock followed by the INSERT."""
    lock = select(text(_OUTBOX_LOCK.removeprefix("SELECT ")))
    if after is not None:
        lock = lock.select_from(after)
    row = select(*(bindparam(name, type_=outbox.c[name].type) for name in _OUTBOX_COLUMNS))
    statement = insert(outbox).from_select(
        _OUTBOX_COLUMNS,
        row.select_from(lock.cte("outbox_lock").prefix_with("MATERIALIZED")),
    )
    return statement if after is None else statement.add_cte(after)


# Built once: a statement's SQL is then compiled once and found in the cache by identity.
_LOCKED_INSERT = locked_insert()
_INSERT = insert(outbox).values({name: bindparam(name) for name in _OUTBOX_COLUMNS})


def insert_statement(dialect: str):
    """The INSERT of one outbox row (the parameters of ``outbox_row``) as ``emit`` runs it on
    this dialect: on PostgreSQL with the outbox lock (see ``locked_insert``)."""
    return _LOCKED_INSERT if dialect == "postgresql" else _INSERT


def outbox_row(event: Event, now: datetime | None = None) -> dict:
    """The parameters of an event's outbox row, created ``now`` (by default, now)."""
    return {
        "event_id": event.id,
        "event_type": event.type,
        "topic": catalog.get(event.type, event.version).topic,
        "key": event.key,
        "value": event.encode(),
        "created_at": now or utcnow(),
    }


def emit(session: Session | Connection, event: Event) -> Event:
    """Write an event into the outbox as part of the session's (or connection's) current
    transaction."""
    connection = session if isinstance(session, Connection) else session.connection()
    connection.execute(insert_statement(connection.dialect.name), outbox_row(event))
    return event


def emit_many(session: Session, events: list[Event]) -> None:
    """Write several events into the outbox in one executemany, in list order (on the driver:
    a poll of the ledger emits thousands)."""
    if not events:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text(_OUTBOX_LOCK))
    now = utcnow()  # one time for the batch, converted once
    rows = [outbox_row(event, now) for event in events]
    driver_statement(_INSERT, connection.dialect).many(connection, rows)


def unsent(session: Session, limit: int) -> list:
    """The first ``limit`` events not yet sent, in commit order: what a relay (or the tests'
    in-process runner) hands on next."""
    return session.execute(
        select(outbox.c.seq, outbox.c.topic, outbox.c.key, outbox.c.value)
        .where(outbox.c.sent_at.is_(None))
        .order_by(outbox.c.seq)
        .limit(limit)
    ).all()


def backlog(session: Session) -> int:
    """Count the events committed but not yet acknowledged by the broker."""
    return session.scalar(
        select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
    )


class Relay:
    """Publishes a service's committed outbox rows, in commit order, with the idempotent producer."""

    def __init__(
        self,
        service: str,
        session_factory: sessionmaker,
        settings: Settings,
        batch_size: int = 500,
        idle_wait: float = 0.2,
        max_backoff: float = 5.0,
        identity_interval: float = 1.0,
    ):
        self.service = service
        self.session_factory = session_factory
        self.settings = settings
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.max_backoff = max_backoff
        self.identity_interval = identity_interval
        self._producer = None
        self._admin = None
        self._leader_conn = None
        self._broker_id: str | None = None  # the broker last seen, confirmed in relay_state
        self._identity_checked = 0.0
        self.wakeup = threading.Event()
        self.published = 0
        self.redriven = 0
        self.log = log.bind(service=service, component="relay")

    def _ensure_producer(self):
        if self._producer is None:
            self._producer = kafka_clients.producer(self.settings)
        return self._producer

    def _is_leader(self) -> bool:
        """On PostgreSQL only one relay per service publishes; the others stand by."""
        engine = self.session_factory.kw["bind"]
        if engine.dialect.name != "postgresql":
            return True
        if self._leader_conn is None:
            conn = engine.connect()
            got = conn.scalar(text(_RELAY_LOCK))
            conn.commit()
            if not got:
                conn.close()
                return False
            self._leader_conn = conn
        return True

    def check_broker(self) -> int:
        """Ask the broker who it is; if it is not the one the outbox was published to, mark
        every row unsent (a re-drive) and remember it. Return the rows marked unsent.

        Everything is sent again, not only what a consumer may have missed: the topics are the
        platform's event history (projections and the ledger are rebuilt from them), and a new
        broker holds none of it. Consumers make the repetition harmless."""
        if self._admin is None:
            self._admin = kafka_clients.admin(self.settings)
        current = self._admin.describe_cluster()["cluster_id"] or "unknown"
        self._identity_checked = time.monotonic()
        if current == self._broker_id:
            return 0
        if self._broker_id is not None:
            # The producer's id was issued by the other broker, which this one refuses
            # (UnknownProducerIdError, retried until the delivery timeout): start afresh.
            self._drop_producer()
        marked = 0
        with self.session_factory() as session, session.begin():
            stored = session.scalar(
                select(relay_state.c.broker_id)
                .where(relay_state.c.service == self.service)
                .with_for_update()
            )
            if stored != current:
                marked = session.execute(
                    update(outbox).where(outbox.c.sent_at.is_not(None)).values(sent_at=None)
                ).rowcount
                values = {"broker_id": current, "recorded_at": utcnow()}
                if stored is None:
                    session.execute(insert(relay_state).values(service=self.service, **values))
                else:
                    session.execute(
                        update(relay_state)
                        .where(relay_state.c.service == self.service)
                        .values(**values)
                    )
        if marked:
            self.redriven += marked
            self.log.warning(
                "the broker is not the one the outbox was published to: publishing it again",
                previous=stored,
                broker=current,
                events=marked,
            )
        self._broker_id = current
        return marked

    def publish_pending(self) -> int:
        """Publish one batch of unsent rows and mark them sent once acknowledged; return the count.

        The broker's identity is checked first when it was last checked more than
        ``identity_interval`` ago (and after every broker error): a broker that lost what it
        had acknowledged is found out within that interval."""
        if not self._is_leader():
            return 0
        if time.monotonic() - self._identity_checked >= self.identity_interval:
            self.check_broker()
        with self.session_factory() as session:
            rows = unsent(session, self.batch_size)
        if not rows:
            return 0
        producer = self._ensure_producer()
        futures = [
            producer.send(
                self.settings.topic(row.topic), key=row.key.encode(), value=bytes(row.value)
            )
            for row in rows
        ]
        self._await(producer)
        for future in futures:
            future.get(timeout=30)  # raises if the broker did not acknowledge
        sent_at: datetime = utcnow()
        with self.session_factory() as session, session.begin():
            session.execute(
                update(outbox)
                .where(outbox.c.seq.in_([row.seq for row in rows]))
                .values(sent_at=sent_at)
            )
        self.published += len(rows)
        return len(rows)

    def _await(self, producer) -> None:
        """Wait up to the delivery timeout for what was sent, asking who the broker is every
        ``identity_interval`` meanwhile. A broker that started again in the meantime refuses
        this producer's id (UnknownProducerIdError, retried until the timeout): it is dropped
        at once, and its rows go again with a new producer."""
        deadline = time.monotonic() + kafka_clients.DELIVERY_TIMEOUT_S
        while True:
            try:
                producer.flush(timeout=self.identity_interval)
                return
            except KafkaTimeoutError:
                self.check_broker()  # raises while no broker answers
                if self._producer is not producer or time.monotonic() >= deadline:
                    raise

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set, backing off while the broker is unreachable."""
        backoff = 0.0
        self.log.info("relay started")
        while not stop.is_set():
            try:
                sent = self.publish_pending()
                backoff = 0.0
                if sent < self.batch_size:
                    self.wakeup.wait(self.idle_wait)
                    self.wakeup.clear()
            except Exception as exc:  # noqa: BLE001 - a relay that stops loses nothing but delays all
                backoff = kafka_clients.next_backoff(backoff, self.max_backoff)
                if isinstance(exc, KafkaError | OSError | TimeoutError):
                    self.log.warning(
                        "broker unavailable, will retry", error=str(exc), backoff=backoff
                    )
                else:
                    self.log.exception("relay failed, will retry", backoff=backoff)
                self._drop_clients()
                self._identity_checked = 0.0  # whoever answers next is asked who it is
                stop.wait(backoff)
        self.close()
        self.log.info("relay stopped")

    def _drop_producer(self) -> None:
        # Discarded whatever its close says: kafka-python's close gives up when records are
        # still pending, and its sender then retries them until they expire. Those rows are
        # still unsent here, so whatever it still delivers only arrives twice.
        if self._producer is not None:
            with contextlib.suppress(Exception):
                self._producer.close(timeout=1)
            self._producer = None

    def _drop_clients(self) -> None:
        # Broken clients are discarded whatever their close says.
        self._drop_producer()
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None

    def close(self) -> None:
        """Close the producer and the admin client and release the relay lock."""
        self._drop_clients()
        if self._leader_conn is not None:
            self._leader_conn.close()
            self._leader_conn = None
