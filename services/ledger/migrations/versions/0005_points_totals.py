"""Standings totals: points per volunteer per day, month and year, kept with the ledger rows;.

filled here from the rows already in the ledger. Standings no longer read the rows, so their
index on the rows goes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "points_totals",
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("home_unit_id", sa.String(length=64), nullable=True),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("volunteer_id", "period"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_points_totals_scope",
        "points_totals",
        ["period", "home_unit_id"],
        postgresql_include=["volunteer_id", "points", "entries"],
    )
    op.create_index(
        "ix_points_totals_team",
        "points_totals",
        ["team_id", "period"],
        sqlite_where=sa.text("team_id IS NOT NULL"),
        postgresql_where=sa.text("team_id IS NOT NULL"),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_standings")
    _fill_from_the_ledger()


def _fill_from_the_ledger() -> None:
    """Totals of the rows already there (the same sums ``shiliu ledger verify`` checks)."""
    entries = sa.table(
        "ledger_entries",
        sa.column("volunteer_id", sa.String),
        sa.column("entry_date", sa.Date),
        sa.column("points", sa.Integer),
    )
    volunteers = sa.table(
        "volunteer_views",
        sa.column("volunteer_id", sa.String),
        sa.column("home_unit_id", sa.String),
        sa.column("team_id", sa.String),
    )
    totals = sa.table(
        "points_totals",
        *(
            sa.column(name)
            for name in ("period", "volunteer_id", "points", "entries", "home_unit_id", "team_id")
        ),
    )
    year = sa.cast(sa.extract("year", entries.c.entry_date), sa.Integer)
    month = year * 100 + sa.cast(sa.extract("month", entries.c.entry_date), sa.Integer)
    day = month * 100 + sa.cast(sa.extract("day", entries.c.entry_date), sa.Integer)
    for period in (year, month, day):
        sums = (
            sa.select(
                period.label("period"),
                entries.c.volunteer_id,
                sa.cast(sa.func.sum(entries.c.points), sa.Integer).label("points"),
                sa.cast(sa.func.count(), sa.Integer).label("entries"),
            )
            .group_by(period, entries.c.volunteer_id)
            .subquery()
        )
        op.execute(
            totals.insert().from_select(
                ["period", "volunteer_id", "points", "entries", "home_unit_id", "team_id"],
                sa.select(
                    sums.c.period,
                    sums.c.volunteer_id,
                    sums.c.points,
                    sums.c.entries,
                    volunteers.c.home_unit_id,
                    volunteers.c.team_id,
                ).select_from(
                    sums.join(
                        volunteers,
                        volunteers.c.volunteer_id == sums.c.volunteer_id,
                        isouter=True,
                    )
                ),
            )
        )


def downgrade() -> None:
    op.create_index(
        "ix_ledger_entries_standings", "ledger_entries", ["volunteer_id", "entry_date", "points"]
    )
    op.drop_table("points_totals")
