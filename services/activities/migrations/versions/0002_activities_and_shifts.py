"""Activities and shifts."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "signups_seen",
        sa.Column("signup_id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("shift_id", sa.String(length=64), nullable=False),
        sa.Column("party_size", sa.Integer(), nullable=False),
        sa.Column("holds_place", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("signup_id"),
    )
    op.create_index(op.f("ix_signups_seen_activity_id"), "signups_seen", ["activity_id"])
    op.create_index(op.f("ix_signups_seen_shift_id"), "signups_seen", ["shift_id"])

    op.create_table(
        "activities",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("host_unit_id", sa.String(length=64), nullable=False),
        sa.Column("co_host_unit_ids", sa.JSON(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("checkin_radius_m", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signup_opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signup_closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("walk_ins_allowed", sa.Boolean(), nullable=False),
        sa.Column("points_rule_version", sa.Integer(), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["host_unit_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_activities_host_unit_id"), "activities", ["host_unit_id"])
    op.create_index(op.f("ix_activities_starts_at"), "activities", ["starts_at"])
    op.create_index(op.f("ix_activities_status"), "activities", ["status"])

    op.create_table(
        "shifts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("hour_weight", sa.Numeric(precision=4, scale=2), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_shifts_activity_id"), "shifts", ["activity_id"])


def downgrade() -> None:

    op.drop_table("shifts")

    op.drop_table("activities")

    op.drop_table("signups_seen")
