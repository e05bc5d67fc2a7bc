"""Rebuild the ledger from the event history into a fresh database and compare checksums.

Source: the topics themselves, read from offset 0 by a reader outside any consumer group (topics
keep every event: ``shiliu topics --retention-ms -1``). The rebuild applies exactly the events
the live ledger has applied (the ids in its ``consumed_events``), through the same consumer code,
in each partition's order; events the live consumer has not reached yet are left out, so a
rebuild can run beside a live ledger. What is not an event is copied from the live database in
the same snapshot: the versions of the points rule and the manual adjustments (an approved
adjustment's row is written again from it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import TopicPartition
from sqlalchemy import func, insert, select, text

from events import catalog
from events import kafka as kafka_clients
from events.consumer import ConsumerRunner
from events.envelope import MalformedEvent, decode
from events.settings import Settings
from events.store import consumed_events
from services.common.db import make_engine, make_session_factory, upgrade
from services.common.states import AdjustmentStatus
from services.ledger import chain, operations
from services.ledger.handlers import HANDLERS
from services.ledger.models import Adjustment, LedgerEntry, PointsRule

CONSUMER = "ledger"


@dataclass(frozen=True)
class Rebuild:
    """The two checksums and what the rebuild applied."""

    live_checksum: str
    rebuilt_checksum: str
    live_rows: int
    rebuilt_rows: int
    events: int
    adjustments: int

    @property
    def equal(self) -> bool:
        """True when the rebuilt ledger is the live one."""
        return self.live_checksum == self.rebuilt_checksum and self.live_rows == self.rebuilt_rows


def _columns(row) -> dict:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


def _snapshot(live_url: str):
    engine = make_engine(live_url)
    try:
        options = {}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        with engine.connect().execution_options(**options) as conn:
            session = make_session_factory(conn)()
            with session.begin():
                ids = set(
                    session.scalars(
                        select(consumed_events.c.event_id).where(
                            consumed_events.c.consumer == CONSUMER
                        )
                    )
                )
                rules = [_columns(rule) for rule in session.scalars(select(PointsRule))]
                adjustments = [_columns(a) for a in session.scalars(select(Adjustment))]
                rows = session.scalar(select(func.count()).select_from(LedgerEntry))
                checksum = chain.checksum(session)
            session.close()
    finally:
        engine.dispose()
    return ids, rules, adjustments, rows, checksum


def rebuild(
    settings: Settings,
    live_url: str,
    target_url: str,
    timeout: float = 300.0,
    progress=None,
    idle_seconds: float = 15.0,
) -> Rebuild:
    """Rebuild the ledger of ``live_url`` into the fresh database ``target_url``; raise
    ``IncompleteHistory`` when the topics stop giving records (for ``idle_seconds``) before
    every event the live ledger applied was found."""
    wanted, rules, adjustments, live_rows, live_checksum = _snapshot(live_url)
    upgrade("ledger", target_url)
    engine = make_engine(target_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session, session.begin():
            used = session.scalar(select(func.count()).select_from(LedgerEntry))
            used += session.scalar(select(func.count()).select_from(consumed_events))
            if used:
                raise RuntimeError(f"{target_url} is not a fresh ledger database")
            session.execute(text("DELETE FROM points_rules"))
            session.execute(insert(PointsRule), rules)
        applied = _apply_history(settings, factory, wanted, timeout, progress, idle_seconds)
        with factory() as session, session.begin():
            for values in sorted(adjustments, key=lambda a: (a["requested_at"], a["id"])):
                session.add(Adjustment(**{**values, "entry_id": None}))
            session.flush()
            approved = session.scalars(
                select(Adjustment)
                .where(Adjustment.status == AdjustmentStatus.APPROVED)
                .order_by(Adjustment.approved_at, Adjustment.id)
            ).all()
            for adjustment in approved:
                operations.post_adjustment(session, adjustment)
        with factory() as session:
            rebuilt_rows = session.scalar(select(func.count()).select_from(LedgerEntry))
            rebuilt_checksum = chain.checksum(session)
    finally:
        engine.dispose()
    return Rebuild(
        live_checksum, rebuilt_checksum, live_rows, rebuilt_rows, applied, len(adjustments)
    )


class IncompleteHistory(RuntimeError):
    """The topics do not hold every event the live ledger applied."""

    def __init__(self, absent: int, wanted: int):
        super().__init__(
            f"the topics hold only {wanted - absent} of the {wanted} events the live ledger "
            f"applied (the broker was started again empty, or retention removed them): publish "
            f"the outboxes again with `shiliu republish` (`shiliu dev` does it when it starts), "
            f"then replay"
        )
        self.absent = absent


def _apply_history(
    settings: Settings,
    factory,
    wanted: set[str],
    timeout: float,
    progress,
    idle_seconds: float = 15.0,
):
    runner = ConsumerRunner(CONSUMER, HANDLERS, factory, settings)
    reader = kafka_clients.consumer(settings, None, max_poll_records=2000)
    seen: set[str] = set()
    try:
        partitions = []
        for logical in catalog.topics_for(HANDLERS):
            name = settings.topic(logical)
            for number in sorted(reader.partitions_for_topic(name) or ()):
                partitions.append(TopicPartition(name, number))
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        last_arrival = time.monotonic()
        while len(seen) < len(wanted):
            now = time.monotonic()
            if now > deadline or now - last_arrival > idle_seconds:
                raise IncompleteHistory(len(wanted) - len(seen), len(wanted))
            batch = reader.poll(timeout_ms=1000)
            if batch:
                last_arrival = time.monotonic()
            chosen = []
            for records in batch.values():
                for record in records:
                    try:
                        event_id = decode(record.value).id
                    except MalformedEvent:
                        continue
                    if event_id in wanted and event_id not in seen:
                        seen.add(event_id)
                        chosen.append(record)
            if chosen:
                runner.apply_records(chosen)
                if progress:
                    progress(len(chosen))
    finally:
        reader.close()
        runner.close()
    return len(seen)
