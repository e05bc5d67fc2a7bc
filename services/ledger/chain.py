"""The ledger's hash chain, its verification, and the checksum that proves a rebuild equal.

Chain: rows are numbered 1, 2, 3 … (``seq``) in the order they were appended; each row's
``hash`` is SHA-256 over the previous row's hash, its own ``seq``, its content and the time it
was recorded. ``ledger_chain`` holds the last sequence number and hash, so a row removed from
the end or added after it is noticed too.

Checksum: SHA-256 over the canonical content of every row (without ``seq``, the hashes and the
recording time), ordered by entry id. Row content depends only on the events and on the order
of each volunteer's events (one partition), never on how partitions interleave, so a ledger
rebuilt from the event history has the same checksum as the live one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from events.envelope import format_time
from services.ledger.models import ChainHead, LedgerEntry

GENESIS = "0" * 64
CONTENT_FIELDS = (
    "entry_id",
    "volunteer_id",
    "kind",
    "reason_code",
    "points",
    "hours_halves",
    "explanation",
    "activity_id",
    "attendance_id",
    "entry_date",
    "rule_version",
    "source_event_id",
    "reverses_entry_id",
    "occurred_at",
)


_SORTED_FIELDS = tuple(sorted(CONTENT_FIELDS))
_TIME_FIELDS = ("entry_date", "occurred_at")


def _plain(value):
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def canonical(row) -> str:
    """The row's content as compact JSON with sorted keys (what the checksum covers)."""
    content = {name: getattr(row, name) for name in _SORTED_FIELDS}
    for name in _TIME_FIELDS:  # the other fields are strings, integers or null
        content[name] = _plain(content[name])
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def row_hash(prev_hash: str, seq: int, row) -> str:
    """The chain hash of a row: previous hash, sequence number, content, recording time."""
    text = f"{prev_hash}\n{seq}\n{canonical(row)}\n{format_time(row.recorded_at)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    """The first place where the chain does not hold."""

    kind: str  # altered | removed | inserted
    seq: int
    entry_id: str | None
    detail: str

    def as_dict(self) -> dict:
        """JSON-able form."""
        return {
            "kind": self.kind,
            "seq": self.seq,
            "entry_id": self.entry_id,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Verification:
    """What walking the chain found."""

    rows: int
    problem: Problem | None

    @property
    def ok(self) -> bool:
        """True when the whole chain holds."""
        return self.problem is None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain from the first row; name the first altered, removed or inserted row."""
    head = session.get(ChainHead, 1)
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS)
    expected_seq, prev_hash, rows = 1, GENESIS, 0
    after = 0
    while True:
        chunk = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.seq > after)
            .order_by(LedgerEntry.seq)
            .limit(batch)
        ).all()
        if not chunk:
            break
        for row in chunk:
            rows += 1
            if row.seq > last_seq:
                return Verification(
                    rows,
                    Problem(
                        "inserted",
                        row.seq,
                        row.entry_id,
                        f"第 {row.seq} 行在账本末尾（第 {last_seq} 行）之后，是账本之外插入的",
                    ),
                )
            if row.seq < expected_seq:
                return Verification(
                    rows,
                    Problem(
                        "inserted",
                        row.seq,
                        row.entry_id,
                        f"第 {row.seq} 行不在链上的位置，是账本之外插入的",
                    ),
                )
            if row.seq != expected_seq:
                return Verification(
                    rows,
                    Problem(
                        "removed",
                        expected_seq,
                        None,
                        f"第 {expected_seq} 行不见了（下一行是第 {row.seq} 行，{row.entry_id}）",
                    ),
                )
            if row.prev_hash != prev_hash:
                return Verification(
                    rows,
                    Problem(
                        "altered",
                        row.seq,
                        row.entry_id,
                        f"第 {row.seq} 行（{row.entry_id}）接不上前一行的哈希",
                    ),
                )
            if row_hash(prev_hash, row.seq, row) != row.hash:
                return Verification(
                    rows,
                    Problem(
                        "altered",
                        row.seq,
                        row.entry_id,
                        f"第 {row.seq} 行（{row.entry_id}）的内容与它的哈希不符，被改过",
                    ),
                )
            prev_hash, expected_seq = row.hash, expected_seq + 1
        after = chunk[-1].seq
    if expected_seq - 1 < last_seq:
        return Verification(
            rows,
            Problem(
                "removed",
                expected_seq,
                None,
                f"账本应有 {last_seq} 行，第 {expected_seq} 行起不见了",
            ),
        )
    if prev_hash != last_hash:
        return Verification(
            rows,
            Problem("altered", last_seq, None, "账本末尾的哈希与记录的链尾不符"),
        )
    return Verification(rows, None)


def checksum(session: Session, batch: int = 5000) -> str:
    """SHA-256 (hex) over every row's canonical content, in entry-id order."""
    digest = hashlib.sha256()
    after = ""
    while True:
        chunk = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.entry_id > after)
            .order_by(LedgerEntry.entry_id)
            .limit(batch)
        ).all()
        if not chunk:
            break
        for row in chunk:
            digest.update(canonical(row).encode("utf-8"))
            digest.update(b"\n")
        after = chunk[-1].entry_id
    return digest.hexdigest()
