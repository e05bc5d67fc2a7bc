"""The in-process runner: each part's committed outbox handed straight to the consuming parts.

For work about domain rules, not about the backbone (tests, chiefly): no broker, no relay, no
consumer groups. One thread takes each part's unsent outbox rows in commit order and gives them,
as records, to a ``ConsumerRunner`` per consuming part: the same handlers, the same
``consumed_events`` de-duplication, the same careful pass and retries the real consumers use.
Rows are marked sent once every consuming part applied them, as the relay marks them once the
broker acknowledged them; it goes on until nothing is left to hand on.

What it does not do is what the backbone promises and is tested on a real broker: publishing
after commit to a broker that may lose it, offsets, redelivery, rebalances, dead letters on
``<topic>.dlq`` (here they are kept in ``dead_letters``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import structlog
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import sessionmaker

from events import catalog
from events.consumer import ConsumerRunner, Handler
from events.envelope import Event, utcnow
from events.outbox import unsent
from events.settings import Settings
from events.store import outbox

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Record:
    """An outbox row as a consumer receives it from the broker."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: list = field(default_factory=list)


class LocalConsumer(ConsumerRunner):
    """A ``ConsumerRunner`` that keeps its dead letters in a list instead of publishing them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dead_letters: list[tuple[Record, str]] = []

    def _dead_letter(self, record, reason: str) -> None:
        self.dead_letters.append((record, reason))
        self.log.error("event set aside (in-process runner)", offset=record.offset, reason=reason)


class InProcessRunner:
    """Hands every part's committed outbox rows to the parts that consume them, until quiet.

    ``factories`` are the session factories of every part with an outbox, by part name;
    ``handlers`` the consumer handlers of every consuming part, by part name (as
    ``infra.registry.Part.handlers`` gives them)."""

    def __init__(
        self,
        factories: dict[str, sessionmaker],
        handlers: dict[str, dict[str, Handler]],
        settings: Settings,
        batch_size: int = 500,
    ):
        self.factories = factories
        self.settings = settings
        self.batch_size = batch_size
        self.consumers = {
            name: LocalConsumer(name, handled, factories[name], settings, retry_backoff=0.01)
            for name, handled in handlers.items()
            if handled
        }
        self._topics = {
            name: set(catalog.topics_for(handled)) for name, handled in handlers.items()
        }
        self._lock = threading.Lock()
        self.handed_on = 0

    def step(self) -> int:
        """Hand on one batch of each part's unsent rows; return how many rows were handed on."""
        with self._lock:
            return sum(self._hand_on(part) for part in self.factories)

    def _hand_on(self, part: str) -> int:
        factory = self.factories[part]
        with factory() as session:
            rows = unsent(session, self.batch_size)
        if not rows:
            return 0
        for name, consumer in self.consumers.items():
            mine = [
                Record(
                    self.settings.topic(row.topic), 0, row.seq, row.key.encode(), bytes(row.value)
                )
                for row in rows
                if row.topic in self._topics[name]
            ]
            if mine:
                consumer.apply_records(mine)
        with factory() as session, session.begin():
            session.execute(
                update(outbox)
                .where(outbox.c.seq.in_([row.seq for row in rows]))
                .values(sent_at=utcnow())
            )
        self.handed_on += len(rows)
        return len(rows)

    def deliver(self, events: list[Event]) -> None:
        """Hand events to the parts that consume them as if a producer outside had published
        them (what a test would otherwise send to the broker), then run until quiet."""
        with self._lock:
            for name, consumer in self.consumers.items():
                mine = [
                    Record(
                        self.settings.topic(entry.topic),
                        0,
                        offset,
                        event.key.encode(),
                        event.encode(),
                    )
                    for offset, (event, entry) in enumerate(
                        (event, catalog.get(event.type, event.version)) for event in events
                    )
                    if entry.topic in self._topics[name]
                ]
                if mine:
                    consumer.apply_records(mine)
        self.run_until_quiet()

    def run_until_quiet(self, most: int = 1000) -> int:
        """Hand on until no part has an unsent row (at most ``most`` rounds); return the count."""
        total = 0
        for _ in range(most):
            moved = self.step()
            if not moved:
                return total
            total += moved
        raise RuntimeError(f"the outboxes did not settle in {most} rounds")

    def run(self, stop: threading.Event, idle_wait: float = 0.02) -> None:
        """Hand on until ``stop`` is set (a background thread's loop)."""
        while not stop.is_set():
            try:
                moved = self.step()
            except (IntegrityError, OperationalError) as exc:
                # Nothing of that batch is marked sent: it is handed on again, and the parts
                # that applied it already find it recorded (a duplicate).
                log.warning("batch rolled back, handing it on again", error=str(exc))
                moved = 0
            except Exception:  # noqa: BLE001 - like a relay: log, wait, try again
                log.exception("in-process runner failed, will retry")
                moved = 0
            if not moved:
                stop.wait(idle_wait)
