"""Database engines and sessions for a service: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent.parent


def package_dir(service: str) -> Path:
    """Return the folder of a part: services/<name>, or web/."""
    return ROOT / "web" if service == "web" else ROOT / "services" / service


class Base(DeclarativeBase):
    """Typed declarative base; each service declares its own subclass with its own metadata."""


def make_engine(url: str) -> Engine:
    """Create an engine: SQLite in WAL mode with foreign keys and a busy timeout, or PostgreSQL."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=NullPool if path in ("", ":memory:") else None,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, decide when transactions begin, so that
            # BEGIN IMMEDIATE below takes the write lock at the start of each transaction.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # A page cache of up to 64 MiB (SQLite's default is 2 MiB): the ledger's indexes and
            # totals stay in memory while a poll's rows go in.
            cursor.execute("PRAGMA cache_size=-65536")
            # Checkpoint the WAL every 10,000 pages (~40 MiB) rather than every 1,000: a poll of
            # the ledger dirties thousands of pages, and each checkpoint copies and syncs them.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # One writer at a time, decided up front: no read-then-write upgrade deadlocks.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@contextlib.contextmanager
def sqlite_write(connection: Connection):
    """SQLite: a transaction of the driver's own under an SQLAlchemy connection in none, for
    ``events.driver`` statements; committed at the end of the block, rolled back on error.
    Yields the driver connection.

    It begins DEFERRED, so its first statement, which must write, takes the write lock (waiting
    for other writers as BEGIN IMMEDIATE would; nothing was read before it) and holds it to the
    commit: not from BEGIN, and not through SQLAlchemy's begin and commit, which on the hottest
    path cost more than the statements. SQLAlchemy does not see this transaction."""
    if connection.dialect.name != "sqlite" or connection.in_transaction():
        raise ValueError("sqlite_write needs a SQLite connection in no transaction")
    driver = connection.connection.driver_connection
    driver.execute("BEGIN")
    try:
        yield driver
    except BaseException:
        driver.rollback()
        raise
    driver.commit()


@contextlib.contextmanager
def postgresql_autocommit(connection: Connection):
    """PostgreSQL: the driver's connection under an SQLAlchemy connection in no transaction,
    each statement committed by itself, for ``events.driver`` statements; yields the driver
    connection.

    SQLAlchemy's own AUTOCOMMIT (an isolation level) does the same at a higher price on the
    hottest path: it sets the level and, when the connection goes back to the pool, sets it
    back, with events. SQLAlchemy does not see these statements."""
    if connection.dialect.name != "postgresql" or connection.in_transaction():
        raise ValueError("postgresql_autocommit needs a PostgreSQL connection in no transaction")
    driver = connection.connection.driver_connection
    driver.autocommit = True
    try:
        yield driver
    finally:
        if not driver.closed:
            driver.autocommit = False


def make_session_factory(engine: Engine) -> sessionmaker:
    """Return a session factory that does not expire objects on commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(service: str, url: str) -> Config:
    """Return the Alembic configuration of one service's migrations."""
    config = Config()
    config.set_main_option("script_location", str(package_dir(service) / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service"] = service
    return config


def upgrade(service: str, url: str, engine: Engine | None = None) -> None:
    """Bring a service's database to the newest migration."""
    config = alembic_config(service, url)
    if engine is not None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    else:
        command.upgrade(config, "head")


@functools.lru_cache(maxsize=256)
def _upsert_statement(
    table, dialect: str, columns: tuple[str, ...], key: tuple[str, ...], combine: tuple = ()
):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table)
    changes = {name: statement.excluded[name] for name in columns if name not in key}
    for name, operator in combine:
        changes[name] = table.c[name].op(operator)(statement.excluded[name])
    return statement.on_conflict_do_update(index_elements=list(key), set_=changes)


def upsert(session, table, values: dict, key: list[str]) -> None:
    """Insert a row, or update it where one with the same key exists (one statement)."""
    dialect = session.get_bind().dialect.name
    session.execute(_upsert_statement(table, dialect, tuple(values), tuple(key)), values)


def upsert_many(
    session, table, rows: list[dict], key: list[str], combine: dict[str, str] | None = None
) -> None:
    """Insert rows, or update those whose key exists (no key may come twice), as one executemany:
    SQLAlchemy sends them as statements of many rows from one compiled form (its
    "insertmanyvalues"; compiling a statement with the rows in it costs more than running it).
    ``combine`` names columns whose new value is the old one with the operator
    given applied to the new (``{"months": "|"}``: the bits of both), not the new alone."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    combined = tuple(sorted((combine or {}).items()))
    statement = _upsert_statement(table, dialect, tuple(rows[0]), tuple(key), combined)
    session.execute(statement, rows)
