"""account access: the newest access version learnt of each account (tokens older are void)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 11:00:00
"""

from alembic import op

from services.common import migrations as backbone

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    backbone.create_account_access()


def downgrade() -> None:
    op.drop_table("account_access")
