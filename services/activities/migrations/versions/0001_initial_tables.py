"""Initial tables."""

import sqlalchemy as sa
from alembic import op

from services.common import migrations as backbone

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("path"),
    )
    op.create_index(op.f("ix_units_parent_id"), "units", ["parent_id"])

    backbone.create_consumed_events()
    backbone.create_outbox()


def downgrade() -> None:
    backbone.drop_outbox()
    op.drop_table("consumed_events")

    op.drop_table("units")
