"""Check-in: at once where the admission rule admits the scan, else from the facts read first.

A volunteer's scan that the rule of operations/admission.py admits as things stand is recorded
by its INSERT ... SELECT, so the database checks the rule in the statement that writes:
- on SQLite, with the activity's check-in secret remembered from an earlier scan, that INSERT
  is the transaction's first statement and the event follows it;
- on PostgreSQL, after one read of the facts (which the event needs), the INSERT, the outbox
  lock and the event's row are one statement that commits by itself, so the lock is never held
  across a round trip.
Anything else (a refusal, a repeated scan, an activity with a radius, an organizer's hand
entry, or facts that changed in between) reads the facts and the rule's conditions in the
transaction, answers a refusal with the condition that failed, and inserts the record once.
Both ways write the same record and the same event.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import literal
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from events import catalog
from events.driver import DriverStatement
from events.envelope import utcnow
from events.outbox import emit, insert_statement, locked_insert, outbox_row
from services.common.db import postgresql_autocommit, sqlite_write
from services.common.errors import NotFound
from services.common.states import AttendanceStatus
from services.volunteers.models import Attendance
from services.volunteers.operations._common import PRODUCER, attendance_of
from services.volunteers.operations.admission import (
    CHECKIN_FACTS,
    CheckinRefused,
    Facts,
    facts_parameters,
    insert_admitted,
    insert_once,
    refusal,
    refuse_unless_running,
)
from services.volunteers.operations.codes import attempt_keys, judge_code
from services.volunteers.rules import code_is_valid

_attendance = Attendance.__table__

# Activity id -> check-in secret. A secret never changes once the activity is projected, and
# the INSERT only admits a scan where the stored secret is still the one the code was checked
# against, so an entry here can save a read but never admit a wrong code.
_SECRETS: dict[str, str] = {}
_SECRETS_KEPT = 10_000


def _remember_secret(activity_id: str, secret: str) -> None:
    if len(_SECRETS) >= _SECRETS_KEPT:
        _SECRETS.clear()
    _SECRETS[activity_id] = secret


@functools.lru_cache(maxsize=8)
def _driver_statements(dialect: Dialect) -> tuple[DriverStatement, ...]:
    """The statements of a check-in admitted at once, compiled for the connection's driver: on
    SQLite the record's INSERT and the event's; on PostgreSQL the facts' read, then the record's
    INSERT and the event's in one statement."""
    if dialect.name == "postgresql":
        admitted = insert_admitted("postgresql", same_signup=True).returning(_attendance.c.id)
        both = locked_insert(after=admitted.cte("admitted")).returning(literal(True))
        return DriverStatement(CHECKIN_FACTS, dialect), DriverStatement(both, dialect)
    record = insert_admitted(dialect.name).returning(
        _attendance.c.signup_id, _attendance.c.shift_id, _attendance.c.walk_in
    )
    event = insert_statement(dialect.name)
    return DriverStatement(record, dialect), DriverStatement(event, dialect)


def check_in(
    db: Session | Connection,
    activity_id: str,
    volunteer_id: str,
    *,
    code: str | None = None,
    location: dict | None = None,
    by: str | None = None,
    address: str | None = None,
    now: datetime | None = None,
) -> tuple[Attendance | SimpleNamespace, bool]:
    """Record a volunteer's arrival, once: by the volunteer with the live code (and location,
    where the activity has one), or by an organizer (``by``) for someone without a phone.

    Runs in the transaction of a session or on a Core connection (the API's hot path needs no
    ORM session; a connection not yet in a transaction may commit a check-in admitted at once by
    itself). Returns (record, created). A repeated scan returns the existing record; concurrent
    scans race on the (activity, volunteer) unique key, and exactly one insert wins.

    Wrong codes are counted per volunteer and per ``address`` (CodeRefused: commit, then
    answer); after too many, every scan of theirs waits (TooManyWrongCodes).
    """
    now = now or utcnow()
    record = {
        "id": str(uuid.uuid4()),
        "activity_id": activity_id,
        "volunteer_id": volunteer_id,
        "checked_in_at": now,
        "checkin_method": "code" if by is None else "manual",
        "checked_in_by": by or volunteer_id,
        "status": AttendanceStatus.OPEN,
        "created_at": now,
    }
    parameters = facts_parameters(activity_id, volunteer_id, now, address)
    if by is None:
        dialect = db.get_bind().dialect if isinstance(db, Session) else db.dialect
        if dialect.name == "postgresql":
            admitted = _check_in_at_once_postgresql(db, record, code or "", parameters)
        else:
            admitted = _check_in_at_once_sqlite(db, record, code or "", parameters)
        if admitted is not None:
            return admitted, True
    keys = attempt_keys(volunteer_id, address)
    return _check_in_read_first(db, record, code, location, by, parameters, keys)


def _check_in_at_once_sqlite(db, record: dict, code: str, parameters: dict):
    """The INSERT first (SQLite's write lock waits for it), then the event; None if it did not
    admit the scan, or the secret is not known here yet."""
    secret = _SECRETS.get(record["activity_id"])
    if secret is None or not code_is_valid(secret, code, parameters["now"]):
        return None
    parameters = {**parameters, "id": record["id"], "secret": secret}
    if isinstance(db, Connection) and not db.in_transaction():
        # A transaction of its own, committed here: the lock is held from the INSERT on.
        with sqlite_write(db) as driver:
            return _write_at_once(driver, db.dialect, record, parameters)
    return _write_at_once(*_driver_in_transaction(db), record, parameters)


def _write_at_once(driver, dialect: Dialect, record: dict, parameters: dict):
    insert_record, insert_event = _driver_statements(dialect)
    admitted = insert_record.run(driver, parameters)
    if admitted is None:
        return None
    signup_id, shift_id, walk_in = admitted
    # The event is made once its shift is known: making it whole costs less than making it
    # before the INSERT and giving it the shift after.
    insert_event.run(driver, outbox_row(_checked_in_event(record, shift_id)))
    return _as_written(record, signup_id, shift_id, walk_in)


def _check_in_at_once_postgresql(db, record: dict, code: str, parameters: dict):
    """Read the facts, then write the record and its event in one statement (on a connection in
    no transaction yet, each commits by itself); None if that did not admit the scan."""
    if isinstance(db, Connection) and not db.in_transaction():
        with postgresql_autocommit(db) as driver:
            return _read_then_write_once(driver, db.dialect, record, code, parameters)
    return _read_then_write_once(*_driver_in_transaction(db), record, code, parameters)


def _read_then_write_once(driver, dialect: Dialect, record: dict, code: str, parameters: dict):
    read_facts, insert_record_and_event = _driver_statements(dialect)
    row = read_facts.run(driver, parameters)  # psycopg gives each column the type SQLAlchemy would
    facts = Facts._make(row) if row is not None else None
    if facts is None or not _admitted_as_it_stands(facts, code, parameters["now"]):
        return None
    signup_id, shift_id = facts.admitted_signup_id, facts.admitted_shift_id
    written = insert_record_and_event.run(
        driver,
        {
            **parameters,
            "id": record["id"],
            "secret": facts.checkin_secret,
            "signup_id": signup_id,
            **outbox_row(_checked_in_event(record, shift_id)),
        },
    )
    if written is None:
        return None
    return _as_written(record, signup_id, shift_id, signup_id is None)


def _admitted_as_it_stands(facts: Facts, code: str, now: datetime) -> bool:
    """Whether the INSERT of an admitted check-in will take these facts as they are: the rule's
    conditions as the read evaluated them, and the code."""
    return facts.admitted and code_is_valid(facts.checkin_secret, code, now)


def _driver_in_transaction(db: Session | Connection) -> tuple:
    """The driver connection of a session or connection, in its transaction (begun if need be),
    and its dialect."""
    connection = _connection(db)
    if not connection.in_transaction():
        connection.begin()
    return connection.connection.driver_connection, connection.dialect


def _check_in_read_first(db, record: dict, code, location, by, parameters: dict, keys):
    """Read the facts and the rule's conditions in the transaction, explain a refusal, insert
    once."""
    activity_id, volunteer_id = record["activity_id"], record["volunteer_id"]
    now = parameters["now"]
    connection = _connection(db)
    row = connection.execute(CHECKIN_FACTS, parameters).first()
    if row is None:
        raise NotFound("活动不存在或尚未发布", code="unknown-activity")
    facts = Facts._make(row)
    _remember_secret(activity_id, facts.checkin_secret)
    # The ORM reads of refusals and repeated scans, in the same transaction.
    with contextlib.nullcontext(db) if isinstance(db, Session) else Session(connection) as session:
        refuse_unless_running(facts)
        if by is None:
            judge_code(connection, facts, code, now, keys)
        refused = refusal(session, facts, location, by, now)
        if refused is not None:
            # Refused now, but a repeated scan of someone already in is answered kindly.
            existing = attendance_of(session, activity_id, volunteer_id)
            if existing is not None and existing.checked_in_at is not None:
                return existing, False
            raise refused
        signup_id, shift_id = facts.admitted_signup_id, facts.admitted_shift_id
        values = {**record, "signup_id": signup_id, "shift_id": shift_id}
        values["walk_in"] = signup_id is None
        if connection.execute(insert_once(connection.dialect.name), values).first() is None:
            # An earlier (or concurrent) scan: answer with its record.
            existing = attendance_of(session, activity_id, volunteer_id)
            if existing.checked_in_at is None:
                raise CheckinRefused("出勤已由组织者确认，不能再签到", code="attendance-final")
            return existing, False
    emit(connection, _checked_in_event(record, shift_id))
    return _as_written(record, signup_id, shift_id, signup_id is None), True


def _checked_in_event(record: dict, shift_id: str | None):
    """attendance.checked_in of a record about to be (or just) written."""
    return catalog.make_event(
        "attendance.checked_in",
        {
            "attendance_id": record["id"],
            "volunteer_id": record["volunteer_id"],
            "activity_id": record["activity_id"],
            "shift_id": shift_id,
            "checked_in_at": record["checked_in_at"].isoformat(),
            "method": record["checkin_method"],
        },
        producer=PRODUCER,
        serialized=True,
    )


def _as_written(record: dict, signup_id, shift_id, walk_in) -> SimpleNamespace:
    """The record just written, without reading it back."""
    return SimpleNamespace(
        **record,
        signup_id=signup_id,
        shift_id=shift_id,
        walk_in=bool(walk_in),
        checked_out_at=None,
        hours=None,
    )


def _connection(db: Session | Connection) -> Connection:
    """The Core connection of a session or connection."""
    return db.connection() if isinstance(db, Session) else db
