"""Each activity's attendance counted on it, and the presence table for distinct volunteers."""

import sqlalchemy as sa
from alembic import op

from services.statistics import presence

revision = "0002"
down_revision = "0001"

COUNTS = ("attendances", "hours_halves", "no_shows")
BITS = ("months", "categories", "dimensions")


def upgrade() -> None:
    with op.batch_alter_table("activity_facts", schema=None) as batch_op:
        for name in COUNTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_attendance_facts_volunteer", "attendance_facts", ["volunteer_id"])
    op.create_table(
        "presence",
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("own", sa.Boolean(), nullable=False),
        sa.Column("volunteer_id", sa.String(length=64), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in BITS),
        sa.PrimaryKeyConstraint("path", "year", "own", "volunteer_id"),
    )
    op.create_index("ix_presence_volunteer_year", "presence", ["volunteer_id", "year"])
    op.create_index("ix_presence_counted", "presence", ["path", "year", "own", *BITS])
    _count_what_is_there()


def _count_what_is_there() -> None:
    """The facts a database already holds, counted and placed as the consumer now does. This uses
    presence.batches as it is at this revision: a later change to what a presence row holds must
    freeze a copy of it here."""
    counted = """
        UPDATE activity_facts SET
          attendances = (SELECT count(*) FROM attendance_facts a
                         WHERE a.activity_id = activity_facts.activity_id
                           AND a.status = 'confirmed'),
          hours_halves = (SELECT coalesce(sum(a.hours_halves), 0) FROM attendance_facts a
                          WHERE a.activity_id = activity_facts.activity_id),
          no_shows = (SELECT count(*) FROM attendance_facts a
                      WHERE a.activity_id = activity_facts.activity_id
                        AND a.status <> 'confirmed')
    """
    op.execute(counted)
    attended = sa.text(
        "SELECT a.volunteer_id, f.host_path, f.day, f.category, f.dimensions"
        " FROM attendance_facts a JOIN activity_facts f ON f.activity_id = a.activity_id"
        " WHERE a.status = 'confirmed' AND f.held ORDER BY a.volunteer_id"
    ).columns(sa.column("volunteer_id"), sa.column("host_path"), sa.column("day", sa.Date))
    table = sa.table("presence", *(sa.column(name) for name in ("path", "year", "own")),
                     sa.column("volunteer_id"), *(sa.column(name) for name in BITS))  # fmt: skip
    stream = op.get_bind().execute(attended, execution_options={"yield_per": 10_000})
    for batch in presence.batches(stream):
        op.bulk_insert(table, batch)


def downgrade() -> None:
    op.drop_index("ix_presence_counted", table_name="presence")
    op.drop_index("ix_presence_volunteer_year", table_name="presence")
    op.drop_table("presence")
    op.drop_index("ix_attendance_facts_volunteer", table_name="attendance_facts")
    with op.batch_alter_table("activity_facts", schema=None) as batch_op:
        for name in COUNTS:
            batch_op.drop_column(name)
