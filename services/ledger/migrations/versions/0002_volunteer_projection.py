"""Volunteer projection."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "volunteer_views",
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=50), nullable=False),
        sa.Column("home_unit_id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("volunteer_id"),
    )
    op.create_index(op.f("ix_volunteer_views_home_unit_id"), "volunteer_views", ["home_unit_id"])
    op.create_index(op.f("ix_volunteer_views_team_id"), "volunteer_views", ["team_id"])


def downgrade() -> None:

    op.drop_table("volunteer_views")
