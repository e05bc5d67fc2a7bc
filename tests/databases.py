"""Which databases the suite runs on: SQLite always, PostgreSQL when it answers (CI must have it).

A module of its own (not conftest.py) so that test modules can import it unambiguously.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, make_url, text

from services.common.db import upgrade

POSTGRES_URL = os.environ.get(
    "SHILIU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - no PostgreSQL here means SQLite only
        return False


POSTGRES = _postgres_available()
if os.environ.get("CI") and not POSTGRES:
    raise RuntimeError(f"CI must exercise PostgreSQL, but {POSTGRES_URL} does not answer")
ENGINES = ["sqlite", "postgresql"] if POSTGRES else ["sqlite"]


# ---- migrated once per session, copied for each test -------------------------------------------
#
# Alembic takes seconds to bring four databases to head; a copy takes milliseconds. Each part is
# migrated once per session into a template (a SQLite file; a PostgreSQL schema, dumped as SQL),
# and each test's database is a copy of it. tests/test_db.py still runs the real migrations.

_TEMPLATES: dict[tuple[str, str], object] = {}
_TEMPLATE_TAG = f"tpl{uuid.uuid4().hex[:8]}"
_TEMPLATE_DIR: list[Path] = []


def migrate(name: str, url: str) -> None:
    """Bring a part's fresh, empty database (as the fixtures make them) to head: a copy of the
    session's migrated template where one can be made, else Alembic's upgrade."""
    if url.startswith("sqlite"):
        target = Path(url.split("///", 1)[1])
        if target.exists():
            upgrade(name, url)  # not fresh: let Alembic decide
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(name), target)
        return
    script = _postgres_template(name)
    if script is None:
        upgrade(name, url)
        return
    schema = _search_path(url)
    with psycopg.connect(_libpq(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(script.replace(f"{_TEMPLATE_TAG}_{name}", schema).encode())


def _sqlite_template(name: str) -> Path:
    key = ("sqlite", name)
    if key not in _TEMPLATES:
        if not _TEMPLATE_DIR:
            folder = Path(tempfile.mkdtemp(prefix="shiliu-templates-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _TEMPLATE_DIR.append(folder)
        path = _TEMPLATE_DIR[0] / f"{name}.db"
        upgrade(name, f"sqlite:///{path}")
        # Everything in the one file, so that copying the file copies the database.
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        _TEMPLATES[key] = path
    return _TEMPLATES[key]


def _postgres_template(name: str) -> str | None:
    """The SQL that makes a migrated copy of a part's schema (the template's name in it), or
    None where pg_dump cannot give it (then each test migrates, as before)."""
    key = ("postgresql", name)
    if key not in _TEMPLATES:
        schema = f"{_TEMPLATE_TAG}_{name}"
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        atexit.register(_drop_template, schema)
        upgrade(name, f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
        _TEMPLATES[key] = _dump(schema)
    return _TEMPLATES[key]


def _dump(schema: str) -> str | None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        return None
    done = subprocess.run(
        [pg_dump, "--schema", schema, "--inserts", "--no-owner", "--no-privileges"]
        + ["--dbname", _libpq(POSTGRES_URL)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:  # e.g. a pg_dump older than the server
        return None
    lines = [line for line in done.stdout.splitlines() if not line.startswith("\\")]
    script = "\n".join(lines)
    return script.replace(f"CREATE SCHEMA {schema};", f"CREATE SCHEMA IF NOT EXISTS {schema};")


def _drop_template(schema: str) -> None:
    with contextlib.suppress(Exception):
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _libpq(url: str) -> str:
    """A libpq connection string of an SQLAlchemy URL (no query options)."""
    return make_url(url).set(drivername="postgresql", query={}).render_as_string(False)


def _search_path(url: str) -> str:
    return make_url(url).query["options"].removeprefix("-csearch_path=")


def database_examples(max_examples: int) -> settings:
    """Hypothesis settings for a property checked against a database: no deadline (an example
    is many statements, slower on PostgreSQL), and no warning that the examples share the test's
    function-scoped fixtures (its database), which these properties do on purpose."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def one_engine(why: str, engine: str = "sqlite"):
    """A module's ``city_engine`` fixture (conftest.py runs a module's city on every engine)
    narrowed to one engine, ``why`` saying why; a module writes
    ``city_engine = one_engine("...")``."""

    def city_engine() -> str:
        return engine

    city_engine.__doc__ = why
    return pytest.fixture(scope="module")(city_engine)
