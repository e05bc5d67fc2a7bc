"""Default rule note: "默认规则", not the developers' "默认规则（DESIGN §7）"."""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

OLD, NEW = "默认规则（DESIGN §7）", "默认规则"
_RULES = sa.table("points_rules", sa.column("note", sa.String))


def upgrade() -> None:
    # A rule's note only describes it (no ledger row or hash includes it), so it may be reworded.
    op.execute(_RULES.update().where(_RULES.c.note == OLD).values(note=NEW))


def downgrade() -> None:
    op.execute(_RULES.update().where(_RULES.c.note == NEW).values(note=OLD))
