"""The tables every part keeps for the event backbone and its projections, as the parts'
migrations create them: one definition here, called from each part's own history
(``services/*/migrations``, ``web/migrations``).

Each function makes its table exactly as the migration that first made it did (the models are
``events/store.py``, ``services/common/access.py`` and each part's ``UnitView``). Changing a
table later is a new migration in every part that has it, with a new function here: never an
edit of these, which a database already migrated does not run again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_UNSENT = {
    "sqlite_where": sa.text("sent_at IS NULL"),
    "postgresql_where": sa.text("sent_at IS NULL"),
}


def create_outbox() -> None:
    """``outbox``: the events a part committed, in commit order, until its relay sent them."""
    op.create_table(
        "outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_unsent", ["seq"], unique=False, **_UNSENT)


def drop_outbox() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_unsent", **_UNSENT)
    op.drop_table("outbox")


def create_consumed_events() -> None:
    """``consumed_events``: the ids of the events a part's consumers applied."""
    op.create_table(
        "consumed_events",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_consumed_events"),
    )


def create_unit_views() -> None:
    """``unit_views``: a part's projection of the unit tree, learnt from ``unit.*`` events."""
    op.create_table(
        "unit_views",
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("unit_id"),
    )
    with op.batch_alter_table("unit_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_views_path"), ["path"], unique=False)


def drop_unit_views() -> None:
    with op.batch_alter_table("unit_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_views_path"))
    op.drop_table("unit_views")


def create_idempotency_keys() -> None:
    """``idempotency_keys``: the answers kept for requests sent with an ``Idempotency-Key``."""
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_idempotency_keys"),
    )


def create_relay_state() -> None:
    """``relay_state``: the broker a part's outbox was last published to."""
    op.create_table(
        "relay_state",
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("broker_id", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", name="pk_relay_state"),
    )


def create_account_access() -> None:
    """``account_access``: the newest access version learnt of each account."""
    op.create_table(
        "account_access",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("access_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_account_access"),
    )


def _drop(name: str):
    return lambda: op.drop_table(name)


# Each backbone table by name: how a migration makes it and how it takes it away again, in the
# order a new part makes them.
TABLES = {
    "unit_views": (create_unit_views, drop_unit_views),
    "consumed_events": (create_consumed_events, _drop("consumed_events")),
    "outbox": (create_outbox, drop_outbox),
    "idempotency_keys": (create_idempotency_keys, _drop("idempotency_keys")),
    "relay_state": (create_relay_state, _drop("relay_state")),
    "account_access": (create_account_access, _drop("account_access")),
}


def adding(*names: str):
    """The ``upgrade`` and ``downgrade`` of a revision that adds these backbone tables and nothing
    else: ``upgrade, downgrade = backbone.adding("relay_state")``. Downgrade drops them in the
    reverse order."""
    for name in names:
        if name not in TABLES:
            raise KeyError(f"no backbone table {name!r}; the tables are {', '.join(TABLES)}")

    def upgrade() -> None:
        for name in names:
            TABLES[name][0]()

    def downgrade() -> None:
        for name in reversed(names):
            TABLES[name][1]()

    return upgrade, downgrade


# Every backbone table at once, as they are today: the first migration of a new part.
create_backbone, drop_backbone = adding(*TABLES)
