"""idempotency keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:01:33.561282
"""

from alembic import op

from services.common import migrations as backbone

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    backbone.create_idempotency_keys()


def downgrade() -> None:
    op.drop_table("idempotency_keys")
