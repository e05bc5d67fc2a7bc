"""The check-in admission rule is stated once: the rules an activity answers in Python (its
brief, a check-out) and in SQL (the admitting INSERT, the refusal's read) agree, and a scan the
rule does not admit is told the condition that failed."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from test_checkin import check_in, records, signed_up, starting_soon
from test_checkin_attempts import wrong
from volunteering import VENUE

from events.envelope import utcnow
from services.volunteers import rules
from services.volunteers.models import ActivityView
from services.volunteers.operations import admission

PLACES = [
    (None, None, None),
    (None, None, 300),
    (VENUE[0], VENUE[1], None),
    (VENUE[0], VENUE[1], 0),
    (VENUE[0], VENUE[1], 300),
    (VENUE[0], None, 300),
]
STATUSES = ["published", "completed", "cancelled", "closed"]


def test_running_and_needs_location_agree_in_python_and_in_sql(desk):
    ids = []
    for (latitude, longitude, radius), status in itertools.product(PLACES, STATUSES):
        activity = starting_soon(desk)
        ids.append(activity["activity_id"])
        with desk.factory() as session, session.begin():
            session.execute(
                update(ActivityView)
                .where(ActivityView.activity_id == activity["activity_id"])
                .values(
                    latitude=latitude,
                    longitude=longitude,
                    checkin_radius_m=radius,
                    status=status,
                )
            )
    with desk.factory() as session:
        in_sql = {
            row.activity_id: (bool(row.running), bool(row.needs_location))
            for row in session.execute(
                select(
                    ActivityView.activity_id,
                    ActivityView.running.label("running"),
                    ActivityView.needs_location.label("needs_location"),
                )
            )
        }
        in_python = {
            activity.activity_id: (activity.running, activity.needs_location)
            for activity in session.scalars(select(ActivityView))
        }
    assert set(in_sql) == set(ids)
    assert in_sql == in_python
    # Both say what the rule means: only a place with a radius needs a location.
    assert sum(needs for _running, needs in in_sql.values()) == len(STATUSES)
    assert sum(running for running, _needs in in_sql.values()) == 2 * len(PLACES)


FAILING = {
    "running": {"status": "cancelled"},
    "not_waiting": {},
    "window_opened": {"checkin_opens_at": timedelta(hours=1)},
    "window_not_closed": {"checkin_closes_at": timedelta(minutes=-1)},
    "has_profile": {"walk_ins_allowed": True},  # and no profile
    "no_radius": {"latitude": VENUE[0], "longitude": VENUE[1], "checkin_radius_m": 300},
    "placed": {},  # a profile, no sign-up, no walk-ins
}


def test_every_condition_of_the_rule_can_be_made_to_fail():
    assert set(FAILING) == set(admission.CONDITIONS)


@pytest.mark.parametrize("failing", list(FAILING))
def test_the_facts_name_the_one_condition_that_fails(desk, failing):
    """Each way to fail the rule, made on purpose: the read of the facts says that condition,
    and only it, failed; the same read of a scan that passes says none did."""
    activity = starting_soon(desk)
    (admitted,) = signed_up(desk, activity)
    if failing == "has_profile":
        volunteer = f"no-profile-{activity['activity_id']}"
    elif failing == "placed":
        (volunteer,) = desk.volunteers(1)
    else:
        (volunteer,) = signed_up(desk, activity)
    if failing == "not_waiting":
        for _ in range(rules.WRONG_CODES_PER_VOLUNTEER):
            check_in(desk, activity, volunteer, code=wrong(desk, activity))
    now = utcnow()
    values = {
        name: now + value if isinstance(value, timedelta) else value
        for name, value in FAILING[failing].items()
    }
    if values:
        with desk.factory() as session, session.begin():
            session.execute(
                update(ActivityView)
                .where(ActivityView.activity_id == activity["activity_id"])
                .values(**values)
            )

    def facts(who):
        with desk.factory() as session:
            parameters = admission.facts_parameters(activity["activity_id"], who, now, None)
            row = session.execute(admission.CHECKIN_FACTS, parameters).one()
        return admission.Facts._make(row)

    refused = facts(volunteer)
    assert [name for name in admission.CONDITIONS if not getattr(refused, name)] == [failing]
    assert not refused.admitted
    if failing in ("not_waiting", "placed", "has_profile"):  # the volunteer's, not the activity's
        assert facts(admitted).admitted
    assert records(desk) == 0
