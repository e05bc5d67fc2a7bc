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
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_volunteers_home_unit_id"), ["home_unit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_volunteers_home_unit_path"), ["home_unit_path"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_volunteers_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volunteers_team_id"))
        batch_op.drop_index(batch_op.f("ix_volunteers_home_unit_path"))
        batch_op.drop_index(batch_op.f("ix_volunteers_home_unit_id"))

    op.drop_table("volunteers")
