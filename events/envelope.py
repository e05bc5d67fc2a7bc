"""The event envelope: what every message on every Shiliu topic looks like."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uuid6

from events import context


class MalformedEvent(ValueError):
    """A message that is not a well-formed Shiliu envelope."""


ENVELOPE_FIELDS = ("id", "type", "version", "occurred_at", "producer", "key", "correlation_id")


def utcnow() -> datetime:
    """Return the current time in UTC, to the microsecond."""
    return datetime.now(UTC)


def new_event_id() -> str:
    """A new event id: a UUIDv7 (RFC 9562), whose first 48 bits are the time in milliseconds.
    Ids made later sort later, so the tables keyed by event id (every consumer's
    ``consumed_events``, every producer's ``outbox``) take new rows at the end of their indexes
    instead of on a random page each; the time it tells is no more than ``occurred_at`` does."""
    return str(uuid6.uuid7())


def format_time(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with a trailing Z."""
    if moment.tzinfo is None:
        raise ValueError("event times must carry a time zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    """One fact that happened, as it travels on a topic."""

    type: str
    version: int
    key: str
    payload: dict[str, Any]
    producer: str
    id: str = field(default_factory=new_event_id)
    occurred_at: str = field(default_factory=lambda: format_time(utcnow()))
    correlation_id: str = field(default_factory=context.correlation_id)

    def to_dict(self) -> dict[str, Any]:
        """Return the envelope as a plain dict in its canonical field order."""
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at,
            "producer": self.producer,
            "key": self.key,
            "correlation_id": self.correlation_id,
            "payload": self.payload,
        }

    def encode(self) -> bytes:
        """Serialize the envelope to compact, key-sorted-payload UTF-8 JSON."""
        return json.dumps(
            self.to_dict(), ensure_ascii=False, separators=(",", ":"), sort_keys=False
        ).encode("utf-8")


def decode(raw: bytes | None) -> Event:
    """Parse bytes into an Event, raising MalformedEvent with the reason when they are not one."""
    if raw is None:
        raise MalformedEvent("empty message (no value)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedEvent(f"not UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedEvent("the envelope is not a JSON object")
    missing = [name for name in (*ENVELOPE_FIELDS, "payload") if name not in data]
    if missing:
        raise MalformedEvent(f"envelope lacks {', '.join(missing)}")
    if not isinstance(data["type"], str) or not isinstance(data["version"], int):
        raise MalformedEvent("envelope type must be a string and version an integer")
    if not isinstance(data["payload"], dict):
        raise MalformedEvent("envelope payload is not a JSON object")
    try:
        uuid.UUID(str(data["id"]))
    except ValueError as exc:
        raise MalformedEvent(f"envelope id is not a UUID: {data['id']!r}") from exc
    return Event(
        id=str(data["id"]),
        type=data["type"],
        version=data["version"],
        occurred_at=str(data["occurred_at"]),
        producer=str(data["producer"]),
        key=str(data["key"]),
        correlation_id=str(data["correlation_id"] or ""),
        payload=data["payload"],
    )
