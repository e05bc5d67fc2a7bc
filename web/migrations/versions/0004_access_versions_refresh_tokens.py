"""Access versions and refresh tokens: revoking a role or changing a password ends old tokens."""

import sqlalchemy as sa
from alembic import op

from services.common import migrations as backbone

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("access_version", sa.Integer(), nullable=False, server_default="1")
        )
    backbone.create_account_access()
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("access_version", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_refresh_tokens"),
    )
    op.create_index("ix_refresh_tokens_account_id", "refresh_tokens", ["account_id"])


def downgrade() -> None:
    op.drop_table("refresh_tokens")
    op.drop_table("account_access")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("access_version")
