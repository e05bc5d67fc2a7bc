"""A poll's attendance events applied together: the same rows, chain and totals as one at a time;
a poisoned event goes to the dead letters and the rest of its poll still counts; redelivered
events, in the same poll or again later, change nothing."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from ledger_support import (
    Ledger,
    confirmed,
    expected_balances,
    fresh_ledger_url,
    later,
    no_show,
    records,
    stream,
)
from sqlalchemy import func, select, text

from events.store import consumed_events
from services.ledger import chain, operations
from services.ledger.models import LedgerEntry
from services.ledger.operations import attendance as attendance_ops

MARCH_8 = date(2026, 3, 8)


@pytest.fixture
def ledger(ledger):
    """The shared ledger (tests/conftest.py), its dead letters kept in ``letters`` instead of
    sent, and its retries without the wait."""
    ledger.letters = []
    ledger.runner._dead_letter = lambda record, reason: ledger.letters.append((record, reason))
    ledger.runner.retry_backoff = 0.001
    return ledger


def _checksum_and_rows(ledger: Ledger) -> tuple[str, int]:
    with ledger.factory() as session:
        found = chain.verify(session)
        assert found.ok, found.problem
        return chain.checksum(session), found.rows


def test_a_poll_applied_at_once_writes_what_one_event_at_a_time_writes(tmp_path):
    events = stream(1200, volunteers=60, seed=13)  # corrections, caps, no-shows, duplicates
    together, alone = (Ledger(fresh_ledger_url(tmp_path, name)) for name in ("one", "many"))
    try:
        together.apply(events, batch=500)
        alone.apply(events, batch=1)
        assert _checksum_and_rows(together) == _checksum_and_rows(alone)
        assert together.balances() == alone.balances()
        expected = expected_balances(events)
        assert {v: together.balances().get(v, 0) for v in expected} == expected
        assert together.runner.counts["applied"] == len({e.id for e in events})
    finally:
        together.close()
        alone.close()


def test_one_event_changing_a_day_twice_in_a_poll_settles_it_as_one_at_a_time_would(tmp_path):
    events = [
        no_show("su-1", "v-1", "a-2", MARCH_8),
        confirmed("at-1", "v-1", "7.5", activity_id="a-1"),  # 80
        confirmed("at-2", "v-1", "3.5", activity_id="a-2"),  # 40, 20 fit; the no-show reversed
        confirmed("at-1", "v-1", "2.5", at=later(60), corrected_from="7.5"),  # 30: room again
        confirmed("at-2", "v-1", "3.5", activity_id="a-2"),  # delivered twice in the poll
        confirmed("at-1", "v-1", "9", at=later(1), corrected_from="7.5"),  # older than the last
    ]
    together, alone = (Ledger(fresh_ledger_url(tmp_path, name)) for name in ("one", "many"))
    try:
        together.apply(events, batch=len(events))
        alone.apply(events, batch=1)
        assert _checksum_and_rows(together) == _checksum_and_rows(alone)
        assert together.balances() == {"v-1": 30 + 40}
    finally:
        together.close()
        alone.close()


def test_a_poisoned_event_is_dead_lettered_and_the_rest_of_its_poll_counts_once(
    ledger, monkeypatch
):
    good = [confirmed(f"at-{n}", f"v-{n}", "3.5") for n in range(1, 6)]
    poison = confirmed("at-poison", "v-9", "2")
    poll = [good[0], good[1], poison, good[1], good[2], good[3], good[4], good[0]]

    real_count = attendance_ops._count_attendance

    def count(session, book, writer, event, payload, corrected):
        if payload["attendance_id"] == "at-poison":
            raise RuntimeError("a rule this ledger cannot read")
        return real_count(session, book, writer, event, payload, corrected)

    monkeypatch.setattr(attendance_ops, "_count_attendance", count)
    outcomes = ledger.runner.apply_records(records(poll))
    assert [o.status for o in outcomes] == [
        "applied",
        "applied",
        "dead_lettered",
        "duplicate",  # the same event twice in one poll
        "applied",
        "applied",
        "applied",
        "duplicate",
    ]
    assert len(ledger.letters) == 1
    assert "RuntimeError: a rule this ledger cannot read" in ledger.letters[0][1]
    assert ledger.balances() == {f"v-{n}": 40 for n in range(1, 6)}
    with ledger.factory() as session:
        claimed = set(session.scalars(select(consumed_events.c.event_id)))
    assert claimed == {e.id for e in good}  # the poisoned one is not recorded as applied

    # The whole poll delivered again (the offsets were not committed): nothing changes.
    again = ledger.runner.apply_records(records(poll))
    assert [o.status for o in again].count("duplicate") == 7
    assert ledger.balances() == {f"v-{n}": 40 for n in range(1, 6)}

    # Once the cause is fixed, the dead letter replayed counts, once.
    monkeypatch.setattr(attendance_ops, "_count_attendance", real_count)
    ledger.runner.apply_records(records([poison, poison]))
    assert ledger.balances() == {**{f"v-{n}": 40 for n in range(1, 6)}, "v-9": 25}
    with ledger.factory() as session:
        assert chain.verify(session).ok
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 6


def test_the_careful_pass_writes_what_the_batch_would_have_written(tmp_path, monkeypatch):
    events = stream(300, volunteers=20, seed=5)
    batch, careful = (Ledger(fresh_ledger_url(tmp_path, name)) for name in ("batch", "careful"))
    try:
        batch.apply(events, batch=100)
        calls = {"n": 0}
        real_apply = operations.apply_attendance

        def fails_on_whole_polls(session, items):
            if len(items) > 1:  # every optimistic pass fails; the careful pass goes one by one
                calls["n"] += 1
                raise RuntimeError("not today")
            return real_apply(session, items)

        monkeypatch.setattr(
            careful.runner.handlers["attendance.confirmed"], "apply_many", fails_on_whole_polls
        )
        careful.apply(events, batch=100)
        assert calls["n"] >= 3
        assert _checksum_and_rows(batch) == _checksum_and_rows(careful)
    finally:
        batch.close()
        careful.close()


def test_rows_hash_as_in_the_first_ledger():
    """Faster to compute, the same bytes: ledgers written before still verify."""
    row = SimpleNamespace(
        entry_id="6f1c8f0e-0000-5d59-9a51-2d3c1e0b7a44",
        volunteer_id="v-1",
        kind="reversal",
        reason_code="correction",
        points=-40,
        hours_halves=-7,
        explanation='时长更正，冲销原记录 +40分 "引号"',
        activity_id="a-1",
        attendance_id="at-1",
        entry_date=date(2026, 3, 8),
        rule_version=None,
        source_event_id="0b7a44e1-0000-4000-8000-000000000001",
        reverses_entry_id="6f1c8f0e-0000-5d59-9a51-2d3c1e0b7a45",
        occurred_at=datetime(2026, 3, 8, 10, 30, tzinfo=timezone(timedelta(hours=8))),
        recorded_at=datetime(2026, 3, 8, 2, 31, 5, 123456, tzinfo=UTC),
    )
    # The hash the first ledger's code gave this row.
    assert chain.row_hash("ab" * 32, 7, row) == (
        "08676fb0a8b408aa09a8fc48b205a70aa1f88f0843236efdf75fc8075a538662"
    )


def test_entry_ids_lead_with_their_causes_time_and_derive_from_its_name():
    """An entry id is a UUIDv8: 48 bits of the cause's time in milliseconds, then SHA-1 of the
    name in the ledger's namespace (so a rebuild gives the same ids), and later ids sort later."""
    moment = datetime(2026, 3, 8, 2, 31, 5, 123999, tzinfo=UTC)
    millis = operations.moment_ms(moment)
    assert millis == 1772937065123
    for name in ("event-1/1", "adjustment/a-1/1", "event/6f1c8f0e", "志愿者"):
        made = uuid.UUID(operations.entry_uuid(millis, name))
        assert made.version == 8 and made.variant == uuid.RFC_4122
        assert made.int >> 80 == millis
        digest = hashlib.sha1(operations.ENTRY_NAMESPACE.bytes + name.encode()).digest()
        free = (1 << 80) - 1 ^ (0xF << 76) ^ (0x3 << 62)  # the bits left to the name
        assert made.int & free == int.from_bytes(digest[:10], "big") & free
    later = [operations.entry_uuid(millis + step, "event-1/1") for step in (0, 1, 1000, 86400000)]
    assert later == sorted(later) and len(set(later)) == 4
    assert operations.entry_uuid(millis, "event-1/1") != operations.entry_uuid(millis, "event-1/2")


def test_canonical_content_is_every_content_field_in_sorted_order():
    """The row content the checksum and the chain cover names every content field, sorted."""
    row = SimpleNamespace(**dict.fromkeys(chain.CONTENT_FIELDS, "x"))
    row.occurred_at = datetime(2026, 3, 8, tzinfo=UTC)
    assert list(json.loads(chain.canonical(row))) == sorted(chain.CONTENT_FIELDS)


@pytest.mark.parametrize("engine_name", ["postgresql"])
def test_a_polls_look_ups_are_planned_for_their_own_keys_every_time(ledger):
    """psycopg prepares a statement on its fifth run, and PostgreSQL may then run it with a
    generic plan, made for any keys: a sequential scan that compares each row with each of a
    poll's 400 attendance ids (400–800 ms a look-up on a ledger of 50,000 events, in the server's
    log), where a plan for the keys themselves hashes them or uses the index. A ledger that
    started empty ingested 600 events/s instead of 3,500 in 4 of 9 runs of ``shiliu bench
    ledger`` on PostgreSQL. A poll's look-ups are planned for their keys each time."""

    def poll(first: int) -> list[tuple]:
        return [
            (
                SimpleNamespace(type="attendance.confirmed"),
                {
                    "attendance_id": f"at-{n}",
                    "volunteer_id": f"v-{n}",
                    "activity_id": "a-1",
                    "activity_date": MARCH_8,
                },
            )
            for n in range(first, first + 400)
        ]

    with ledger.factory() as session, session.begin():  # one connection throughout
        # psycopg prepares a statement on its 5th run; PostgreSQL plans the next 5 runs of a
        # prepared statement for their parameters, and may then choose a generic plan.
        for n in range(16):
            attendance_ops._Book(session, poll(400 * n))
        plans = session.execute(
            text(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
                " WHERE statement LIKE 'SELECT%FROM attendance_states%'"
            )
        ).all()
    assert plans, "the look-ups were not prepared: the test no longer looks at what it should"
    assert [(p.generic_plans, p.custom_plans) for p in plans] == [(0, 11)] * len(plans)
