"""Reconciliation: every event a producer committed, against every consumer that should apply it.

A producer's outbox holds every event it ever committed; a consumer's ``consumed_events`` holds
every event it applied. An event of a type a consumer handles that is in the first and not in
the second is *unapplied*: still on its way (committed a moment ago, the consumer behind) or
lost (a broker that acknowledged it and then lost it). Nothing here trusts the broker's offsets.

This reads every service's database, as an operator's tool does (``shiliu reconcile``, and the
development supervisor's drain and gauge); no service reads another's tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import sessionmaker

from events.envelope import utcnow
from events.store import consumed_events, outbox

CHUNK = 5000


@dataclass(frozen=True)
class Unapplied:
    """One committed event that a consumer has not applied."""

    producer: str
    consumer: str
    event_type: str
    event_id: str
    created_at: datetime


@dataclass
class Report:
    """What a reconciliation found: unapplied events older than the settle time are missing."""

    checked: int = 0  # (event, consumer) pairs compared, over the whole history
    missing: list[Unapplied] = field(default_factory=list)
    in_flight: list[Unapplied] = field(default_factory=list)

    @property
    def unapplied(self) -> list[Unapplied]:
        """Missing and in flight together."""
        return self.missing + self.in_flight

    def counts(self) -> Counter:
        """Missing events by (producer, consumer, event type)."""
        return Counter((u.producer, u.consumer, u.event_type) for u in self.missing)


class Reconciler:
    """Compares producers' outboxes with consumers' applied events, incrementally.

    The first ``refresh`` reads the whole history; later ones read only the outbox rows added
    since, and ask again about the events that were unapplied last time."""

    def __init__(self, factories: dict[str, sessionmaker], handled: dict[str, Iterable[str]]):
        self.factories = factories
        self.handled = {name: frozenset(types) for name, types in handled.items()}
        self._last_seq: dict[str, int] = {}
        self._pending: dict[tuple[str, str], Unapplied] = {}  # (consumer, event id) -> gap
        self._checked = 0

    def producers(self) -> list[str]:
        """The services whose database has an outbox."""
        found = []
        for name, factory in self.factories.items():
            with factory() as session:
                if inspect(session.connection()).has_table(outbox.name):
                    found.append(name)
        return found

    def refresh(
        self,
        settle: float = 0.0,
        set_aside: Callable[[str, str], bool] | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> Report:
        """Read what was committed and applied since the last refresh and report what is still
        unapplied; ``set_aside(consumer, event_id)`` excuses events a consumer will never
        apply (it dead-lettered them), and events younger than ``settle`` seconds are in
        flight rather than missing. ``progress(n)`` is told of each chunk of outbox rows read."""
        if not self._last_seq:
            self._last_seq = dict.fromkeys(self.producers(), 0)
        for producer in self._last_seq:
            self._read_outbox(producer, progress)
        by_consumer: dict[str, list[str]] = {}
        for consumer, event_id in self._pending:
            by_consumer.setdefault(consumer, []).append(event_id)
        for consumer, ids in by_consumer.items():
            for applied in _applied(self.factories[consumer], consumer, ids):
                del self._pending[(consumer, applied)]
        report = Report(checked=self._checked)
        horizon = utcnow() - timedelta(seconds=settle)
        for gap in sorted(self._pending.values(), key=lambda g: (g.created_at, g.event_id)):
            if set_aside is not None and set_aside(gap.consumer, gap.event_id):
                continue
            (report.missing if _aware(gap.created_at) <= horizon else report.in_flight).append(gap)
        return report

    def _read_outbox(self, producer: str, progress) -> None:
        while True:
            with self.factories[producer]() as session:
                rows = session.execute(
                    select(
                        outbox.c.seq, outbox.c.event_id, outbox.c.event_type, outbox.c.created_at
                    )
                    .where(outbox.c.seq > self._last_seq[producer])
                    .order_by(outbox.c.seq)
                    .limit(CHUNK)
                ).all()
            if not rows:
                return
            self._last_seq[producer] = rows[-1].seq
            if progress is not None:
                progress(len(rows))
            for consumer, types in self.handled.items():
                wanted = {
                    row.event_id: Unapplied(
                        producer, consumer, row.event_type, row.event_id, row.created_at
                    )
                    for row in rows
                    if row.event_type in types
                }
                self._checked += len(wanted)
                for applied in _applied(self.factories[consumer], consumer, list(wanted)):
                    del wanted[applied]
                for event_id, gap in wanted.items():
                    self._pending[(consumer, event_id)] = gap


def _applied(factory: sessionmaker, consumer: str, event_ids: list[str]) -> set[str]:
    """The ids among ``event_ids`` that ``consumer`` has applied."""
    found: set[str] = set()
    with factory() as session:
        for start in range(0, len(event_ids), 1000):
            found.update(
                session.scalars(
                    select(consumed_events.c.event_id).where(
                        consumed_events.c.consumer == consumer,
                        consumed_events.c.event_id.in_(event_ids[start : start + 1000]),
                    )
                )
            )
    return found


def _aware(moment: datetime) -> datetime:
    """SQLite gives times back without their zone; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def redrive(factories: dict[str, sessionmaker], gaps: Iterable[Unapplied]) -> int:
    """Mark the outbox rows of ``gaps`` unsent, so their producers' relays publish them again
    (every consumer de-duplicates); return the rows marked."""
    by_producer: dict[str, set[str]] = {}
    for gap in gaps:
        by_producer.setdefault(gap.producer, set()).add(gap.event_id)
    marked = 0
    for producer, ids in by_producer.items():
        ordered = sorted(ids)
        with factories[producer]() as session, session.begin():
            for start in range(0, len(ordered), 1000):
                marked += session.execute(
                    update(outbox)
                    .where(outbox.c.event_id.in_(ordered[start : start + 1000]))
                    .values(sent_at=None)
                ).rowcount
    return marked
