"""Appending rows to the hash-chained ledger under the chain head's lock."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import (
    bindparam,
    insert,
)
from sqlalchemy.orm import Session

from events.context import correlation_id
from events.driver import driver_statement
from events.envelope import Event, format_time, utcnow
from events.messages import Message
from events.outbox import emit_many
from services.ledger import rules as r
from services.ledger.chain import row_hash
from services.ledger.models import (
    LedgerEntry,
)
from services.ledger.operations._common import (
    PRODUCER,
    REVERSAL_REASONS,
    _locked_head,
    entry_uuid,
    moment_ms,
)
from services.ledger.operations.totals import add_to_totals

# ---- appending rows ----------------------------------------------------------------------


class _Row(SimpleNamespace):
    """A ledger row being appended (inserted with the other rows of its transaction)."""


class _Writer:
    """Appends rows to the chain for one transaction, whatever their causes: the rows, their
    ``points.*`` events and the standings totals are written by ``flush``, one statement each.

    It locks the chain head when it is made, before anything it writes is read, so appends are
    serial and the chain linear; the head moves to the last row in ``flush`` (one writer at a
    time in a transaction).
    """

    def __init__(self, session: Session):
        self.session = session
        self.head = _locked_head(session)
        self.last_seq, self.last_hash = self.head.last_seq, self.head.last_hash
        self.recorded_at = utcnow()
        self.recorded_text = format_time(self.recorded_at)
        self.rows: list[_Row] = []
        self.events: list[Event] = []

    def cause(self, source: str, occurred_at: datetime, event: Event | None = None, **approval):
        """Rows for one cause: an event (its points events carry the event's correlation id) or
        an approval (``approval`` names who asked and who approved); ids derive from the cause."""
        return _Cause(self, source, occurred_at, event, approval)

    def flush(self) -> None:
        """Insert the appended rows and their events, and add the rows to the totals."""
        if not self.rows:
            return
        connection = self.session.connection()
        driver_statement(_ENTRY_INSERT, connection.dialect).many(
            connection, [vars(r) for r in self.rows]
        )
        emit_many(self.session, self.events)
        add_to_totals(self.session, self.rows[0].seq, self.rows[-1].seq)
        self.head.last_seq, self.head.last_hash = self.last_seq, self.last_hash
        self.rows, self.events = [], []


_ENTRY_INSERT = insert(LedgerEntry.__table__).values(
    {column.name: bindparam(column.name) for column in LedgerEntry.__table__.columns}
)


class _Cause:
    """What one event or approval appends, numbered so that a rebuild gives the same ids."""

    def __init__(self, writer: _Writer, source: str, occurred_at: datetime, event, approval):
        self.writer = writer
        self.source = source
        self.source_event_id = event.id if event is not None else None
        self.correlation_id = event.correlation_id if event is not None else correlation_id()
        self.occurred_at = occurred_at
        self.occurred_text = format_time(occurred_at)
        self.moment_ms = moment_ms(occurred_at)
        self.approval = approval
        self.count = 0

    def append(self, *, explanation: Message, **fields) -> _Row:
        """Append one row to the chain; its id is derived from the cause and its number. The
        explanation (a ``Message``) is stored as its Chinese text, which the hash covers, and as
        its meaning (``explanation_message``: key and values, JSON), which it does not."""
        self.count += 1
        writer = self.writer
        row = _Row(
            seq=writer.last_seq + 1,
            entry_id=entry_uuid(self.moment_ms, f"{self.source}/{self.count}"),
            source_event_id=self.source_event_id,
            occurred_at=self.occurred_at,
            recorded_at=writer.recorded_at,
            prev_hash=writer.last_hash,
            explanation=str(explanation),
            explanation_message=explanation.meaning_json(),
            **{"hours_halves": 0, "rule_version": None, "reverses_entry_id": None, **fields},
        )
        row.hash = row_hash(row.prev_hash, row.seq, row, self.occurred_text, writer.recorded_text)
        writer.last_seq, writer.last_hash = row.seq, row.hash
        writer.rows.append(row)
        writer.events.append(self._event(row))
        return row

    def _event(self, row: _Row) -> Event:
        payload = {
            "entry_id": row.entry_id,
            "volunteer_id": row.volunteer_id,
            "points": row.points,
            "reason_code": row.reason_code,
            "activity_id": row.activity_id,
            "rule_version": row.rule_version,
            "source_event_id": row.source_event_id,
            "hours": _hours(row.hours_halves),
        }
        if row.kind == "reversal":
            name, payload["reverses_entry_id"] = "points.reversed", row.reverses_entry_id
        elif row.kind == "adjustment":
            name = "points.adjusted"
            payload.update(self.approval)
        else:
            name = "points.awarded"
        # Built from our own typed values (the contract test pins that they load).
        return Event(
            type=name,
            version=1,
            key=row.volunteer_id,
            payload=payload,
            producer=PRODUCER,
            id=entry_uuid(self.moment_ms, f"event/{row.entry_id}"),
            occurred_at=self.writer.recorded_text,
            correlation_id=self.correlation_id,
        )

    def reverse(self, entry_id: str, points: int, halves: int, reason: str, **fields):
        """Append the row that cancels an earlier one."""
        return self.append(
            kind="reversal",
            reason_code=reason,
            points=-points,
            hours_halves=-halves,
            explanation=Message(
                r.REVERSAL,
                {"reason": Message(REVERSAL_REASONS[reason]), "points": r.format_points(points)},
            ),
            reverses_entry_id=entry_id,
            **fields,
        )


def _hours(halves: int) -> str:
    """Half-hours as the events' decimal string of hours (``3.5``, ``-2.0``)."""
    return f"{halves / 2:.1f}"  # exact: a half-integer is a binary fraction


def _event_time(event: Event) -> datetime:
    return datetime.fromisoformat(event.occurred_at).astimezone(UTC)


def version_key(confirmed_at: datetime, corrected: bool, event_id: str) -> str:
    """Orders the words on one attendance: later confirmation wins, a correction wins a tie."""
    return f"{format_time(confirmed_at)}|{1 if corrected else 0}|{event_id}"
