"""Access revocation: a role revoked or a password changed ends the account's tokens everywhere.

web counts each account's *access version* and signs it into every token (claim ``ver``). When it
revokes a role, disables an account or sees a password changed, it raises the version and
publishes ``account.access_revoked`` (topic ``shiliu.accounts``). Every part keeps the versions it
learnt in its own ``account_access`` table and refuses a token whose version is older. Tokens are
still checked without a call per request: each process keeps the table in memory and reads it
again at most once a second, so a revocation takes effect within seconds of reaching the part.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from events.envelope import Event, utcnow
from services.common.db import upsert

metadata = MetaData()

account_access = Table(
    "account_access",
    metadata,
    Column("account_id", String(64), nullable=False),
    Column("access_version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("account_id", name="pk_account_access"),
)


def on_access_revoked(session: Session, event: Event, payload: dict) -> None:
    """Remember an account's newest access version (an older one arriving late changes nothing)."""
    known = session.scalar(
        select(account_access.c.access_version).where(
            account_access.c.account_id == payload["account_id"]
        )
    )
    if known is not None and known >= payload["access_version"]:
        return
    upsert(
        session,
        account_access,
        {
            "account_id": payload["account_id"],
            "access_version": payload["access_version"],
            "updated_at": utcnow(),
        },
        key=["account_id"],
    )


HANDLERS = {"account.access_revoked": on_access_revoked}


class AccessVersions:
    """The access versions a part has learnt, kept in memory and read again at most every
    ``interval`` seconds (the table holds only accounts whose access was ever revoked)."""

    def __init__(self, engine: Engine, interval: float = 1.0):
        self.engine = engine
        self.interval = interval
        self._versions: dict[str, int] = {}
        self._read_at = -interval
        self._lock = threading.Lock()

    def current(self, account_id: str) -> int:
        """The newest access version known for the account (0 when none was ever revoked)."""
        if time.monotonic() - self._read_at >= self.interval:
            self._refresh()
        return self._versions.get(account_id, 0)

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._read_at < self.interval:
                return
            # On the driver's connection, outside any SQLAlchemy transaction: on SQLite every
            # SQLAlchemy transaction takes the write lock (BEGIN IMMEDIATE), and the request
            # asking may hold it already in this very thread.
            with self.engine.connect() as connection:
                driver = connection.connection.driver_connection
                cursor = driver.cursor()
                try:
                    cursor.execute(_READ)
                    rows = cursor.fetchall()
                finally:
                    cursor.close()
                    driver.rollback()
            self._versions = {account_id: version for account_id, version in rows}
            self._read_at = time.monotonic()


_READ = "SELECT account_id, access_version FROM account_access"
