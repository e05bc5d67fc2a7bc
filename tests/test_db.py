"""Database plumbing the hot paths lean on: statements run on the driver's own connection, and
SQLite write transactions of the driver's own."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, MetaData, String, Table, bindparam, insert, literal, select, text
from sqlalchemy.exc import IntegrityError

from events.driver import DriverStatement
from services.common.db import make_engine, postgresql_autocommit, sqlite_write
from services.common.types import UTCDateTime

metadata = MetaData()
moments = Table(
    "hot_path_moments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("label", String(20)),
    Column("at", UTCDateTime),
)


@pytest.fixture
def engine(contexts):
    """The volunteers database of this test (SQLite or PostgreSQL) with a table of moments."""
    engine = contexts["volunteers"].engine
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)


def test_a_driver_statement_stores_values_as_sqlalchemy_stores_them(engine):
    statement = insert(moments).from_select(
        ["id", "label", "at"],
        select(
            bindparam("id", type_=String()), literal("driver"), bindparam("at", type_=UTCDateTime())
        ),
    )
    on_driver = DriverStatement(statement, engine.dialect)
    shanghai = timezone(timedelta(hours=8))
    for at in [
        datetime(2026, 3, 8, 9, 30, tzinfo=shanghai),
        datetime(2026, 3, 8, 1, 30, 0, 1, UTC),
    ]:
        ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
        with engine.connect() as connection:
            on_driver.many(connection, [{"id": ours, "at": at}])
            connection.execute(insert(moments), {"id": theirs, "label": "core", "at": at})
            connection.commit()
        with engine.connect() as connection:
            rows = {
                row.id: row
                for row in connection.execute(select(moments))
                if row.id in (ours, theirs)
            }
            # As stored, byte for byte (SQLite keeps times as text), and as read back.
            column = "CAST(at AS TEXT)"
            raw = dict(connection.execute(text(f"SELECT id, {column} FROM hot_path_moments")).all())
        assert rows[ours].at == rows[theirs].at == at
        assert rows[ours].label == "driver"
        assert raw[ours] == raw[theirs]


def test_a_driver_statement_runs_in_the_connection_s_transaction(engine):
    statement = insert(moments).values(id=bindparam("id"), label=bindparam("label"))
    on_driver = DriverStatement(statement, engine.dialect)
    with engine.connect() as connection:
        on_driver.many(connection, [{"id": "rolled-back", "label": "x"}])
        assert connection.in_transaction()
        connection.rollback()
    with engine.connect() as connection:
        on_driver.many(connection, [{"id": "kept", "label": "x"}])
        connection.commit()
    with engine.connect() as connection:
        kept = connection.scalars(select(moments.c.id)).all()
    assert kept == ["kept"]


def test_many_rows_by_the_driver_are_stored_as_sqlalchemy_stores_them_and_fail_as_its_do(engine):
    """``DriverStatement.many`` writes what SQLAlchemy's executemany writes, in the connection's
    transaction, and a refused row is SQLAlchemy's IntegrityError with nothing written."""
    statement = insert(moments).values(
        id=bindparam("id"), label=bindparam("label"), at=bindparam("at")
    )
    on_driver = DriverStatement(statement, engine.dialect)
    at = datetime(2026, 3, 8, 9, 30, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    rows = [{"id": f"d-{n}", "label": f"driver {n}", "at": at + timedelta(hours=n)} for n in (1, 2)]
    with engine.connect() as connection:
        on_driver.many(connection, rows)
        assert connection.in_transaction()
        connection.execute(insert(moments), [{**r, "id": "c" + r["id"][1:]} for r in rows])
        connection.commit()
    with engine.connect() as connection:
        raw = dict(
            connection.execute(text("SELECT id, CAST(at AS TEXT) FROM hot_path_moments")).all()
        )
        read = {row.id: row.at for row in connection.execute(select(moments))}
        assert [raw["d-1"], raw["d-2"]] == [raw["c-1"], raw["c-2"]]
        assert [read["d-1"], read["d-2"]] == [r["at"] for r in rows]
        with pytest.raises(IntegrityError):
            on_driver.many(connection, [{"id": "new", "label": "x", "at": at}, rows[0]])
        connection.rollback()
        assert "new" not in set(connection.scalars(select(moments.c.id)))


def test_a_sqlite_write_holds_the_write_lock_from_its_first_write_to_its_commit(tmp_path):
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    write = DriverStatement(
        insert(moments).values(id=bindparam("id"), label=bindparam("label")), engine.dialect
    )
    try:
        with engine.connect() as connection, sqlite_write(connection) as driver:
            # Begun, but not holding the write lock: another writer may go first...
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO hot_path_moments (id, label) VALUES ('first', 'other')")
            other.execute("COMMIT")
            # ... and once this one writes, it holds the lock to its commit.
            write.run(driver, {"id": "second", "label": "driver"})
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # committed: the lock is free again
        other.execute("ROLLBACK")
        with (
            pytest.raises(RuntimeError),
            engine.connect() as connection,
            sqlite_write(connection) as driver,
        ):
            write.run(driver, {"id": "third", "label": "rolled back"})
            raise RuntimeError("the request failed after the write")
        with engine.connect() as connection:
            assert connection.scalars(select(moments.c.id).order_by(moments.c.id)).all() == [
                "first",
                "second",
            ]
            connection.execute(select(moments.c.id))  # now in a transaction of SQLAlchemy's
            with pytest.raises(ValueError), sqlite_write(connection):
                pass
    finally:
        other.close()
        engine.dispose()


def test_under_postgresql_autocommit_each_statement_commits_by_itself(engine):
    if engine.dialect.name != "postgresql":
        with (
            engine.connect() as connection,
            pytest.raises(ValueError),
            postgresql_autocommit(connection),
        ):
            pass
        return
    write = DriverStatement(
        insert(moments).values(id=bindparam("id"), label=bindparam("label")), engine.dialect
    )
    with engine.connect() as connection:
        with postgresql_autocommit(connection) as driver:
            write.run(driver, {"id": "at-once", "label": "x"})
            with engine.connect() as other:  # committed already
                assert other.scalar(select(moments.c.id)) == "at-once"
        # Afterwards the connection is SQLAlchemy's as before: a transaction it can roll back.
        connection.execute(insert(moments).values(id="rolled-back", label="x"))
        connection.rollback()
        connection.execute(select(moments.c.id))
        with pytest.raises(ValueError), postgresql_autocommit(connection):
            pass
    with engine.connect() as connection:
        assert connection.scalars(select(moments.c.id)).all() == ["at-once"]


def test_every_sqlite_connection_is_set_up_for_concurrent_writes_and_a_busy_ledger(tmp_path):
    """WAL, a busy timeout, foreign keys, a page cache of 64 MiB and checkpoints every 10,000
    pages, on every connection of the pool."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    wanted = {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "cache_size": -65536,
        "wal_autocheckpoint": 10000,
    }
    first, second = engine.raw_connection(), engine.raw_connection()
    for connection in (first, second):
        found = {n: connection.execute(f"PRAGMA {n}").fetchone()[0] for n in wanted}
        assert found == wanted
    first.close()
    second.close()
    engine.dispose()
