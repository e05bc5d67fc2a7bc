"""initial tables

Revision ID: 0001
Revises:
Create Date: 2026-11-23 13:01:29.089076
"""

from alembic import op

from services.common import migrations as backbone

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    backbone.create_unit_views()
    backbone.create_consumed_events()
    backbone.create_outbox()


def downgrade() -> None:
    backbone.drop_outbox()
    op.drop_table("consumed_events")
    backbone.drop_unit_views()
