"""A consumer's reader process: Kafka, decoding and validation on a core of their own.

kafka-python checks each record batch's CRC in pure Python, and marshmallow validates in pure
Python: together they are more than a third of the ledger's work per event, and under the GIL a
thread would not take them off the core that applies events to the database. A
``ConsumerRunner`` made with ``reader_process=True`` leaves them to a child process:

- the child is the group member: it polls, decodes and validates each poll's records
  (``prepare``), and sends them to the parent as one batch;
- the parent applies whatever batches have arrived (whole, until they reach
  ``max_transaction_records``) in one transaction, then tells the child which offsets to commit; so under load a transaction takes
  several polls (fewer, larger commits), and when idle each poll is applied as it comes;
- at most ``depth`` batches wait in the parent; beyond that the child pauses its partitions and
  keeps polling, so it stays in its group while the parent is busy;
- a rolled-back transaction rewinds the child to the committed offsets of every partition it
  holds; the batches fetched before that are dropped (they carry an older generation);
- the child dies with its parent (``PR_SET_PDEATHSIG`` on Linux, and it stops when the pipe
  closes); a child that died is started again by the parent, from the committed offsets.

Nothing about exactly-once changes: offsets are committed only after the transaction that
claimed the events committed, and a redelivered event finds its claim.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Collection
from typing import NamedTuple

import structlog
from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from events import catalog
from events import kafka as kafka_clients
from events.catalog import InvalidPayload
from events.envelope import MalformedEvent, decode
from events.settings import Settings

log = structlog.get_logger(__name__)


class Record(NamedTuple):
    """What the parent keeps of a Kafka record: where it came from and its bytes (for the
    offsets to commit, and for a dead letter)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


def prepare(records: list, handled: Collection[str], logger) -> list[tuple]:
    """Decide what can be decided without the database, for each record in order:
    ``(record, outcome, event, payload)`` with an ``(status, error)`` outcome for a malformed
    record, an unknown type or version, an invalid payload or a repeat within the poll, else the
    event and its validated payload (outcome None). Payloads of one type are validated together.
    """
    prepared: list[list] = []
    by_type: dict[tuple[str, int], list[list]] = defaultdict(list)
    for record in records:
        try:
            event = decode(record.value)
        except MalformedEvent as exc:
            prepared.append([record, ("dead_lettered", f"malformed: {exc}"), None, None])
            continue
        item = [record, None, event, None]
        if event.type not in handled or not catalog.knows(event.type, event.version):
            logger.warning(
                "skipping unknown event type", event_type=event.type, version=event.version
            )
            item[1] = ("skipped", None)
        else:
            by_type[(event.type, event.version)].append(item)
        prepared.append(item)
    for (name, version), items in by_type.items():
        loaded = catalog.get(name, version).load_many([item[2].payload for item in items])
        for item, payload in zip(items, loaded, strict=True):
            if isinstance(payload, InvalidPayload):
                item[1] = ("dead_lettered", f"invalid payload: {payload.messages}")
            else:
                item[3] = payload
    in_poll: set[str] = set()  # the ids admitted so far from this poll
    for item in prepared:
        if item[1] is None:
            if item[2].id in in_poll:
                item[1] = ("duplicate", None)
            in_poll.add(item[2].id)
    return [tuple(item) for item in prepared]


def first_and_next_offsets(records) -> tuple[dict, dict]:
    """Per (topic, partition) of ``records``: the first offset, and the offset after the last."""
    first: dict[tuple[str, int], int] = {}
    after: dict[tuple[str, int], int] = {}
    for record in records:
        place = (record.topic, record.partition)
        first.setdefault(place, record.offset)
        after[place] = record.offset + 1
    return first, after


class ReaderProcess:
    """The parent's side of a reader process (see the module's doc)."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        group_id: str,
        topics: list[str],
        handled: Collection[str],
        max_records: int,
        depth: int = 8,
    ):
        self.name = name
        self._args = (name, settings, group_id, list(topics), sorted(handled), max_records, depth)
        self._process = None
        self._conn = None
        self._batches: queue.Queue = queue.Queue()
        self._assignment: set[TopicPartition] = set()
        self._assigned = threading.Event()  # set while the child holds partitions
        self._generation = 0  # batches of an older generation were fetched before a rewind
        self.log = log.bind(consumer=name)

    def _ensure_started(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        if self._process is not None:
            self.log.warning("reader process ended, starting it again", code=self._process.exitcode)
            self._stop_process()
        context = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self._conn, child_end = context.Pipe()
        level = logging.getLogger().getEffectiveLevel()
        self._process = context.Process(
            target=_child_main,
            args=(child_end, *self._args, logging.getLevelName(level)),
            name=f"{self.name}-reader",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self._batches = queue.Queue()
        self._assignment = set()
        self._assigned.clear()
        self._generation = 0
        threading.Thread(
            target=self._pump,
            args=(self._conn, self._batches),
            name=f"{self.name}-pump",
            daemon=True,
        ).start()

    def _pump(self, conn, batches: queue.Queue) -> None:
        """Receive the child's messages: batches to the queue, assignments to the runner."""
        while True:
            try:
                kind, *body = conn.recv()
            except (EOFError, OSError):
                return
            if kind == "batch":
                batches.put(body)
            elif kind == "assignment" and batches is self._batches:
                self._assignment = {TopicPartition(t, p) for t, p in body[0]}
                (self._assigned.set if self._assignment else self._assigned.clear)()

    def _send(self, *message) -> None:
        with contextlib.suppress(OSError, ValueError):  # a dead child is started again on take
            self._conn.send(message)

    def take(self, timeout_ms: int, max_records: int) -> list[tuple]:
        """Wait up to ``timeout_ms`` for a batch, then take the batches that are waiting too,
        whole, until ``max_records`` records are taken; return their prepared records, in order."""
        self._ensure_started()
        taken: list[tuple] = []
        deadline = time.monotonic() + timeout_ms / 1000
        credit = 0
        while len(taken) < max_records:
            wait = deadline - time.monotonic() if not taken else 0
            try:
                generation, items = (
                    self._batches.get(timeout=wait) if wait > 0 else self._batches.get_nowait()
                )
            except queue.Empty:
                break
            credit += 1
            if generation == self._generation:
                taken += items
        if credit:
            self._send("credit", credit)
        return [(Record(*record), *rest) for record, *rest in taken]

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Have the child commit these offsets (the next offset to read, per partition)."""
        self._send("commit", offsets)

    def rewind(self) -> None:
        """Have the child read every partition it holds again from its committed offset (the
        offsets of every transaction that committed were sent before this), and drop the
        batches fetched since: they may hold records of any partition, not only the refused
        transaction's."""
        self._generation += 1
        self._send("rewind")

    def assignment(self) -> set[TopicPartition]:
        """The partitions the child holds, as it last said."""
        return set(self._assignment)

    def wait_for_assignment(self, timeout: float = 60.0) -> None:
        """Start the child and block until it holds partitions (what it fetches meanwhile waits
        for the next ``take``)."""
        self._ensure_started()
        deadline = time.monotonic() + timeout
        while not self._assigned.wait(0.2):
            if time.monotonic() > deadline:
                raise TimeoutError("consumer group did not assign partitions in time")
            if not self._process.is_alive():
                raise RuntimeError(f"reader process ended with code {self._process.exitcode}")

    def _stop_process(self, timeout: float = 10.0) -> None:
        self._send("stop")
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        with contextlib.suppress(OSError):
            self._conn.close()
        self._process = None

    def close(self) -> None:
        """Stop the child: it leaves its group without committing anything more."""
        if self._process is not None:
            self._stop_process()


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _child_main(conn, name, settings, group_id, topics, handled, max_records, depth, level):
    """The reader process: poll, prepare and send batches; commit and rewind as told."""
    _die_with_parent()
    # Ctrl-C, a closed terminal and a SIGTERM to the process group reach the reader too: the
    # parent decides when it stops (it drains first; it dies with the parent, PDEATHSIG).
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    parent = os.getppid()
    from events import logs

    logs.configure(settings.log_format, level=level)
    logger = log.bind(consumer=name, process="reader")
    handled = frozenset(handled)
    consumer = kafka_clients.consumer(settings, group_id, max_poll_records=max_records)
    consumer.subscribe(topics)
    generation, credit, told = 0, depth, None
    backoff = 0.0
    try:
        while os.getppid() == parent:
            # What the parent said: credit for batches it took, offsets to commit, a rewind.
            while conn.poll(0 if credit > 0 else 0.05):
                kind, *body = conn.recv()
                if kind == "stop":
                    return
                if kind == "credit":
                    credit += body[0]
                elif kind == "commit":
                    _commit(consumer, body[0], logger)
                elif kind == "rewind":
                    generation += 1
                    _seek_to_committed(consumer)
            try:
                # With no credit the partitions are paused: poll only to stay in the group.
                held = consumer.assignment()
                paused = consumer.paused()
                if credit <= 0 and held - paused:
                    consumer.pause(*(held - paused))
                elif credit > 0 and paused:
                    consumer.resume(*paused)
                polled = consumer.poll(timeout_ms=100, max_records=max_records)
                backoff = 0.0
            except (KafkaError, OSError) as exc:
                backoff = kafka_clients.next_backoff(backoff)
                logger.warning("broker unavailable, will retry", error=str(exc), backoff=backoff)
                time.sleep(backoff)
                continue
            held = {(tp.topic, tp.partition) for tp in consumer.assignment()}
            if held != told:
                told = held
                conn.send(("assignment", sorted(held)))
            records = [
                Record(r.topic, r.partition, r.offset, r.key, r.value)
                for partition_records in polled.values()
                for r in partition_records
            ]
            if records:
                items = [
                    (tuple(record), *rest) for record, *rest in prepare(records, handled, logger)
                ]
                conn.send(("batch", generation, items))
                credit -= 1
    except (EOFError, OSError, KeyboardInterrupt):
        return  # the parent is gone
    finally:
        with contextlib.suppress(Exception):
            consumer.close(autocommit=False)


def _seek_to_committed(consumer) -> None:
    """Read every held partition again from its committed offset (from its start if none)."""
    for tp in consumer.assignment():
        offset = consumer.committed(tp)
        if offset is None:
            consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, offset)


def _commit(consumer, offsets: dict[tuple[str, int], int], logger) -> None:
    try:
        consumer.commit(
            {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}
        )
    except KafkaError as exc:  # after a rebalance: the next member reads them again (claimed)
        logger.warning("offset commit failed", error=str(exc))
