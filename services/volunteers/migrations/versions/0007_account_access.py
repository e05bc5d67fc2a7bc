"""account access: the newest access version learnt of each account (tokens older are void)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_access",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("access_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_account_access"),
    )


def downgrade() -> None:
    op.drop_table("account_access")
