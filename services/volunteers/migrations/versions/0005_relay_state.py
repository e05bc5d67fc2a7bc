"""placeholder: replaced by the relay_state migration on merge

Revision ID: 0005
Revises: 0004

Placeholder on the ``security`` branch only, so that 0006 (check-in attempts) has its parent:
the relay_state migration of another branch takes this revision id; drop this file when it is
merged.
"""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
