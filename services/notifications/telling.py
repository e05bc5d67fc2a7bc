"""Putting a message in a person's inbox (once), and reading it back in words."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from time import time_ns

from sqlalchemy import bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from events.driver import driver_statement
from events.envelope import utcnow
from events.messages import PLACEHOLDER, Message
from events.settings import city_zone
from services.notifications.kinds import KINDS, OBJECTION_DECISIONS
from services.notifications.models import (
    ActivityView,
    CycleView,
    Delivery,
    Notification,
    Preference,
)

QUIET_START, QUIET_END = time(22, 0), time(7, 0)


def preference(session: Session, account_id: str) -> Preference:
    """A person's preferences (the defaults until they change them: everything on, quiet hours
    kept, outside channels allowed)."""
    return session.get(Preference, account_id) or _default_preference(account_id)


def _choices(session: Session, account_ids) -> dict[str, Preference | _Defaults]:
    """The preferences of many people, read in one query (the defaults for those who never
    changed them, as ``preference`` gives)."""
    ids = set(account_ids)
    found = {
        p.account_id: p
        for p in session.scalars(select(Preference).where(Preference.account_id.in_(ids)))
    }
    return {a: found.get(a, DEFAULTS) for a in ids}


@dataclass(frozen=True)
class _Defaults:
    """What ``tell`` reads of the default preferences."""

    muted_kinds: tuple = ()
    quiet_at_night: bool = True
    outside_channels: bool = True


DEFAULTS = _Defaults()


def _default_preference(account_id: str) -> Preference:
    return Preference(
        account_id=account_id,
        muted_kinds=[],
        quiet_at_night=True,
        outside_channels=True,
        updated_at=utcnow(),
    )


def tell(
    session: Session,
    recipient_id: str | None,
    kind: str,
    dedupe_key: str,
    *,
    link: str,
    values: dict | None = None,
    activity_id: str | None = None,
    signup_id: str | None = None,
    now: datetime | None = None,
) -> str | None:
    """Put one message in the recipient's inbox unless it is already there (by ``dedupe_key``) or
    they turned its kind off; an outside-channel kind also gets a delivery to send. Returns the
    new message's id, or None."""
    if not recipient_id:
        return None
    chosen = preference(session, recipient_id)
    if _muted(kind, chosen):
        return None
    now = now or utcnow()
    row = _message_row(recipient_id, kind, dedupe_key, link, values, activity_id, signup_id, now)
    added = session.execute(_insert_new(session).values(row)).scalar()
    if added is None:
        return None
    delivery = _delivery_row(row, chosen, now, quiet_end(now))
    if delivery is not None:
        session.add(Delivery(**delivery))
    return added


def tell_many(session: Session, messages: list[dict], now: datetime | None = None) -> int:
    """``tell`` each of ``messages`` (dicts of its arguments: recipient_id, kind, dedupe_key,
    link, and optionally values, activity_id, signup_id), with the preferences read in one query
    and the messages and deliveries written in bulk. Returns how many messages were added."""
    messages = [m for m in messages if m["recipient_id"]]
    if not messages:
        return 0
    now = now or utcnow()
    chosen = _choices(session, (m["recipient_id"] for m in messages))
    rows = [
        _message_row(
            m["recipient_id"],
            m["kind"],
            m["dedupe_key"],
            m["link"],
            m.get("values"),
            m.get("activity_id"),
            m.get("signup_id"),
            now,
        )
        for m in messages
        if not _muted(m["kind"], chosen[m["recipient_id"]])
    ]
    if not rows:
        return 0
    connection = session.connection()
    if driver_statement(_new_message_statement(connection.dialect.name), connection.dialect).many(
        connection, rows
    ) == len(rows):
        added = {row["id"] for row in rows}  # none was there already
    else:
        table = Notification.__table__
        added = set(
            session.scalars(select(table.c.id).where(table.c.id.in_([r["id"] for r in rows])))
        )
    quiet_until = quiet_end(now)
    deliveries = [
        delivery
        for row in rows
        if row["id"] in added
        and (delivery := _delivery_row(row, chosen[row["recipient_id"]], now, quiet_until))
        is not None
    ]
    if deliveries:
        driver_statement(_DELIVERY_INSERT, connection.dialect).many(connection, deliveries)
    return len(added)


# The columns a new delivery has (the others are NULL until it is tried).
_DELIVERY_INSERT = insert(Delivery.__table__).values(
    {
        name: bindparam(name)
        for name in (
            "id",
            "notification_id",
            "recipient_id",
            "state",
            "attempts",
            "next_attempt_at",
            "created_at",
        )
    }
)


def _muted(kind: str, chosen: Preference) -> bool:
    return kind in chosen.muted_kinds and not KINDS[kind].essential


_MESSAGE_COLUMNS = (
    "id",
    "recipient_id",
    "kind",
    "values",
    "link",
    "urgent",
    "dedupe_key",
    "activity_id",
    "signup_id",
    "created_at",
)


def _message_row(recipient_id, kind, dedupe_key, link, values, activity_id, signup_id, now) -> dict:
    return {
        "id": new_id(),
        "recipient_id": recipient_id,
        "kind": kind,
        "values": dict(values or {}),
        "link": link,
        "urgent": KINDS[kind].urgent,
        "dedupe_key": dedupe_key[:200],
        "activity_id": activity_id,
        "signup_id": signup_id,
        "created_at": now,
    }


def _insert_new(session: Session):
    """INSERT of an inbox row that skips one already there (by its dedupe key), returning the
    id of the row it added."""
    table = Notification.__table__
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert_(table).on_conflict_do_nothing().returning(table.c.id)


@functools.cache
def _new_message_statement(dialect: str):
    """The INSERT of many inbox rows (every column by name) that skips those already there."""
    table = Notification.__table__
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert_(table)
        .values({c.name: bindparam(c.name) for c in table.columns if c.name in _MESSAGE_COLUMNS})
        .on_conflict_do_nothing()
    )


def _delivery_row(
    message: dict, chosen: Preference, now: datetime, quiet_until: datetime
) -> dict | None:
    """The delivery an added message gets on outside channels (at ``quiet_until``, the end of
    the quiet hours, unless it is urgent), or None when its kind stays in the inbox or the
    person turned them off."""
    spec = KINDS[message["kind"]]
    if not (spec.outside and chosen.outside_channels):
        return None
    wait_until = quiet_until if chosen.quiet_at_night and not spec.urgent else now
    return {
        "id": new_id(),
        "notification_id": message["id"],
        "recipient_id": message["recipient_id"],
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": wait_until,
        "created_at": now,
    }


def new_id() -> str:
    """A new message or delivery id: a UUIDv7 (RFC 9562), whose first 48 bits are the time in
    milliseconds, so the indexes on ids take new rows at their end rather than on a random page
    each (as event ids do). Made here in a third of ``uuid6.uuid7``'s time (a fan-out makes two
    per reminder); ids of the same millisecond are in no particular order."""
    value = (time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | 7 << 76  # the version
    value = value & ~(0x3 << 62) | 0x2 << 62  # the variant
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def quiet_end(now: datetime) -> datetime:
    """``now``, or the end of the quiet hours (07:00, city time) when ``now`` lies in them."""
    local = now.astimezone(city_zone())
    if QUIET_END <= local.time() < QUIET_START:
        return now
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_END, tzinfo=city_zone())


def local_time(moment: datetime) -> str:
    """A moment as messages write it, in the city's time: 2026-12-08 09:00."""
    return moment.astimezone(city_zone()).strftime("%Y-%m-%d %H:%M")


def message(session: Session, found: Notification, views: dict | None = None) -> Message:
    """The message in words (a ``Message``: Chinese text with its key and values), with the
    activity's or cycle's title, time and place as the service knows them now."""
    values = dict(found.values or {})
    activity = _view(session, ActivityView, found.activity_id, views)
    if activity is not None:
        values.setdefault("title", activity.title)
        values.setdefault("when", local_time(activity.starts_at))
        values.setdefault("address", activity.address or "—")
    cycle = _view(session, CycleView, values.get("cycle_id"), views)
    if cycle is not None:
        values.setdefault("title", cycle.title)
    if "decision" in values:
        values["decision"] = Message(OBJECTION_DECISIONS.get(values["decision"], "—"))
    template = KINDS[found.kind].template
    names = PLACEHOLDER.findall(template)
    return Message(template, {name: values.get(name, "—") for name in names})


def _view(session: Session, model, key, views: dict | None):
    if not key:
        return None
    if views is not None and (model, key) in views:
        return views[(model, key)]
    return session.get(model, key)


def inbox_views(session: Session, rows: list[Notification]) -> dict:
    """The activities and cycles a page of messages mentions, read in two queries."""
    activity_ids = {r.activity_id for r in rows if r.activity_id}
    cycle_ids = {(r.values or {}).get("cycle_id") for r in rows} - {None}
    views: dict = {}
    if activity_ids:
        for view in session.scalars(
            select(ActivityView).where(ActivityView.activity_id.in_(activity_ids))
        ):
            views[(ActivityView, view.activity_id)] = view
    if cycle_ids:
        for view in session.scalars(select(CycleView).where(CycleView.cycle_id.in_(cycle_ids))):
            views[(CycleView, view.cycle_id)] = view
    return views
