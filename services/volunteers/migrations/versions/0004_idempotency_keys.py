"""idempotency keys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:56:41.232336
"""

from alembic import op

from services.common import migrations as backbone

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    backbone.create_idempotency_keys()


def downgrade() -> None:
    op.drop_table("idempotency_keys")
