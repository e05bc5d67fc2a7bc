"""relay state: the broker the outbox was last published to

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00
"""

from alembic import op

from services.common import migrations as backbone

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    backbone.create_relay_state()


def downgrade() -> None:
    op.drop_table("relay_state")
