"""Explanation messages: each ledger row's explanation as its key and values (JSON), outside the.

hash chain, so that pages in other languages need not read the Chinese text back
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy on SQLite): the immutability triggers stay, and the rows
    # already written keep no meaning (their explanation is shown as written).
    op.add_column("ledger_entries", sa.Column("explanation_message", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", recreate="never") as batch_op:
        batch_op.drop_column("explanation_message")
