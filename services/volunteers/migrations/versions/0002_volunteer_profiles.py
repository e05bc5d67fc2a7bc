"""Volunteer profiles."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "volunteers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=50), nullable=False),
        sa.Column("home_unit_id", sa.String(length=64), nullable=False),
        sa.Column("home_unit_path", sa.String(length=512), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("ethnicity", sa.String(length=32), nullable=True),
        sa.Column("ethnicity_consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_volunteers_home_unit_id"), "volunteers", ["home_unit_id"])
    op.create_index(op.f("ix_volunteers_home_unit_path"), "volunteers", ["home_unit_path"])
    op.create_index(op.f("ix_volunteers_team_id"), "volunteers", ["team_id"])


def downgrade() -> None:

    op.drop_table("volunteers")
