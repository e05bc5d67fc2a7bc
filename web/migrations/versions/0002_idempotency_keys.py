"""idempotency keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:01:33.703034
"""

from alembic import op

from services.common import migrations as backbone

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    backbone.create_idempotency_keys()


def downgrade() -> None:
    op.drop_table("idempotency_keys")
