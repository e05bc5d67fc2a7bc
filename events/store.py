"""The backbone's own tables, kept in every service's database beside the service's tables.

``outbox`` holds every event the service emitted, written in the same transaction as the
change it describes, and stays as the service's event history once sent.
``consumed_events`` records every event a consumer applied, in the same transaction as its
effect, so a redelivered event changes nothing. ``relay_state`` remembers which broker the
outbox was published to.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Sequence64 = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("seq", Sequence64, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(64), nullable=False),
    Column("topic", String(128), nullable=False),
    Column("key", String(64), nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index(
        "ix_outbox_unsent",
        "seq",
        sqlite_where=text("sent_at IS NULL"),
        postgresql_where=text("sent_at IS NULL"),
    ),
)

consumed_events = Table(
    "consumed_events",
    metadata,
    Column("consumer", String(100), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("consumer", "event_id", name="pk_consumed_events"),
)

# The broker a service's relay last published to (its cluster id). A relay that finds itself
# talking to another broker (the embedded one restarted empty, a cluster rebuilt) publishes the
# whole outbox again: consumers de-duplicate by event id (events/outbox.py, Relay).
relay_state = Table(
    "relay_state",
    metadata,
    Column("service", String(64), nullable=False),
    Column("broker_id", String(200), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("service", name="pk_relay_state"),
)

# A POST that creates something may carry an Idempotency-Key: the key is recorded in the same
# transaction as what the request created, and the first answer is kept to be given again.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), nullable=False),  # the caller's account id, or "anonymous"
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
)
