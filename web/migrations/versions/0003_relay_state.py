"""relay state: the broker the outbox was last published to

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relay_state",
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("broker_id", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", name="pk_relay_state"),
    )


def downgrade() -> None:
    op.drop_table("relay_state")
