"""What the ledger's operations share: ids and times of rows, today, star thresholds, the
audit trail, and the chain head's lock that every writing transaction takes first.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from events.envelope import utcnow
from events.settings import Settings, city_zone
from services.ledger.chain import GENESIS
from services.ledger.models import (
    AuditEntry,
    ChainHead,
)

PRODUCER = "ledger"
ENTRY_NAMESPACE = uuid.UUID("6f1c8f0e-5b2a-4d59-9a51-2d3c1e0b7a44")
REVERSAL_REASONS = {
    "correction": "时长更正，冲销原记录",
    "cap": "当日上限重新分配，冲销原记录",
    "no_show_cancelled": "已确认出勤，撤销缺席扣分",
}


def entry_uuid(millis: int, name: str) -> str:
    """The id of a row (or of its ``points.*`` event) caused at ``millis`` (milliseconds since
    1970, UTC) and named ``name`` by its cause: an RFC 9562 UUIDv8 whose first 48 bits are the
    moment and whose other 74 free bits are SHA-1 of the name in ``ENTRY_NAMESPACE``.

    A rebuild gives the same ids (the moment is the cause's own time: an event's
    ``occurred_at``, an approval's time), and ids made later sort later, so the unique indexes
    on entry ids and on the outbox's event ids take new rows at their end rather than on a
    random page each (see the README's benchmarks).
    """
    digest = bytearray(min(max(millis, 0), 2**48 - 1).to_bytes(6, "big"))
    digest += hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:10]
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def moment_ms(moment: datetime) -> int:
    """An aware time in whole milliseconds since 1970 (exactly: no floating point)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAMESPACE_BYTES = ENTRY_NAMESPACE.bytes


def today() -> date:
    """Today's date in the city (``SHILIU_TIMEZONE``)."""
    return utcnow().astimezone(city_zone()).date()


def star_thresholds(settings: Settings | None = None) -> tuple[int, ...]:
    """Star thresholds in hours: ``Settings.star_hours`` (``SHILIU_LEDGER_STAR_HOURS``, default
    100,300,600,1000,1500) of ``settings``, or of the environment as it is now."""
    return (settings or Settings.from_env()).star_hours


def audit(session: Session, actor_id: str, action: str, subject_id: str | None, detail) -> None:
    """Record a sensitive act in the ledger's audit trail."""
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=actor_id,
            action=action,
            subject_id=subject_id,
            detail=json.dumps(detail, ensure_ascii=False, default=str)[:1000],
        )
    )


def _locked_head(session: Session) -> ChainHead:
    """The chain head, locked for this transaction (once per transaction, again in savepoints:
    a lock taken inside a savepoint that is rolled back is released with it)."""
    root = session.get_transaction()
    cached = session.info.get("ledger_head")
    if cached is not None and cached[0] is root and not session.in_nested_transaction():
        return cached[1]
    head = session.get(ChainHead, 1, with_for_update=True)
    if head is None:
        head = ChainHead(id=1, last_seq=0, last_hash=GENESIS)
        session.add(head)
    session.info["ledger_head"] = (root, head)
    return head
