"""The ledger's hash chain, its verification, and the checksum that proves a rebuild equal.

Chain: rows are numbered 1, 2, 3 … (``seq``) in the order they were appended; each row's
``hash`` is SHA-256 over the previous row's hash, its own ``seq``, its content and the time it
was recorded. ``ledger_chain`` holds the last sequence number and hash, so a row removed from
the end or added after it is noticed too.

Checksum: SHA-256 over the canonical content of every row (without ``seq``, the hashes and the
recording time), ordered by entry id. Row content depends only on the events and on the order
of each volunteer's events (one partition), never on how partitions interleave, so a ledger
rebuilt from the event history has the same checksum as the live one.

Totals: ``points_totals`` holds each volunteer's points and number of rows per day, month and
year, derived from the rows; ``verify`` checks them too once the chain holds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from sqlalchemy import (
    Integer,
    cast,
    except_,
    extract,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from events.envelope import format_time
from services.ledger.models import ChainHead, LedgerEntry, PointsTotal, VolunteerView

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


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical(row, occurred_text: str | None = None) -> str:
    """The row's content as compact JSON with sorted keys (what the checksum covers);
    ``occurred_text`` is ``format_time(row.occurred_at)`` when the caller has it already."""
    entry_date = row.entry_date
    # The keys in sorted order, written out: a dict literal is built faster than one made by
    # looking the names up, and the encoder keeps the order it is given.
    return _COMPACT.encode(
        {
            "activity_id": row.activity_id,
            "attendance_id": row.attendance_id,
            "entry_date": entry_date if isinstance(entry_date, str) else entry_date.isoformat(),
            "entry_id": row.entry_id,
            "explanation": row.explanation,
            "hours_halves": row.hours_halves,
            "kind": row.kind,
            "occurred_at": occurred_text or format_time(row.occurred_at),
            "points": row.points,
            "reason_code": row.reason_code,
            "reverses_entry_id": row.reverses_entry_id,
            "rule_version": row.rule_version,
            "source_event_id": row.source_event_id,
            "volunteer_id": row.volunteer_id,
        }
    )


def row_hash(
    prev_hash: str,
    seq: int,
    row,
    occurred_text: str | None = None,
    recorded_text: str | None = None,
) -> str:
    """The chain hash of a row: previous hash, sequence number, content, recording time (the
    texts of its times may be given when the caller has them already)."""
    content = canonical(row, occurred_text)
    recorded = recorded_text or format_time(row.recorded_at)
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{content}\n{recorded}".encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    """The first place where the chain does not hold."""

    kind: str  # altered | removed | inserted | totals (seq 0: the chain holds, a total is off)
    seq: int
    entry_id: str | None
    detail: str

    def as_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self)


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
    """Walk the chain from the first row; name the first altered, removed or inserted row. When
    the chain holds, check the standings totals against the rows (``totals_problem``)."""
    head = session.get(ChainHead, 1)
    last_seq, last_hash = (head.last_seq, head.last_hash) if head else (0, GENESIS)
    expected_seq, prev_hash, rows = 1, GENESIS, 0

    def broken(kind: str, seq: int, entry_id: str | None, detail: str) -> Verification:
        return Verification(rows, Problem(kind, seq, entry_id, detail))

    for row in _rows_by(session, LedgerEntry.seq, 0, batch):
        rows += 1
        if row.seq > last_seq:
            return broken(
                "inserted",
                row.seq,
                row.entry_id,
                f"第 {row.seq} 行在账本末尾（第 {last_seq} 行）之后，是账本之外插入的",
            )
        if row.seq < expected_seq:
            return broken(
                "inserted",
                row.seq,
                row.entry_id,
                f"第 {row.seq} 行不在链上的位置，是账本之外插入的",
            )
        if row.seq != expected_seq:
            return broken(
                "removed",
                expected_seq,
                None,
                f"第 {expected_seq} 行不见了（下一行是第 {row.seq} 行，{row.entry_id}）",
            )
        if row.prev_hash != prev_hash:
            return broken(
                "altered",
                row.seq,
                row.entry_id,
                f"第 {row.seq} 行（{row.entry_id}）接不上前一行的哈希",
            )
        if row_hash(prev_hash, row.seq, row) != row.hash:
            return broken(
                "altered",
                row.seq,
                row.entry_id,
                f"第 {row.seq} 行（{row.entry_id}）的内容与它的哈希不符，被改过",
            )
        prev_hash, expected_seq = row.hash, expected_seq + 1
    if expected_seq - 1 < last_seq:
        return broken(
            "removed", expected_seq, None, f"账本应有 {last_seq} 行，第 {expected_seq} 行起不见了"
        )
    if prev_hash != last_hash:
        return broken("altered", last_seq, None, "账本末尾的哈希与记录的链尾不符")
    return Verification(rows, totals_problem(session))


def checksum(session: Session, batch: int = 5000) -> str:
    """SHA-256 (hex) over every row's canonical content, in entry-id order."""
    digest = hashlib.sha256()
    for row in _rows_by(session, LedgerEntry.entry_id, "", batch):
        digest.update(canonical(row).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _rows_by(session: Session, column, after, batch: int):
    """Every ledger row in ``column`` order from beyond ``after``, read ``batch`` at a time."""
    while True:
        chunk = session.scalars(
            select(LedgerEntry).where(column > after).order_by(column).limit(batch)
        ).all()
        if not chunk:
            return
        yield from chunk
        after = getattr(chunk[-1], column.key)


def totals_of_rows(*conditions):
    """Per period and volunteer, the points and the number of the ledger rows (those meeting the
    conditions) in each day, month and year: what ``points_totals`` must hold for them."""
    rows = LedgerEntry.__table__
    year = cast(extract("year", rows.c.entry_date), Integer)
    month = year * 100 + cast(extract("month", rows.c.entry_date), Integer)
    day = month * 100 + cast(extract("day", rows.c.entry_date), Integer)
    spans = union_all(
        *(
            select(period.label("period"), rows.c.volunteer_id, rows.c.points).where(*conditions)
            for period in (year, month, day)
        )
    ).subquery("spans")
    return select(
        spans.c.period,
        spans.c.volunteer_id,
        cast(func.sum(spans.c.points), Integer).label("points"),
        cast(func.count(), Integer).label("entries"),
    ).group_by(spans.c.period, spans.c.volunteer_id)


def period_label(period: int) -> str:
    """A totals period as people write it: 2026年, 2026年3月, 2026年3月8日."""
    text = str(period)
    if len(text) == 4:
        return f"{text}年"
    if len(text) == 6:
        return f"{text[:4]}年{int(text[4:])}月"
    return f"{text[:4]}年{int(text[4:6])}月{int(text[6:])}日"


def totals_problem(session: Session) -> Problem | None:
    """The first standings total that disagrees with the ledger rows (points or number of rows
    in a day, month or year), or that is kept under a unit or team the volunteer has left."""
    totals = PointsTotal.__table__
    kept = select(totals.c.period, totals.c.volunteer_id, totals.c.points, totals.c.entries)
    derived = totals_of_rows()
    for wrong in (except_(kept, derived).subquery(), except_(derived, kept).subquery()):
        found = session.execute(
            select(wrong.c.period, wrong.c.volunteer_id)
            .order_by(wrong.c.volunteer_id, wrong.c.period)
            .limit(1)
        ).first()
        if found is None:
            continue
        period, volunteer = found
        said = session.execute(
            kept.where(totals.c.period == period, totals.c.volunteer_id == volunteer)
        ).first()
        theirs = totals_of_rows(LedgerEntry.volunteer_id == volunteer).subquery()
        rows = session.execute(select(theirs).where(theirs.c.period == period)).first()
        return Problem(
            "totals",
            0,
            None,
            f"志愿者 {volunteer} {period_label(period)}的积分合计是"
            f"{_points(said)}，账本里是{_points(rows)}",
        )
    moved = session.execute(
        select(totals.c.volunteer_id, totals.c.home_unit_id, VolunteerView.home_unit_id)
        .join(VolunteerView, VolunteerView.volunteer_id == totals.c.volunteer_id, isouter=True)
        .where(
            or_(
                totals.c.home_unit_id.is_distinct_from(VolunteerView.home_unit_id),
                totals.c.team_id.is_distinct_from(VolunteerView.team_id),
            )
        )
        .limit(1)
    ).first()
    if moved is not None:
        return Problem(
            "totals",
            0,
            None,
            f"志愿者 {moved[0]} 的积分合计记在单位 {moved[1]}（或其志愿服务队）下，"
            f"志愿者现在属于单位 {moved[2]}",
        )
    return None


def _points(row) -> str:
    return "没有" if row is None else f" {row.points} 分（{row.entries} 行）"
