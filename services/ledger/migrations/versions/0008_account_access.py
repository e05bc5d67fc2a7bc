"""account access: the newest access version learnt of each account (tokens older are void)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 11:00:00
"""

from alembic import op

from services.common import migrations as backbone

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    backbone.create_account_access()


def downgrade() -> None:
    op.drop_table("account_access")
