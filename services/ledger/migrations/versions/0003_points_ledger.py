"""Points ledger: rules (with the default rule), the hash-chained append-only ledger and its.

state, adjustments, audit, activity projection; triggers refuse UPDATE and DELETE of ledger rows
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "activity_summaries",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("distinct_groups", sa.Integer(), nullable=True),
        sa.Column("cross_group", sa.Boolean(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("activity_id"),
    )
    op.create_table(
        "activity_views",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("dimensions", sa.String(length=200), nullable=False),
        sa.Column("host_unit_path", sa.String(length=512), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("activity_id"),
    )
    op.create_table(
        "adjustments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entry_id", sa.String(length=36), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("requested_by", "idempotency_key"),
    )
    op.create_index(op.f("ix_adjustments_status"), "adjustments", ["status"])
    op.create_index(op.f("ix_adjustments_volunteer_id"), "adjustments", ["volunteer_id"])

    op.create_table(
        "attendance_states",
        sa.Column("attendance_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("activity_date", sa.Date(), nullable=False),
        sa.Column("version_key", sa.String(length=120), nullable=False),
        sa.Column("source_event_id", sa.String(length=36), nullable=False),
        sa.Column("half_hours", sa.Integer(), nullable=False),
        sa.Column("weight_percent", sa.Integer(), nullable=False),
        sa.Column("cross_group", sa.Boolean(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("computed_points", sa.Integer(), nullable=False),
        sa.Column("award_entry_id", sa.String(length=36), nullable=True),
        sa.Column("awarded_points", sa.Integer(), nullable=False),
        sa.Column("awarded_halves", sa.Integer(), nullable=False),
        sa.Column("award_date", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("attendance_id"),
    )
    op.create_index(
        "ix_attendance_states_activity", "attendance_states", ["volunteer_id", "activity_id"]
    )
    op.create_index(
        "ix_attendance_states_day", "attendance_states", ["volunteer_id", "activity_date"]
    )

    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ledger_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("hours_halves", sa.Integer(), nullable=False),
        sa.Column("explanation", sa.String(length=300), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=True),
        sa.Column("attendance_id", sa.String(length=64), nullable=True),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("source_event_id", sa.String(length=36), nullable=True),
        sa.Column("reverses_entry_id", sa.String(length=36), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("entry_id"),
    )
    op.create_index("ix_ledger_entries_date", "ledger_entries", ["entry_date"])
    op.create_index(
        "ix_ledger_entries_standings", "ledger_entries", ["volunteer_id", "entry_date", "points"]
    )
    op.create_index("ix_ledger_entries_volunteer", "ledger_entries", ["volunteer_id", "seq"])

    op.create_table(
        "no_show_states",
        sa.Column("signup_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("activity_date", sa.Date(), nullable=False),
        sa.Column("penalty_entry_id", sa.String(length=36), nullable=True),
        sa.Column("penalty_points", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("signup_id"),
    )
    op.create_index("ix_no_show_states_activity", "no_show_states", ["volunteer_id", "activity_id"])

    op.create_table(
        "points_rules",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("attendance_base", sa.Integer(), nullable=False),
        sa.Column("points_per_hour", sa.Integer(), nullable=False),
        sa.Column("max_half_hours", sa.Integer(), nullable=False),
        sa.Column("cross_group_bonus_percent", sa.Integer(), nullable=False),
        sa.Column("no_show_penalty", sa.Integer(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("version"),
        sa.UniqueConstraint("idempotency_key"),
    )
    rules = sa.table(
        "points_rules",
        *[
            sa.column(name)
            for name in (
                "version",
                "effective_from",
                "attendance_base",
                "points_per_hour",
                "max_half_hours",
                "cross_group_bonus_percent",
                "no_show_penalty",
                "daily_cap",
                "note",
                "created_by",
                "created_at",
            )
        ],
    )
    # The default rule of DESIGN §7, in force for every date and known since before any event.
    op.bulk_insert(
        rules,
        [
            {
                "version": 1,
                "effective_from": date(2000, 1, 1),
                "attendance_base": 5,
                "points_per_hour": 10,
                "max_half_hours": 16,
                "cross_group_bonus_percent": 20,
                "no_show_penalty": 5,
                "daily_cap": 100,
                "note": "默认规则（DESIGN §7）",
                "created_by": None,
                "created_at": datetime(2000, 1, 1, tzinfo=UTC),
            }
        ],
    )
    chain = sa.table("ledger_chain", sa.column("id"), sa.column("last_seq"), sa.column("last_hash"))
    op.bulk_insert(chain, [{"id": 1, "last_seq": 0, "last_hash": "0" * 64}])
    for statement in IMMUTABLE[op.get_bind().dialect.name]:
        op.execute(statement)


IMMUTABLE = {
    "postgresql": [
        """
        CREATE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'ledger rows are never updated or deleted (%)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER ledger_entries_immutable
        BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable()
        """,
        """
        CREATE TRIGGER ledger_entries_no_truncate
        BEFORE TRUNCATE ON ledger_entries
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_immutable()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger rows are never updated or deleted (UPDATE)'); END
        """,
        """
        CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
        BEGIN SELECT RAISE(ABORT, 'ledger rows are never updated or deleted (DELETE)'); END
        """,
    ],
}
DROP_IMMUTABLE = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries",
        "DROP TRIGGER IF EXISTS ledger_entries_immutable ON ledger_entries",
        "DROP FUNCTION IF EXISTS ledger_entries_immutable()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS ledger_entries_no_update",
        "DROP TRIGGER IF EXISTS ledger_entries_no_delete",
    ],
}


def downgrade() -> None:
    for statement in DROP_IMMUTABLE[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table("points_rules")

    op.drop_table("no_show_states")

    op.drop_table("ledger_entries")
    op.drop_table("ledger_chain")
    op.drop_table("audit_entries")

    op.drop_table("attendance_states")

    op.drop_table("adjustments")
    op.drop_table("activity_views")
    op.drop_table("activity_summaries")
