"""Statistics' kept counts against a plain model of what happened: each activity's attendance
(人次, hours, no-shows) and the distinct volunteers, counted from the presence table for whole
months of one year and from the attendance facts for any other period, give the same figures for
every unit, period and breakdown.

Events go through the statistics consumer's own handlers (a ``LocalConsumer``, in batches of any
size, some delivered twice) in orders the topics allow: attendance before the activity it belongs
to, a confirmed attendance marked absent, an activity moved in time, place or category, completed
and then called off, a community moved to another street. Each example has units and ids of its
own, so one migrated database serves them all.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

import pytest
from alembic import command
from databases import database_examples
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select

from events import catalog
from events.runner import LocalConsumer, Record
from events.settings import city_zone
from services.common.db import alembic_config, make_engine, make_session_factory, upgrade
from services.statistics import presence, reports
from services.statistics.handlers import HANDLERS
from services.statistics.models import ActivityFact, Presence, UnitView

COUNTS = ("attendances", "hours_halves", "no_shows")

DAYS = [
    date(2025, 12, 31),
    date(2026, 1, 1),
    date(2026, 2, 15),
    date(2026, 3, 31),
    date(2026, 7, 1),
]
PERIODS = [
    (date(2026, 1, 1), date(2026, 12, 31)),  # a whole year: every breakdown from presence
    (date(2026, 1, 1), date(2026, 3, 31)),  # whole months: categories from the attendance
    (date(2026, 2, 1), date(2026, 2, 28)),
    (date(2025, 12, 1), date(2026, 3, 31)),  # across two years: all from the attendance
    (date(2026, 1, 2), date(2026, 12, 30)),  # days: all from the attendance
]
BREAKDOWNS = (None, "unit", "month", "category", "dimension")
# The tree of an example: a city, streets a and b, communities x and y of a (y may move to b).
TREE = {"c": None, "a": "c", "b": "c", "x": "a", "y": "a"}
HOSTS = ("x", "y", "a")
ACTIVITIES, VOLUNTEERS = 3, 3


@pytest.fixture
def statistics(make_settings, engine_name):
    """The statistics consumer on a migrated database of its own (no broker: handed records)."""
    built = make_settings(engine_name)
    upgrade("statistics", built.database_url("statistics"))
    engine = make_engine(built.database_url("statistics"))
    factory = make_session_factory(engine)
    consumer = LocalConsumer("statistics", HANDLERS, factory, built, retry_backoff=0.01)
    yield consumer, factory
    engine.dispose()


class World:
    """What the events said, kept plainly: the model the report is checked against."""

    def __init__(self, tag: str):
        self.tag = tag
        self.parents = dict(TREE)
        self.activities: dict[int, dict] = {}
        self.attendance: dict[tuple[int, int], tuple[str, int]] = {}
        self.events: list = []

    def unit_id(self, name: str) -> str:
        return f"{self.tag}-{name}"

    def path(self, name: str) -> str:
        parent = self.parents[name]
        return (self.path(parent) if parent else "/") + f"{self.tag}{name}/"

    def _emit(self, name: str, payload: dict) -> None:
        self.events.append(catalog.make_event(name, payload, producer="test"))

    def unit(self, name: str, kind: str, event: str = "unit.created") -> None:
        parent = self.parents[name]
        self._emit(
            event,
            {
                "unit_id": self.unit_id(name),
                "name": name,
                "kind": kind,
                "parent_id": self.unit_id(parent) if parent else None,
                "path": self.path(name),
            },
        )

    def publish(self, n: int, host: str, day: date, category: str, dimensions: list) -> None:
        known = n in self.activities
        fact = self.activities.setdefault(n, {"held": False})
        fact.update(host=host, day=day, category=category, dimensions=dimensions)
        starts = datetime.combine(day, time(10), city_zone())
        activity_id = f"{self.tag}-a{n}"
        payload = {
            "activity_id": activity_id,
            "title": f"活动{n}",
            "category": category,
            "dimensions": dimensions,
            "host_unit_id": self.unit_id(host),
            "host_unit_path": self.path(host),
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=2),
            "shifts": [{"shift_id": f"{activity_id}-s", "name": "志愿", "capacity": 9}],
        }
        if known:
            self._emit("activity.updated", payload | {"changes": ["starts_at"]})
        else:
            self._emit("activity.published", payload)

    def complete(self, n: int) -> None:
        if n in self.activities:
            self.activities[n]["held"] = True
            self._emit(
                "activity.completed",
                {"activity_id": f"{self.tag}-a{n}", "completed_at": datetime.now(city_zone())},
            )

    def cancel(self, n: int) -> None:
        if n in self.activities:
            self.activities[n]["held"] = False
            self._emit(
                "activity.cancelled",
                {
                    "activity_id": f"{self.tag}-a{n}",
                    "reason": "下雨",
                    "cancelled_at": datetime.now(city_zone()),
                },
            )

    def attend(self, n: int, v: int, halves: int | None) -> None:
        self.attendance[(n, v)] = ("confirmed", halves) if halves else ("no_show", 0)
        common = {"volunteer_id": f"{self.tag}-v{v}", "activity_id": f"{self.tag}-a{n}"}
        common["activity_date"] = date(2026, 1, 1)
        if halves:
            self._emit(
                "attendance.confirmed",
                common
                | {
                    "attendance_id": f"{self.tag}-at{n}-{v}",
                    "hours": f"{halves / 2:.1f}",
                    "confirmed_by": "organizer",
                    "confirmed_at": datetime.now(city_zone()),
                },
            )
        else:
            self._emit(
                "attendance.no_show",
                common | {"signup_id": f"{self.tag}-s{n}-{v}", "recorded_by": "organizer"},
            )

    def move_y_to_b(self) -> None:
        self.parents["y"] = "b"
        self.unit("y", "community", "unit.updated")

    # ---- the model's figures ---------------------------------------------------------------

    def expected(self, scope: str, start: date, end: date, by: str | None) -> dict:
        children = [name for name, parent in self.parents.items() if parent == scope]
        counted: dict = {}
        for n, fact in self.activities.items():
            host_path = self.path(fact["host"])
            if not (fact["held"] and host_path.startswith(self.path(scope))):
                continue
            if not start <= fact["day"] <= end:
                continue
            if by == "unit":
                under = [c for c in children if host_path.startswith(self.path(c))]
                keys = [self.unit_id(c) for c in under] or [self.unit_id(scope)]
            elif by == "month":
                keys = [fact["day"].strftime("%Y-%m")]
            elif by == "category":
                keys = [fact["category"]]
            elif by == "dimension":
                keys = list(dict.fromkeys(fact["dimensions"]))
            else:
                keys = ["total"]
            for key in keys:
                row = counted.setdefault(
                    key, {"attendances": 0, "hours": 0.0, "no_shows": 0, "volunteers": set()}
                )
                for (activity, volunteer), (status, halves) in self.attendance.items():
                    if activity != n:
                        continue
                    if status == "confirmed":
                        row["attendances"] += 1
                        row["hours"] += halves / 2
                        row["volunteers"].add(volunteer)
                    else:
                        row["no_shows"] += 1
        return {key: row | {"volunteers": len(row["volunteers"])} for key, row in counted.items()}


def _reported(session, world: World, scope: str, start, end, by) -> dict:
    unit = session.get(UnitView, world.unit_id(scope))
    answer = reports.report(session, reports.Scope(unit, start, end), by)
    rows = answer["rows"] if by else [{"key": "total", **answer["totals"]}]
    return {
        row["key"]: {name: row[name] for name in ("attendances", "hours", "no_shows", "volunteers")}
        for row in rows
        if row["activities_held"]
    }


_HELD = [("publish", 0, "y", DAYS[2], "festival", ["space"]), ("complete", 0)]
_HELD_TOO = [("publish", 1, "x", DAYS[2], "legal", ["space"]), ("complete", 1)]
_ATTEND = st.tuples(
    st.just("attend"),
    st.integers(0, ACTIVITIES - 1),
    st.integers(0, VOLUNTEERS - 1),
    st.one_of(st.none(), st.integers(1, 8)),  # None: absent; else half-hours
)
operation = st.one_of(
    _ATTEND,
    st.tuples(
        st.just("publish"),
        st.integers(0, ACTIVITIES - 1),
        st.sampled_from(HOSTS),
        st.sampled_from(DAYS),
        st.sampled_from(["festival", "legal", "culture"]),
        st.lists(st.sampled_from(["space", "culture", "society"]), min_size=1, max_size=2),
    ),
    st.tuples(st.just("complete"), st.integers(0, ACTIVITIES - 1)),
    st.tuples(st.just("cancel"), st.integers(0, ACTIVITIES - 1)),
    _ATTEND,
    st.tuples(st.just("move")),
)


@database_examples(15)  # and the seven pinned below
@example(  # marked absent after being confirmed (in another poll)
    operations=[*_HELD, ("attend", 0, 1, 4), ("attend", 0, 1, None)], batches=[1], twice=set()
)
@example(  # a held activity moved to another day, host and category
    operations=[*_HELD, ("attend", 0, 1, 4), ("publish", 0, "x", DAYS[4], "legal", ["society"])],
    batches=[1],
    twice=set(),
)
@example(  # one of two activities held called off after all
    operations=[*_HELD, *_HELD_TOO, ("attend", 0, 1, 4), ("attend", 1, 2, 2), ("cancel", 0)],
    batches=[1],
    twice={7},
)
@example(operations=[*_HELD, ("attend", 0, 1, 4)], batches=[1], twice=set())
@example(  # confirmed before the activity was completed
    operations=[_HELD[0], ("attend", 0, 1, 4), _HELD[1]], batches=[1], twice=set()
)
@example(operations=[("attend", 0, 2, 3), *_HELD, ("move",)], batches=[1], twice=set())
@given(
    operations=st.lists(operation, min_size=1, max_size=25),
    batches=st.lists(st.integers(1, 6), min_size=1, max_size=8),
    twice=st.sets(st.integers(0, 40), max_size=5),
)
def test_kept_counts_equal_the_model_for_every_period_and_breakdown(
    statistics, operations, batches, twice
):
    consumer, factory = statistics
    world = World(uuid.uuid4().hex[:8])
    for name, parent in TREE.items():
        world.unit(name, {None: "city", "c": "street"}.get(parent, "community"))
    moved = False
    for op, *args in operations:
        if op == "move":
            if not moved:
                world.move_y_to_b()
                moved = True
        else:
            getattr(world, op)(*args)
    records = [
        Record("shiliu.test", 0, n, event.key.encode(), event.encode())
        for n, event in enumerate(world.events)
    ]
    start, sizes = 0, iter(batches * 40)
    while start < len(records):
        size = next(sizes)
        batch = records[start : start + size]
        again = [r for r in batch if r.offset in twice]  # delivered once more, in the same poll
        outcomes = consumer.apply_records(batch + again)
        assert {o.status for o in outcomes} <= {"applied", "duplicate"}, outcomes
        start += size

    with factory() as session:
        for scope in TREE:
            for period in PERIODS:
                for by in BREAKDOWNS:
                    assert _reported(session, world, scope, *period, by) == world.expected(
                        scope, *period, by
                    ), (scope, period, by, operations)


def _kept(factory) -> tuple[list, list]:
    with factory() as session:
        counts = session.execute(
            select(ActivityFact.activity_id, *(getattr(ActivityFact, c) for c in COUNTS)).order_by(
                ActivityFact.activity_id
            )
        ).all()
        rows = session.execute(
            select(Presence).order_by(*Presence.__table__.primary_key.columns)
        ).scalars()
        return counts, [(p.path, p.year, p.own, p.volunteer_id, p.months, p.categories,
                         p.dimensions) for p in rows]  # fmt: skip


def test_the_migration_and_a_rebuild_count_and_place_the_facts_already_there(statistics):
    consumer, factory = statistics
    world = World(uuid.uuid4().hex[:8])
    for name, parent in TREE.items():
        world.unit(name, {None: "city", "c": "street"}.get(parent, "community"))
    for n, day in enumerate(DAYS[:ACTIVITIES]):
        world.publish(n, HOSTS[n % len(HOSTS)], day, "legal", ["space", "society"])
        world.complete(n)
        for v in range(VOLUNTEERS):
            world.attend(n, v, None if v == n else v + 1)
    consumer.apply_records(
        [Record("t", 0, n, e.key.encode(), e.encode()) for n, e in enumerate(world.events)]
    )
    kept = _kept(factory)
    assert len(kept[0]) == ACTIVITIES and len(kept[1]) > VOLUNTEERS
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    config = alembic_config("statistics", url)
    command.downgrade(config, "0001")
    command.upgrade(config, "head")
    assert _kept(factory) == kept
    with factory() as session, session.begin():  # the same as the bench plants it
        presence.rebuild_all(session)
    assert _kept(factory) == kept


def test_the_periods_presence_answers_for():
    assert presence.months_of(date(2026, 1, 1), date(2026, 12, 31)) == presence.WHOLE_YEAR
    assert presence.months_of(date(2026, 4, 1), date(2026, 6, 30)) == 0b111000
    assert presence.months_of(date(2024, 2, 1), date(2024, 2, 29)) == 0b10
    assert presence.months_of(date(2026, 1, 1), date(2026, 12, 30)) is None
    assert presence.months_of(date(2026, 1, 2), date(2026, 12, 31)) is None
    assert presence.months_of(date(2025, 12, 1), date(2026, 1, 31)) is None
    assert presence.places("/nb/bl/xq/") == [
        ("/nb/", False),
        ("/nb/bl/", False),
        ("/nb/bl/xq/", False),
        ("/nb/bl/xq/", True),
    ]
