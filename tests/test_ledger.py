"""The points ledger: every point explained, nothing lost, nothing counted twice, tampering seen."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from databases import database_examples
from hypothesis import given
from hypothesis import strategies as st
from ledger_support import (
    Ledger,
    confirmed,
    expected_balances,
    fresh_ledger_url,
    later,
    no_show,
)
from sqlalchemy import delete, select, text, update

from events import catalog
from events.envelope import decode
from events.store import outbox
from infra.cli import main as shiliu
from services.ledger import chain, operations
from services.ledger.models import AttendanceState, LedgerEntry, LedgerImmutable

MARCH_8, MARCH_9 = date(2026, 3, 8), date(2026, 3, 9)


def rows(ledger: Ledger) -> list[LedgerEntry]:
    with ledger.factory() as session:
        return session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()


def test_confirmed_hours_earn_the_default_rule_and_every_row_explains_itself(ledger):
    ledger.apply(
        [
            confirmed("at-1", "v-1", "3.5"),
            confirmed("at-2", "v-2", "3.5", weight="1.50"),
            confirmed("at-3", "v-3", "3.5", cross_group=True),
        ]
    )
    written = rows(ledger)
    assert [(row.volunteer_id, row.points) for row in written] == [
        ("v-1", 40),
        ("v-2", 58),
        ("v-3", 48),
    ]
    assert written[0].explanation == "3.5小时 × 10 + 5 = 40分"
    assert written[0].kind == "award" and written[0].rule_version == 1
    assert written[0].hours_halves == 7 and written[0].entry_date == MARCH_8
    title = operations.shown_explanation(written[0], "邻里节")
    assert title == "3月8日 邻里节 3.5小时 × 10 + 5 = 40分"
    with ledger.factory() as session:
        published = session.execute(select(outbox.c.event_type)).scalars().all()
    assert published == ["points.awarded"] * 3


def test_a_correction_reverses_the_original_award_and_writes_a_new_one(ledger):
    original = confirmed("at-1", "v-1", "3.5")
    correction = confirmed("at-1", "v-1", "3.0", at=later(30), corrected_from="3.5")
    ledger.apply([original, correction, original])  # the original delivered once more
    assert [(r.kind, r.reason_code, r.points) for r in rows(ledger)] == [
        ("award", "attendance", 40),
        ("reversal", "correction", -40),
        ("award", "attendance", 35),
    ]
    first, reversal, _award = rows(ledger)
    assert reversal.reverses_entry_id == first.entry_id
    assert ledger.balances() == {"v-1": 35}
    assert ledger.hours() == {"v-1": 6}


def test_the_points_events_the_ledger_publishes_keep_their_contract(ledger):
    ledger.apply(
        [
            no_show("su-1", "v-1", "a-1", MARCH_8),
            confirmed("at-1", "v-1", "3.5", activity_id="a-1"),
            confirmed("at-1", "v-1", "3", at=later(5), corrected_from="3.5"),
        ]
    )
    ledger.post_approved_adjustment("adj-1", "v-1", 7, MARCH_8)
    with ledger.factory() as session:
        published = session.execute(select(outbox.c.value)).scalars().all()
    kinds = []
    for raw in published:
        event = decode(raw)
        catalog.get(event.type, event.version).load(event.payload)  # raises if off-contract
        kinds.append(event.type)
    assert kinds == [
        "points.awarded",  # −5 for the no-show
        "points.awarded",
        "points.reversed",  # the no-show's deduction taken back
        "points.reversed",
        "points.awarded",
        "points.adjusted",
    ]
    assert ledger.balances() == {"v-1": 35 + 7}


def test_a_correction_that_arrives_first_wins_over_the_older_confirmation(ledger):
    ledger.apply(
        [
            confirmed("at-1", "v-1", "2", at=later(30), corrected_from="3.5"),
            confirmed("at-1", "v-1", "3.5"),
        ]
    )
    assert ledger.balances() == {"v-1": 25}
    assert len(rows(ledger)) == 1


def test_the_daily_cap_is_shared_out_again_when_a_correction_frees_room(ledger):
    ledger.apply(
        [
            confirmed("at-1", "v-1", "7.5", activity_id="a-1"),  # 80
            confirmed("at-2", "v-1", "3.5", activity_id="a-2"),  # 40, only 20 fit
            confirmed("at-3", "v-1", "1", activity_id="a-3", day=MARCH_9),  # another day
        ]
    )
    assert ledger.balances() == {"v-1": 115}
    assert "当日上限100分，计20分" in rows(ledger)[1].explanation
    ledger.apply([confirmed("at-1", "v-1", "2.5", at=later(60), corrected_from="7.5")])  # 30
    assert ledger.balances() == {"v-1": 30 + 40 + 15}
    reasons = [(r.reason_code, r.points) for r in rows(ledger)[3:]]
    assert reasons == [("correction", -80), ("attendance", 30), ("cap", -20), ("attendance", 40)]


def test_a_no_show_costs_five_points_until_the_attendance_is_confirmed_after_all(ledger):
    ledger.apply([no_show("su-1", "v-1", "a-1", MARCH_8), no_show("su-1", "v-1", "a-1", MARCH_8)])
    assert ledger.balances() == {"v-1": -5}
    ledger.apply([confirmed("at-1", "v-1", "1", activity_id="a-1")])
    assert ledger.balances() == {"v-1": 15}
    last = rows(ledger)[-1]
    assert (last.kind, last.reason_code, last.points) == ("reversal", "no_show_cancelled", 5)
    ledger.apply([no_show("su-2", "v-1", "a-1", MARCH_8)])  # attended: no penalty
    assert ledger.balances() == {"v-1": 15}


def test_a_new_rule_applies_from_its_effective_date_and_never_reaches_back(ledger):
    tomorrow = operations.today() + timedelta(days=1)
    with ledger.factory() as session, session.begin():
        with pytest.raises(Exception) as refused:
            operations.create_rule(session, "acc-admin", {"effective_from": operations.today()})
        assert refused.value.code == "effective-date-past"
        rule, _ = operations.create_rule(
            session, "acc-admin", {"effective_from": tomorrow, "points_per_hour": 20}
        )
    assert rule.version == 2 and rule.attendance_base == 5
    before = confirmed("at-1", "v-1", "1", day=tomorrow - timedelta(days=1))
    after = confirmed("at-2", "v-2", "1", day=tomorrow)
    # An event that happened before the rule existed keeps the rule it was computed with.
    old = dataclasses.replace(
        confirmed("at-3", "v-3", "1", day=tomorrow), occurred_at="2026-01-01T00:00:00.000000Z"
    )
    ledger.apply([before, after, old])
    assert [(r.volunteer_id, r.points, r.rule_version) for r in rows(ledger)] == [
        ("v-1", 15, 1),
        ("v-2", 25, 2),
        ("v-3", 15, 1),
    ]


def test_ledger_rows_are_never_updated_or_deleted(ledger):
    ledger.apply([confirmed("at-1", "v-1", "3.5")])
    with ledger.factory() as session, pytest.raises(LedgerImmutable):
        row = session.scalars(select(LedgerEntry)).one()
        row.points = 400
        session.commit()
    for statement in (
        update(LedgerEntry).values(points=400),
        delete(LedgerEntry),
    ):
        with ledger.factory() as session, pytest.raises(Exception) as refused:
            session.execute(statement.execution_options(synchronize_session=False))
            session.commit()
        assert "never updated or deleted" in str(refused.value)
    assert ledger.balances() == {"v-1": 40}


# ---- tampering behind the ledger's back --------------------------------------------------


def _behind_the_back(ledger: Ledger, *statements) -> None:
    """Change the table as someone with database access could, triggers out of the way."""
    with ledger.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS ledger_entries_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS ledger_entries_no_delete"))
        for statement in statements:
            conn.execute(text(statement))


@pytest.fixture
def five_rows(ledger):
    ledger.apply([confirmed(f"at-{n}", f"v-{n}", "3.5") for n in range(1, 6)])
    with ledger.factory() as session:
        assert chain.verify(session).ok
    return ledger


def _verify(ledger):
    with ledger.factory() as session:
        return chain.verify(session).problem


def test_verify_names_a_row_whose_points_were_edited(five_rows):
    _behind_the_back(five_rows, "UPDATE ledger_entries SET points = 400 WHERE seq = 3")
    problem = _verify(five_rows)
    assert (problem.kind, problem.seq) == ("altered", 3)
    assert problem.entry_id == rows(five_rows)[2].entry_id


def test_verify_names_a_row_that_was_removed(five_rows):
    _behind_the_back(five_rows, "DELETE FROM ledger_entries WHERE seq = 2")
    assert (_verify(five_rows).kind, _verify(five_rows).seq) == ("removed", 2)


def test_verify_names_the_last_row_removed(five_rows):
    _behind_the_back(five_rows, "DELETE FROM ledger_entries WHERE seq = 5")
    assert (_verify(five_rows).kind, _verify(five_rows).seq) == ("removed", 5)


def test_verify_names_a_row_inserted_behind_the_ledgers_back(five_rows, monkeypatch):
    forged = rows(five_rows)[4]
    columns = "seq, entry_id, volunteer_id, kind, reason_code, points, hours_halves, explanation, entry_date, occurred_at, recorded_at, prev_hash, hash"
    _behind_the_back(
        five_rows,
        f"INSERT INTO ledger_entries ({columns}) SELECT 6, 'forged', volunteer_id, kind, "
        "reason_code, 100, hours_halves, explanation, entry_date, occurred_at, recorded_at, "
        f"hash, hash FROM ledger_entries WHERE seq = {forged.seq}",
    )
    problem = _verify(five_rows)
    assert (problem.kind, problem.seq, problem.entry_id) == ("inserted", 6, "forged")
    # The command line says the same, and fails.
    monkeypatch.setenv("SHILIU_LEDGER_DATABASE_URL", five_rows.url)
    said = CliRunner().invoke(shiliu, ["ledger", "verify"])
    assert said.exit_code == 1
    assert "ledger broken at row 6 (inserted, entry forged)" in said.output


def test_verify_names_a_row_rewritten_with_a_recomputed_hash_by_its_successor(five_rows):
    victim = rows(five_rows)[1]
    forged = SimpleNamespace(
        **{n: getattr(victim, n) for n in (*chain.CONTENT_FIELDS, "recorded_at")}
    )
    forged.points = 400
    new_hash = chain.row_hash(victim.prev_hash, victim.seq, forged)
    _behind_the_back(
        five_rows,
        f"UPDATE ledger_entries SET points = 400, hash = '{new_hash}' WHERE seq = {victim.seq}",
    )
    problem = _verify(five_rows)
    assert (problem.kind, problem.seq) == ("altered", 3)  # the next row no longer links


def test_the_cli_says_an_untouched_ledger_is_intact(five_rows, monkeypatch):
    monkeypatch.setenv("SHILIU_LEDGER_DATABASE_URL", five_rows.url)
    said = CliRunner().invoke(shiliu, ["ledger", "verify"])
    assert said.exit_code == 0, said.output
    assert "ledger intact: 5 rows, checksum " in said.output


# ---- the property: any delivery order, any duplicates, the rule for the final attendance ----

VOLUNTEERS = ("v-1", "v-2", "v-3")
DAYS = (MARCH_8, MARCH_9)
ACTIVITIES = ("a-1", "a-2", "a-3")

attendance_words = st.tuples(
    st.integers(0, 5),  # attendance id (each id belongs to one volunteer, activity and day)
    st.booleans(),  # a correction?
    st.integers(0, 18),  # half-hours
    st.sampled_from([None, "1.50", "0.50", "1.25"]),
    st.booleans(),  # cross-group
    st.integers(0, 40),  # minutes after the first confirmation
)
no_shows = st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 2), st.integers(0, 1))


def _attendance(number: int) -> tuple[str, str, date]:
    return (
        VOLUNTEERS[number % 3],
        ACTIVITIES[number % 3 if number < 3 else (number + 1) % 3],
        (DAYS[number // 3]),
    )


def _events(words, absences) -> list:
    events = []
    for number, corrected, halves, weight, cross, minutes in words:
        volunteer, activity, day = _attendance(number)
        events.append(
            confirmed(
                f"at-{number}",
                volunteer,
                str(Decimal(halves) / 2),
                activity_id=activity,
                day=day,
                at=later(minutes),
                weight=weight,
                cross_group=cross,
                corrected_from="1" if corrected else None,
            )
        )
    for signup, volunteer, activity, day in absences:
        events.append(
            no_show(
                f"su-{signup}-{volunteer}-{activity}-{day}",  # one volunteer, one activity
                VOLUNTEERS[volunteer],
                ACTIVITIES[activity],
                DAYS[day],
            )
        )
    return events


def _interleave(events: list, seed: int) -> list:
    """Another interleaving of the volunteers' partitions, each volunteer's order kept."""
    queues = {v: [e for e in events if e.key == v] for v in VOLUNTEERS}
    rng, mixed = random.Random(seed), []
    while any(queues.values()):
        volunteer = rng.choice([v for v, q in queues.items() if q])
        mixed.append(queues[volunteer].pop(0))
    return mixed


@database_examples(80)
@given(
    words=st.lists(attendance_words, max_size=14),
    absences=st.lists(no_shows, max_size=5),
    data=st.data(),
)
def test_any_delivery_gives_the_rule_for_the_final_attendance_and_replay_the_same_checksum(
    tmp_path_factory, words, absences, data
):
    events = _events(words, absences)
    order = data.draw(st.permutations(events), label="delivery order")
    repeated = data.draw(st.lists(st.sampled_from(order), max_size=6) if order else st.just([]))
    delivered = list(order)
    for duplicate in repeated:  # redelivered later on: the same event, the same id
        delivered.insert(data.draw(st.integers(len(delivered) // 2, len(delivered))), duplicate)
    batch = data.draw(st.integers(1, 8), label="poll size")

    folder = tmp_path_factory.mktemp("prop")
    live = Ledger(fresh_ledger_url(folder, "live"))
    live.apply(delivered, batch=batch)
    expected = expected_balances(events)
    everyone = set(expected) | set(live.balances())
    assert {v: live.balances().get(v, 0) for v in everyone} == {
        v: expected.get(v, 0) for v in everyone
    }

    # The event history as the topics keep it: each partition in order, without redeliveries.
    seen: set[str] = set()
    history = [e for e in delivered if not (e.id in seen or seen.add(e.id))]
    rebuilt = Ledger(fresh_ledger_url(folder, "rebuilt"))
    rebuilt.apply(_interleave(history, data.draw(st.integers(0, 1000))), batch=5)
    with live.factory() as a, rebuilt.factory() as b:
        assert chain.verify(a).ok and chain.verify(b).ok
        assert chain.checksum(a) == chain.checksum(b)
    live.close()
    rebuilt.close()


def test_state_keeps_one_row_per_attendance(ledger):
    ledger.apply([confirmed("at-1", "v-1", "1"), confirmed("at-1", "v-1", "1", at=later(1))])
    with ledger.factory() as session:
        assert len(session.scalars(select(AttendanceState)).all()) == 1
    assert len(rows(ledger)) == 1  # the same hours again change nothing
