"""Statements run on the driver's own connection, for the hottest paths (the outbox's inserts,
the ledger's rows, check-ins): compiled once for a dialect, their parameters converted by the
statement's own bind types."""

from __future__ import annotations

import functools

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError


class DriverStatement:
    """A Core statement compiled once for a dialect and run on the driver's own connection.

    Only for the hottest statements: SQLAlchemy's work on each execution (cache lookup,
    parameter and result processing, events, exception wrapping) costs more than a short
    INSERT takes the database. Parameters are converted by the statement's own bind types, so
    values are stored exactly as SQLAlchemy stores them; rows come back as the driver gives
    them (SQLite gives booleans as 0 and 1, and times as text), and errors are the driver's.
    """

    def __init__(self, statement, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup) if dialect.positional else None
        self.fixed: dict = {}  # the values written into the statement (literals)
        self.processors: dict = {}
        for bind, name in compiled.bind_names.items():
            if not bind.required:
                self.fixed[name] = bind.effective_value
            elif bind.key != name:
                raise ValueError(f"bind parameter {bind.key} is rendered as {name}")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def _driver_parameters(self, parameters: dict, last: dict | None = None):
        """Parameters by bind name as the driver takes them: converted by their bind types,
        by name or in position. With ``last`` (the value each name was last converted from, and
        to), a value that is the very object converted before is not converted again: rows of
        one batch often share their time."""
        values = {**self.fixed, **parameters}
        for name, process in self.processors.items():
            value = values[name]
            if last is None:
                values[name] = process(value)
                continue
            before = last.get(name)
            if before is not None and before[0] is value:
                values[name] = before[1]
            else:
                values[name] = converted = process(value)
                last[name] = (value, converted)
        return values if self.names is None else [values[name] for name in self.names]

    def run(self, driver, parameters: dict):
        """Run the statement on a driver connection with ``parameters`` (by bind name); return
        its first row (as the driver gives it) or None."""
        cursor = driver.cursor()
        try:
            cursor.execute(self.sql, self._driver_parameters(parameters))
            return cursor.fetchone() if cursor.description else None
        finally:
            cursor.close()

    def many(self, connection: Connection, rows: list[dict]) -> int:
        """Run the statement once for each of ``rows`` (parameters by bind name) in one
        executemany, in the transaction of an SQLAlchemy connection (begun here if it has not
        begun yet); return the rows it changed in all. Unlike ``run``, errors are SQLAlchemy's
        (``IntegrityError``, ``OperationalError`` …), as if SQLAlchemy had run it."""
        if not connection.in_transaction():
            connection.begin()
        last: dict = {}
        parameters = [self._driver_parameters(row, last) for row in rows]
        cursor = connection.connection.driver_connection.cursor()
        driver_error = connection.dialect.loaded_dbapi.Error
        try:
            cursor.executemany(self.sql, parameters)
            return cursor.rowcount
        except driver_error as exc:
            raise DBAPIError.instance(self.sql, None, exc, driver_error) from exc
        finally:
            cursor.close()


@functools.lru_cache(maxsize=64)
def driver_statement(statement, dialect: Dialect) -> DriverStatement:
    """A hot statement's ``DriverStatement`` for a dialect, compiled once."""
    return DriverStatement(statement, dialect)
