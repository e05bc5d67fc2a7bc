"""Database engines and sessions for a service: SQLite by default, PostgreSQL by URL."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
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
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # One writer at a time, decided up front: no read-then-write upgrade deadlocks.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


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
def _upsert_statement(table, dialect: str, columns: tuple[str, ...], key: tuple[str, ...]):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table)
    changes = {name: statement.excluded[name] for name in columns if name not in key}
    return statement.on_conflict_do_update(index_elements=list(key), set_=changes)


def upsert(session, table, values: dict, key: list[str]) -> None:
    """Insert a row, or update it where one with the same key exists (one statement)."""
    dialect = session.get_bind().dialect.name
    session.execute(_upsert_statement(table, dialect, tuple(values), tuple(key)), values)
