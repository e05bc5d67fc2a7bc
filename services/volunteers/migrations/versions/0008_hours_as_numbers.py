"""Hours as numbers: confirmed hours and a certificate's total become NUMERIC, not text.

The strings held so far ("2.5", "3.0") are decimal numbers of one place, so each converts as it
is: PostgreSQL casts them in place (``USING``), SQLite copies the table with a CAST (batch mode).
Downgrading writes them back with one decimal place, as they were written.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

COLUMNS = (
    ("attendance", "hours", sa.String(length=8), sa.Numeric(6, 1), True),
    ("hours_certificates", "total_hours", sa.String(length=16), sa.Numeric(8, 1), False),
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _alter(table: str, column: str, nullable: bool, was, becomes, using: str) -> None:
    with op.batch_alter_table(table) as batch_op:
        batch_op.alter_column(
            column,
            existing_type=was,
            type_=becomes,
            existing_nullable=nullable,
            postgresql_using=using,
        )


def upgrade() -> None:
    for table, column, text_type, number_type, nullable in COLUMNS:
        numeric = f"numeric({number_type.precision},{number_type.scale})"
        _alter(table, column, nullable, text_type, number_type, f"{column}::{numeric}")


def downgrade() -> None:
    for table, column, text_type, number_type, nullable in COLUMNS:
        _alter(table, column, nullable, number_type, text_type, f"{column}::text")
        if not _postgresql():
            # SQLite stored a whole number as an integer, copied back as "3": one place again.
            op.execute(
                sa.text(
                    f"UPDATE {table} SET {column} = printf('%.1f', {column})"
                    f" WHERE {column} IS NOT NULL"
                )
            )
