"""Adjustment rejections: a second administrator may reject a pending adjustment with a reason.

(who, when and why are kept beside the approval's columns; a rejected adjustment posts no row)
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.add_column("adjustments", sa.Column("rejected_by", sa.String(64), nullable=True))
    op.add_column(
        "adjustments", sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("adjustments", sa.Column("rejection_reason", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("adjustments") as batch_op:
        batch_op.drop_column("rejection_reason")
        batch_op.drop_column("rejected_at")
        batch_op.drop_column("rejected_by")
