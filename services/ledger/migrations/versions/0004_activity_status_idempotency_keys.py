"""Activity status and idempotency keys."""

import sqlalchemy as sa
from alembic import op

from services.common import migrations as backbone

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    backbone.create_idempotency_keys()
    with op.batch_alter_table("activity_views", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="published", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("activity_views", schema=None) as batch_op:
        batch_op.drop_column("status")

    op.drop_table("idempotency_keys")
