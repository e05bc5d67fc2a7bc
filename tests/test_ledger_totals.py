"""Standings read each volunteer's totals of days, months and years, kept with the ledger rows:
whatever the stream, the period or the unit, they rank exactly as the rows themselves would;
a volunteer who moves takes their totals along; verify notices a total changed behind the
ledger's back; the migration fills the totals of a ledger that had rows before."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from alembic import command
from click.testing import CliRunner
from databases import database_examples
from hypothesis import given
from hypothesis import strategies as st
from ledger_support import (
    Ledger,
    confirmed,
    fresh_ledger_url,
    later,
    no_show,
    standings_from_rows,
    stream,
    unit,
    volunteer,
)
from sqlalchemy import func, select, text

from infra.cli import main as shiliu
from services.common.db import alembic_config
from services.ledger import chain, operations
from services.ledger.models import PointsTotal

MARCH_8 = date(2026, 3, 8)
UNITS = [("u-city", "/c/"), ("u-east", "/c/e/"), ("u-west", "/c/w/"), ("u-team", "/c/t/")]


def _city(volunteers: int) -> list:
    """Units and volunteers: odd ones live in the east, even ones in the west, every third is
    in the team."""
    events = [unit(unit_id, path) for unit_id, path in UNITS]
    for n in range(volunteers):
        team = "u-team" if n % 3 == 0 else None
        events.append(volunteer(f"v-{n}", "u-east" if n % 2 else "u-west", team))
    return events


def _standings(ledger: Ledger, **query):
    with ledger.factory() as session, session.begin():
        return operations.standings(session, **query)


def _expected(ledger: Ledger, **query):
    with ledger.factory() as session:
        return standings_from_rows(session, **query)


def _verified(ledger: Ledger):
    with ledger.factory() as session:
        return chain.verify(session)


# ---- periods -----------------------------------------------------------------------------


@given(
    start=st.dates(date(2023, 1, 1), date(2029, 12, 31)),
    length=st.integers(0, 900),
    probes=st.lists(st.integers(-2, 902), max_size=30),
)
def test_the_periods_of_a_range_count_each_of_its_days_once_and_no_other_day(start, length, probes):
    end = start + timedelta(days=length)
    signed = operations.periods_between(start, end)
    for offset in [-1, 0, length, length + 1, *probes]:
        day = start + timedelta(days=offset)
        counted = sum(sign for sign, period in signed if period in operations.periods_of(day))
        assert counted == (1 if start <= day <= end else 0), (day, signed)


def test_a_range_is_read_from_few_periods():
    assert operations.periods_between(date(2026, 1, 1), date(2026, 12, 31)) == [(1, 2026)]
    assert operations.periods_between(date(2026, 3, 1), date(2026, 3, 31)) == [(1, 202603)]
    assert operations.periods_between(date(2026, 3, 1), date(2026, 3, 28)) == [
        (1, 202603),
        (-1, 20260329),
        (-1, 20260330),
        (-1, 20260331),
    ]
    assert operations.periods_between(date(2026, 3, 8), date(2026, 3, 9)) == [
        (1, 20260308),
        (1, 20260309),
    ]
    year_to_date = operations.periods_between(date(2026, 1, 1), date(2026, 12, 20))
    assert year_to_date[0] == (1, 2026) and len(year_to_date) == 12  # less 11 days


# ---- totals against rows -------------------------------------------------------------------

words = st.tuples(
    st.integers(0, 7),  # attendance id
    st.booleans(),  # a correction?
    st.integers(0, 18),  # half-hours
    st.booleans(),  # cross-group
    st.integers(0, 40),  # minutes after the first confirmation
)
DAYS = [
    date(2026, 1, 31),
    date(2026, 2, 1),
    date(2026, 2, 27),
    date(2026, 12, 31),
    date(2027, 1, 1),
]


def _attendance_events(drawn, absences) -> list:
    events = []
    for number, corrected, halves, cross, minutes in drawn:
        events.append(
            confirmed(
                f"at-{number}",
                f"v-{number % 5}",
                str(Decimal(halves) / 2),
                activity_id=f"a-{number % 3}",
                day=DAYS[number % len(DAYS)],
                at=later(minutes),
                cross_group=cross,
                corrected_from="1" if corrected else None,
            )
        )
    for volunteer_number, activity, day in absences:
        events.append(
            no_show(
                f"su-{volunteer_number}-{activity}-{day}",
                f"v-{volunteer_number}",
                f"a-{activity}",
                DAYS[day],
            )
        )
    return events


@database_examples(60)
@given(
    drawn=st.lists(words, max_size=16),
    absences=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 2), st.integers(0, len(DAYS) - 1)),
        max_size=4,
    ),
    adjustments=st.lists(st.tuples(st.integers(0, 5), st.integers(-30, 30)), max_size=3),
    data=st.data(),
)
def test_standings_from_the_totals_are_the_standings_the_rows_give(
    tmp_path_factory, drawn, absences, adjustments, data
):
    events = _attendance_events(drawn, absences)
    order = data.draw(st.permutations(events), label="delivery order")
    moved = data.draw(st.sampled_from([None, 1, 2]), label="who moves east to west, when")
    batch = data.draw(st.integers(1, 9), label="poll size")
    live = Ledger(fresh_ledger_url(tmp_path_factory.mktemp("totals")))
    try:
        live.apply(_city(5)[: 4 + data.draw(st.integers(0, 5), label="volunteers known")])
        middle = len(order) // 2
        live.apply(order[:middle], batch=batch)
        if moved is not None:
            live.apply([volunteer(f"v-{moved}", "u-east", "u-team", moved=True)])
        live.apply(order[middle:] + order[: data.draw(st.integers(0, 3))], batch=batch)
        live.apply(_city(5)[4:])  # the rest of the volunteers, after their rows
        for number, (target, points) in enumerate(adjustments):
            live.post_approved_adjustment(f"adj-{number}", f"v-{target}", points, DAYS[number])
        assert _verified(live).ok, _verified(live).problem

        for _ in range(6):
            start = date(2025, 12, 25) + timedelta(days=data.draw(st.integers(0, 400)))
            query = {
                "path": data.draw(st.sampled_from([None, "/c/", "/c/e/", "/c/w/", "/c/x/"])),
                "team_id": data.draw(st.sampled_from([None, None, "u-team"])),
                "start": start,
                "end": start + timedelta(days=data.draw(st.integers(0, 420))),
                "page": data.draw(st.integers(1, 3)),
                "per_page": data.draw(st.integers(1, 3)),
            }
            assert _standings(live, **query) == _expected(live, **query), query
    finally:
        live.close()


def test_on_both_engines_standings_of_a_busy_month_and_year_are_what_the_rows_say(ledger):
    ledger.apply(_city(300))
    ledger.apply(stream(1500), batch=250)
    assert _verified(ledger).ok, _verified(ledger).problem
    for start, end in [
        (date(2026, 1, 1), date(2026, 12, 31)),
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 3, 1), date(2026, 3, 12)),
        (date(2026, 3, 5), date(2026, 4, 2)),
        (date(2026, 2, 20), date(2026, 3, 2)),
    ]:
        for path, team_id in [
            ("/c/", None),
            ("/c/e/", None),
            (None, "u-team"),
            ("/c/w/", "u-team"),
        ]:
            for page in (1, 2, 7):
                query = dict(path=path, team_id=team_id, start=start, end=end, page=page)
                assert _standings(ledger, **query, per_page=20) == _expected(
                    ledger, **query, per_page=20
                ), query


def test_a_volunteer_who_moves_takes_their_totals_to_the_new_unit(ledger):
    ledger.apply(_city(2))  # v-1 in the east, v-0 in the west and the team
    ledger.apply([confirmed("at-1", "v-1", "3.5"), confirmed("at-0", "v-0", "1")])
    year = dict(start=date(2026, 1, 1), end=date(2026, 12, 31), page=1, per_page=10)
    east = _standings(ledger, path="/c/e/", team_id=None, **year)
    assert [(i["volunteer_id"], i["points"], i["rank"]) for i in east[0]] == [("v-1", 40, 1)]

    ledger.apply([volunteer("v-1", "u-west", "u-team", moved=True)])
    assert _standings(ledger, path="/c/e/", team_id=None, **year) == ([], 0)
    west = _standings(ledger, path="/c/w/", team_id="u-team", **year)
    assert [(i["volunteer_id"], i["points"], i["rank"]) for i in west[0]] == [
        ("v-1", 40, 1),
        ("v-0", 15, 2),
    ]
    assert _verified(ledger).ok


def test_rows_of_a_volunteer_the_ledger_does_not_know_yet_count_once_it_does(ledger):
    ledger.apply([confirmed("at-1", "v-1", "3.5")])  # the registration comes later
    year = dict(path="/c/", team_id=None, start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert _standings(ledger, **year, page=1, per_page=10) == ([], 0)
    ledger.apply(_city(2))
    items, total = _standings(ledger, **year, page=1, per_page=10)
    assert (total, items[0]["volunteer_id"], items[0]["points"]) == (1, "v-1", 40)


# ---- verify and the migration ----------------------------------------------------------------


def test_verify_names_a_total_changed_behind_the_ledgers_back(ledger, monkeypatch):
    ledger.apply(_city(3))
    ledger.apply([confirmed("at-1", "v-1", "3.5"), confirmed("at-2", "v-2", "1")])
    assert _verified(ledger).ok
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE points_totals SET points = points + 100 WHERE period = 202603"))
    problem = _verified(ledger).problem
    assert problem.kind == "totals"
    assert "v-1 2026年3月的积分合计是 140 分（1 行），账本里是 40 分（1 行）" in problem.detail
    monkeypatch.setenv("SHILIU_LEDGER_DATABASE_URL", ledger.url)
    said = CliRunner().invoke(shiliu, ["ledger", "verify"])
    assert said.exit_code == 1
    assert "standings totals wrong" in said.output


def test_verify_names_a_total_that_stayed_behind_when_its_volunteer_moved(ledger):
    ledger.apply(_city(2))
    ledger.apply([confirmed("at-1", "v-1", "3.5")])
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE volunteer_views SET home_unit_id = 'u-west'"))
    problem = _verified(ledger).problem
    assert problem.kind == "totals" and "v-1" in problem.detail


def test_the_migration_fills_the_totals_of_the_rows_already_in_the_ledger(ledger):
    ledger.apply(_city(40))
    ledger.apply(stream(400, volunteers=40), batch=100)
    with ledger.factory() as session:
        before = session.scalars(
            select(PointsTotal).order_by(PointsTotal.volunteer_id, PointsTotal.period)
        ).all()
        kept = [(t.volunteer_id, t.period, t.points, t.entries, t.home_unit_id) for t in before]
    config = alembic_config("ledger", ledger.url)
    ledger.engine.dispose()
    command.downgrade(config, "0004")
    command.upgrade(config, "head")
    with ledger.factory() as session:
        again = session.scalars(
            select(PointsTotal).order_by(PointsTotal.volunteer_id, PointsTotal.period)
        ).all()
        assert [(t.volunteer_id, t.period, t.points, t.entries, t.home_unit_id) for t in again] == (
            kept
        )
        assert session.scalar(select(func.count()).select_from(PointsTotal)) > 40
    assert _verified(ledger).ok


def test_a_replayed_stream_in_another_interleaving_keeps_the_same_totals(tmp_path):
    events = stream(800, volunteers=30, seed=3)
    first, second = (Ledger(fresh_ledger_url(tmp_path, name)) for name in ("first", "second"))
    try:
        first.apply(_city(30) + events, batch=64)
        keyed: dict[str, list] = {}  # each volunteer's events in their order, one after another
        for event in events:
            keyed.setdefault(event.key, []).append(event)
        interleaved = [e for key in sorted(keyed) for e in keyed[key]]
        second.apply(_city(30) + interleaved, batch=17)
        totals = []
        for made in (first, second):
            with made.factory() as session:
                totals.append(
                    session.execute(
                        select(
                            PointsTotal.volunteer_id,
                            PointsTotal.period,
                            PointsTotal.points,
                            PointsTotal.entries,
                        ).order_by(PointsTotal.volunteer_id, PointsTotal.period)
                    ).all()
                )
        assert totals[0] == totals[1]
    finally:
        first.close()
        second.close()
