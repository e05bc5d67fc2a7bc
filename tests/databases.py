"""Which databases the suite runs on: SQLite always, PostgreSQL when it answers (CI must have it).

A module of its own (not conftest.py) so that test modules can import it unambiguously.
"""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text

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
