"""Initial tables."""

import sqlalchemy as sa
from alembic import op

from services.common import migrations as backbone

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "activity_dimensions",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("dimension", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", "dimension"),
    )
    op.create_table(
        "activity_facts",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("host_unit_id", sa.String(length=64), nullable=False),
        sa.Column("host_path", sa.String(length=512), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("dimensions", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("activity_id"),
    )
    op.create_index(op.f("ix_activity_facts_host_unit_id"), "activity_facts", ["host_unit_id"])
    op.create_index("ix_activity_facts_path_day", "activity_facts", ["host_path", "day"])

    op.create_table(
        "activity_groups",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("distinct_groups", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("activity_id"),
    )
    op.create_table(
        "attendance_facts",
        sa.Column("activity_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("hours_halves", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("activity_id", "volunteer_id"),
    )
    op.create_table(
        "award_facts",
        sa.Column("cycle_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("awarded_on", sa.Date(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("cycle_id", "volunteer_id"),
    )
    op.create_index(op.f("ix_award_facts_unit_id"), "award_facts", ["unit_id"])

    op.create_table(
        "volunteer_facts",
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("home_unit_id", sa.String(length=64), nullable=False),
        sa.Column("registered_on", sa.Date(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint("volunteer_id"),
    )
    op.create_index(op.f("ix_volunteer_facts_home_unit_id"), "volunteer_facts", ["home_unit_id"])

    backbone.create_backbone()


def downgrade() -> None:
    backbone.drop_backbone()

    op.drop_table("volunteer_facts")

    op.drop_table("award_facts")
    op.drop_table("attendance_facts")
    op.drop_table("activity_groups")

    op.drop_table("activity_facts")
    op.drop_table("activity_dimensions")
