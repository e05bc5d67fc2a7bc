"""Statistics through the real broker: the figures of a generated history equal a recount from
the source services' own tables (the activities service's ``activities`` and ``units``, the
volunteers service's ``attendance`` and ``volunteers``), with cancellations, corrected hours,
no-shows and a community moved to another street; new volunteers and 民族团结之星 equal a recount
from the volunteers service's ``volunteers`` and the ledger's award tables, with a volunteer moved
home and an award revoked; the 三交 counts are never shown under five; an organizer of one
community cannot read another's figures.

The history is made by the services' own operations (activities created, published, cancelled
and completed with an audience; volunteers signed up before the start and their attendance
confirmed, corrected or marked absent afterwards), committed in each service's database; every
event then goes outbox → relay → broker → consumers as in production. Each example gets units of
its own, so one platform serves every example of the module.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from access_support import award_cycle
from backbone import wait_for
from databases import database_examples
from hypothesis import given
from hypothesis import strategies as st
from recount_support import HELD, caught_up, commit, factory, hold, new_unit, volunteers_know
from sqlalchemy import select

from events.envelope import utcnow
from events.settings import city_zone
from events.vocabulary import CATEGORIES, DIMENSIONS
from services.activities import operations as activity_ops
from services.activities.models import Activity, Unit
from services.ledger.awards.models import AwardCycle, Certificate
from services.volunteers import operations as volunteer_ops
from services.volunteers.models import Attendance, Volunteer
from services.volunteers.models import UnitView as VolunteersUnit

DISTRICT = "/nb/bl/"
# The pool's volunteers: eight gave their ethnicity (five groups), two did not.
ETHNICITIES = ["汉族", "汉族", "汉族", "回族", "回族", "维吾尔族", "藏族", "蒙古族", None, None]
FIGURES = ("activities_held", "attendances", "volunteers", "hours", "audience", "no_shows")


@pytest.fixture(scope="module")
def city_backbone() -> str:
    """The parts talk through the broker: this is the recount the issue asks for."""
    return "broker"


@pytest.fixture(scope="module")
def pool(city) -> list[str]:
    """Ten volunteers of a community of their own (their ethnicity as ETHNICITIES says)."""
    district = city.unit(DISTRICT).unit_id
    street = new_unit(city, "统计池街道", "street", district)
    home = new_unit(city, "统计池社区", "community", street)
    wait_for(lambda: volunteers_know(city, VolunteersUnit, home), message="the pool's community")
    ids = []
    for n, ethnicity in enumerate(ETHNICITIES):
        volunteer_id = str(uuid.uuid4())
        profile = {
            "display_name": f"统计志愿者{n}",
            "home_unit_id": home,
            "ethnicity": ethnicity,
            "ethnicity_consent": ethnicity is not None,
        }
        commit(
            city,
            "volunteers",
            lambda s, v=volunteer_id, p=profile: volunteer_ops.save_profile(s, v, p),
        )
        ids.append(volunteer_id)
    return ids


# ---- the recount ----------------------------------------------------------------------------


def _recount(city, root_id: str, start, end, by: str | None) -> dict:
    """The report's figures computed from the source services' tables, keyed like its rows."""
    zone = city_zone()
    with factory(city, "activities")() as session:
        root = session.get(Unit, root_id)
        children = session.scalars(select(Unit).where(Unit.parent_id == root_id)).all()
        activities = session.execute(
            select(Activity, Unit.path)
            .join(Unit, Unit.id == Activity.host_unit_id)
            .where(Unit.path.startswith(root.path))
        ).all()
    with factory(city, "volunteers")() as session:
        rows = session.execute(
            select(Attendance.activity_id, Attendance.volunteer_id, Attendance.status,
                   Attendance.hours, Volunteer.ethnicity)
            .join(Volunteer, Volunteer.id == Attendance.volunteer_id, isouter=True)
            .where(Attendance.activity_id.in_([a.id for a, _ in activities]))
        ).all()  # fmt: skip
    counted: dict = {}
    for activity, path in activities:
        day = activity.starts_at.astimezone(zone).date()
        if activity.status not in HELD or not start <= day <= end:
            continue
        mine = [r for r in rows if r.activity_id == activity.id]
        came = [r for r in mine if r.status == "confirmed"]
        consenting = [r.ethnicity for r in came if r.ethnicity]
        groups = len(set(consenting)) if len(consenting) >= 5 else None
        if by == "unit":
            keys = [c.id for c in children if path.startswith(c.path)] or [root_id]
        elif by == "month":
            keys = [day.strftime("%Y-%m")]
        elif by == "category":
            keys = [activity.category]
        elif by == "dimension":
            keys = list(dict.fromkeys(activity.dimensions))
        else:
            keys = ["total"]
        for key in keys:
            figures = counted.setdefault(
                key, {"ids": set(), "known": 0, "cross": 0, **dict.fromkeys(FIGURES, 0)}
            )
            figures["activities_held"] += 1
            figures["audience"] += activity.audience or 0
            figures["attendances"] += len(came)
            figures["ids"].update(r.volunteer_id for r in came)
            figures["hours"] += float(sum(Decimal(r.hours) for r in came))
            figures["no_shows"] += sum(1 for r in mine if r.status == "no_show")
            figures["known"] += groups is not None
            figures["cross"] += groups is not None and groups >= 3
    return {key: _as_shown(figures) for key, figures in counted.items()}


def _as_shown(figures: dict) -> dict:
    """A recount as the report shows it: no 三交 count under five (k ≥ 5)."""
    known, cross = figures.pop("known"), figures.pop("cross")
    figures["volunteers"] = len(figures.pop("ids"))
    shown = cross >= 5 and (known - cross == 0 or known - cross >= 5)
    seen = figures["attendances"] + figures["no_shows"]
    return {
        **figures,
        "no_show_rate": round(figures["no_shows"] / seen, 4) if seen else None,
        "sanjiao": {
            "activities_with_groups_known": known,
            "activities_with_three_or_more_groups": cross if shown else None,
            "share": round(cross / known, 4) if shown else None,
            "shown": shown,
        },
    }


def _stats(city, unit_id: str, start, end, by: str | None) -> dict:
    """The report as the API answers it."""
    query = {"unit_id": unit_id, "from": start.isoformat(), "to": end.isoformat()}
    if by:
        query["by"] = by
    answer = city.call("GET", "/api/v1/stats", "admin", query_string=query)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _reported(city, unit_id: str, start, end, by: str | None) -> dict:
    body = _stats(city, unit_id, start, end, by)
    rows = body["rows"] if by else [{"key": "total", **body["totals"]}]
    shown = {}
    for row in rows:
        if not row["activities_held"]:
            continue  # a unit, month or dimension with nothing held
        assert row["new_volunteers"] == 0 and row["stars_awarded"] == 0
        shown[row["key"]] = {name: row[name] for name in (*FIGURES, "no_show_rate", "sanjiao")}
    return shown


attendance = st.dictionaries(
    st.integers(0, len(ETHNICITIES) - 1),
    st.one_of(st.none(), st.integers(1, 16)),  # None: a no-show; else half-hours
    max_size=7,
)
activity = st.fixed_dictionaries(
    {
        "community": st.integers(0, 1),
        "days_ago": st.integers(1, 200),
        "category": st.sampled_from(sorted(CATEGORIES)),
        "dimensions": st.lists(st.sampled_from(sorted(DIMENSIONS)), min_size=1, max_size=3, unique=True),
        "fate": st.sampled_from(["published", "cancelled", "completed", "closed", "attended_then_cancelled"]),
        "audience": st.one_of(st.none(), st.integers(0, 300)),
        "attendees": attendance,
        "corrections": st.dictionaries(st.integers(0, len(ETHNICITIES) - 1), st.integers(1, 16), max_size=3),
    }
)  # fmt: skip


@database_examples(8)
@given(history=st.lists(activity, min_size=1, max_size=4), move_after=st.integers(0, 4))
def test_the_figures_equal_a_recount_from_the_source_tables(city, pool, history, move_after):
    district = city.unit(DISTRICT).unit_id
    tag = uuid.uuid4().hex[:6]
    streets = [new_unit(city, f"重算街道{tag}{n}", "street", district) for n in range(2)]
    communities = [new_unit(city, f"重算社区{tag}{n}", "community", streets[0]) for n in range(2)]
    for n, spec in enumerate(history):
        if n == move_after:  # the second community moves to the other street, mid-history
            commit(
                city, "activities", lambda s: activity_ops.move_unit(s, communities[1], streets[1])
            )
        hold(city, pool, communities[spec["community"]], spec)
    if move_after >= len(history):
        commit(city, "activities", lambda s: activity_ops.move_unit(s, communities[1], streets[1]))
    wait_for(lambda: caught_up(city), timeout=60, message="statistics to apply every event")

    today = utcnow().astimezone(city_zone()).date()
    # Days (counted from the attendance) and a calendar year (from the presence table).
    for start, end in [
        (today - timedelta(days=365), today),
        (date(today.year, 1, 1), date(today.year, 12, 31)),
    ]:
        for unit_id in [*streets, *communities]:
            for by in (None, "unit", "month", "category", "dimension"):
                assert _reported(city, unit_id, start, end, by) == _recount(
                    city, unit_id, start, end, by
                ), (unit_id, by, start)
    # A shorter period leaves out what was held before it.
    recent = today - timedelta(days=60)
    assert _reported(city, streets[0], recent, end, "month") == _recount(
        city, streets[0], recent, end, "month"
    )


def _held_with(city, pool, host: str, attendees: list[int]) -> str:
    spec = {
        "days_ago": 2,
        "category": sorted(CATEGORIES)[0],
        "dimensions": ["culture"],
        "fate": "completed",
        "audience": 10,
        "attendees": dict.fromkeys(attendees, 4),
        "corrections": {},
    }
    return hold(city, pool, host, spec)


def _sanjiao(city, street: str, community: str) -> dict:
    wait_for(lambda: caught_up(city), timeout=60, message="statistics to apply every event")
    answer = city.call(
        "GET", "/api/v1/stats", "admin", query_string={"unit_id": street, "by": "unit"}
    )
    body = answer.get_json()
    (row,) = [row for row in body["rows"] if row["key"] == community]
    assert row["sanjiao"] == body["totals"]["sanjiao"]
    return row["sanjiao"]


def test_counts_that_involve_ethnicity_are_not_shown_under_five(city, pool):
    district = city.unit(DISTRICT).unit_id
    street = new_unit(city, "三交街道", "street", district)
    community = new_unit(city, "三交社区", "community", street)
    # Four who consented (four groups) and one who did not: no number of groups at all.
    few = _held_with(city, pool, community, [0, 3, 5, 6, 8])
    sanjiao = _sanjiao(city, street, community)
    assert sanjiao == {
        "activities_with_groups_known": 0,
        "activities_with_three_or_more_groups": None,
        "share": None,
        "shown": False,
    }
    lines = city.call(
        "GET", "/api/v1/stats/activities", "admin", query_string={"unit_id": community}
    ).get_json()["items"]
    (line,) = [line for line in lines if line["activity_id"] == few]
    assert line["distinct_groups"] is None and line["attendances"] == 5

    cross = [0, 3, 5, 6, 7]  # five who consented, four groups
    for n in range(1, 6):
        _held_with(city, pool, community, cross)
        sanjiao = _sanjiao(city, street, community)
        assert sanjiao["activities_with_groups_known"] == n
        if n < 5:  # one to four activities with three or more groups: not shown
            assert sanjiao["shown"] is False
            assert sanjiao["activities_with_three_or_more_groups"] is None
            assert sanjiao["share"] is None
    assert sanjiao == {
        "activities_with_groups_known": 5,
        "activities_with_three_or_more_groups": 5,
        "share": 1.0,
        "shown": True,
    }
    fewer = [0, 1, 2, 3, 4]  # five who consented, two groups
    for n in range(1, 6):
        _held_with(city, pool, community, fewer)
        sanjiao = _sanjiao(city, street, community)
        # Five with three or more groups and 1–4 with fewer: the remainder would tell.
        assert sanjiao["shown"] is (n == 5), n
    assert sanjiao == {
        "activities_with_groups_known": 10,
        "activities_with_three_or_more_groups": 5,
        "share": 0.5,
        "shown": True,
    }


def test_an_organizer_of_one_community_cannot_read_another(city, pool):
    own = city.unit("/nb/bl/xq/fc/").unit_id
    district = city.unit(DISTRICT).unit_id
    street = new_unit(city, "别处街道", "street", district)
    other = new_unit(city, "别处社区", "community", street)
    wait_for(
        lambda: (
            city.call("GET", "/api/v1/stats", "admin", query_string={"unit_id": other}).status_code
            == 200
        ),
        message="statistics to learn the other community",
    )
    for path in ("/api/v1/stats", "/api/v1/stats/activities"):
        refused = city.call("GET", path, "organizer", query_string={"unit_id": other})
        assert refused.status_code == 403, path
        assert refused.get_json()["type"] == "urn:shiliu:problem:out-of-scope"
        assert city.call("GET", path, "organizer", query_string={"unit_id": own}).status_code == 200


# ---- new volunteers and stars -----------------------------------------------------------------

PEOPLE = ("new_volunteers", "stars_awarded")


def _register(city, home: str, name: str) -> str:
    """A volunteer registered by the volunteers service (``volunteer.registered``)."""
    volunteer_id = str(uuid.uuid4())
    profile = {"display_name": name, "home_unit_id": home}
    commit(city, "volunteers", lambda s: volunteer_ops.save_profile(s, volunteer_id, profile))
    return volunteer_id


def _move_home(city, volunteer_id: str, home: str) -> None:
    """The volunteer saves their profile with another home unit (``volunteer.updated``)."""

    def move(session):
        volunteer = volunteer_ops.get_volunteer(session, volunteer_id)
        profile = {
            "display_name": volunteer.display_name,
            "home_unit_id": home,
            "team_id": volunteer.team_id,
            "languages": volunteer.languages,
            "ethnicity": volunteer.ethnicity,
            "ethnicity_consent": volunteer.ethnicity is not None,
        }
        return volunteer_ops.save_profile(session, volunteer_id, profile)

    commit(city, "volunteers", move)


def _people_recount(city, root_id: str, start, end, by: str | None) -> dict:
    """New volunteers and stars as a recount from the source tables: the volunteers service's
    ``volunteers`` (home unit now, day of registration) and the ledger's certificates of
    published cycles not revoked (the cycle's unit, the day it was published); each under the
    unit tree as the activities service has it now, keyed like the report's rows."""
    zone = city_zone()
    with factory(city, "activities")() as session:
        paths = dict(session.execute(select(Unit.id, Unit.path)).all())
        children = session.scalars(select(Unit).where(Unit.parent_id == root_id)).all()
    with factory(city, "volunteers")() as session:
        registered = session.execute(select(Volunteer.home_unit_id, Volunteer.created_at)).all()
    with factory(city, "ledger")() as session:
        awarded = session.execute(
            select(AwardCycle.unit_id, AwardCycle.published_at)
            .join(Certificate, Certificate.cycle_id == AwardCycle.id)
            .where(AwardCycle.published_at.is_not(None), Certificate.revoked_at.is_(None))
        ).all()
    root = paths[root_id]
    counted: dict = {}
    for name, facts in (("new_volunteers", registered), ("stars_awarded", awarded)):
        for unit_id, moment in facts:
            path, day = paths.get(unit_id, ""), moment.astimezone(zone).date()
            if not path.startswith(root) or not start <= day <= end:
                continue
            if by == "unit":
                key = next((c.id for c in children if path.startswith(c.path)), root_id)
            elif by == "month":
                key = day.strftime("%Y-%m")
            else:
                key = "total"
            figures = counted.setdefault(key, dict.fromkeys(PEOPLE, 0))
            figures[name] += 1
    return counted


def _people_reported(city, unit_id: str, start, end, by: str | None) -> tuple[dict, dict]:
    """The report's new volunteers and stars: its totals, and its rows that have any."""
    body = _stats(city, unit_id, start, end, by)
    totals = {name: body["totals"][name] for name in PEOPLE}
    rows = {
        row["key"]: {name: row[name] for name in PEOPLE}
        for row in body.get("rows", [])
        if any(row[name] for name in PEOPLE)
    }
    return {"total": totals} if any(totals.values()) else {}, rows


def test_new_volunteers_and_stars_equal_a_recount_from_the_source_tables(city):
    """Volunteers registered in a community and its sibling, one of them moving home out of the
    street; cycles of the street (one award revoked) and of the community published: the report's
    new volunteers and stars, in total and by unit and month, for the street and the community,
    equal a recount from the volunteers service's and the ledger's own tables."""
    district = city.unit(DISTRICT).unit_id
    tag = uuid.uuid4().hex[:6]
    street = new_unit(city, f"表彰街道{tag}", "street", district)
    community = new_unit(city, f"表彰社区{tag}", "community", street)
    sibling = new_unit(city, f"表彰邻社区{tag}", "community", street)
    elsewhere = new_unit(city, f"迁往街道{tag}", "street", district)
    away = new_unit(city, f"迁往社区{tag}", "community", elsewhere)
    for unit in (community, sibling, away):
        wait_for(lambda u=unit: volunteers_know(city, VolunteersUnit, u), message="the units")
    # Three of the community who serve (different hours: no tie at a quota line), one of the
    # sibling community who has not served yet.
    serving = [_register(city, community, f"表彰志愿者{n}") for n in range(3)]
    _register(city, sibling, "邻社区志愿者")
    spec = {
        "days_ago": 3,
        "category": sorted(CATEGORIES)[0],
        "dimensions": ["culture", "society"],
        "fate": "completed",
        "audience": 30,
        "attendees": {0: 4, 1: 6, 2: 8},  # half-hours
        "corrections": {},
    }
    hold(city, serving, community, spec)
    wait_for(lambda: caught_up(city, "ledger"), timeout=60, message="the ledger's points")

    today = utcnow().astimezone(city_zone()).date()
    period = (today - timedelta(days=30), today)
    of_street = award_cycle(city, "published", 3, unit_id=street, period=period)
    winners = city.call("GET", of_street, "committee").get_json()["winners"]
    assert len(winners) == 3, winners
    revoked = city.call(
        "POST",
        f"{of_street}/revoke",
        "committee",
        json={"candidate_id": winners[0], "reason": "重算测试：事迹不实"},
    )
    assert revoked.status_code == 200, revoked.get_data(as_text=True)
    assert revoked.get_json()["status"] == "published"  # two awards still stand
    award_cycle(city, "published", 1, unit_id=community, period=period)
    # The community's star (the most hours) moves home out of the street: the stars stay with
    # the cycles' units, the new volunteer goes with the home.
    _move_home(city, serving[2], away)
    wait_for(lambda: caught_up(city), timeout=60, message="statistics to apply every event")

    this_year = (date(today.year, 1, 1), date(today.year, 12, 31))
    before_today = (today - timedelta(days=365), today - timedelta(days=1))
    street_total = _people_recount(city, street, *this_year, None)["total"]
    assert street_total["new_volunteers"] and street_total["stars_awarded"]  # not a recount of 0
    for start, end in [(today - timedelta(days=365), today), this_year, before_today]:
        for unit_id in (street, community):
            for by in (None, "unit", "month"):
                totals, rows = _people_reported(city, unit_id, start, end, by)
                expected = _people_recount(city, unit_id, start, end, by)
                if by:
                    assert rows == expected, (unit_id, by, start)
                    expected = _people_recount(city, unit_id, start, end, None)
                assert totals == expected, (unit_id, by, start)
