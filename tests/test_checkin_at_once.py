"""Check-in: the scan admitted at once by one INSERT ... SELECT, and the step-by-step way it must
agree with."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from checkin_support import (
    BAD_CHECKINS,
    assert_twenty_parallel_scans_make_one_record,
    bad_case,
    bad_case_body,
    check_in,
    live_code,
    records,
    secret_of,
    signed_up,
    starting_soon,
)
from sqlalchemy import select

from events import catalog
from events.envelope import utcnow
from services.volunteers import rules
from services.volunteers.models import Attendance
from services.volunteers.operations import checkin as checkin_ops

# ---- the scan admitted at once, and the step-by-step way it must agree with -------------------
#
# A scan the rules admit as things stand is written by one INSERT ... SELECT that states the rules
# (on SQLite once the activity's secret is known here from an earlier scan; on PostgreSQL after
# one read). These tests pin that it writes what the step-by-step way writes, refuses what it
# refuses, and never admits what it should not.


def warm(desk, activity):
    """A refused scan (no code can be "abcdef"): the service has read the activity's secret."""
    (passer_by,) = desk.volunteers(1)
    assert check_in(desk, activity, passer_by, code="abcdef").status_code == 400
    assert checkin_ops._SECRETS.get(activity["activity_id"]) == secret_of(desk, activity)


def step_by_step_refused(monkeypatch):
    """Make the step-by-step way fail loudly: what passes was admitted at once."""

    def refused(*args, **kwargs):
        raise AssertionError("the scan was not admitted at once")

    monkeypatch.setattr(checkin_ops, "_check_in_read_first", refused)


def stored(desk, volunteer) -> dict:
    with desk.factory() as session:
        record = session.scalar(select(Attendance).where(Attendance.volunteer_id == volunteer))
        return {c.name: getattr(record, c.name) for c in Attendance.__table__.columns}


@pytest.mark.parametrize("walk_ins", [False, True], ids=["signed up", "walk-in"])
def test_a_scan_admitted_at_once_writes_what_the_step_by_step_way_writes(
    desk, monkeypatch, walk_ins
):
    activity = starting_soon(desk, walk_ins_allowed=walk_ins)
    slow, fast = signed_up(desk, activity, 2) if not walk_ins else desk.volunteers(2)
    first = check_in(desk, activity, slow, code=live_code(desk, activity))  # learns the secret
    assert first.status_code == 201
    step_by_step_refused(monkeypatch)
    second = check_in(desk, activity, fast, code=live_code(desk, activity))
    assert second.status_code == 201, second.get_json()
    one, other = stored(desk, slow), stored(desk, fast)
    differing = {"id", "volunteer_id", "signup_id", "checked_in_by", "checked_in_at", "created_at"}
    assert {k: v for k, v in one.items() if k not in differing} == {
        k: v for k, v in other.items() if k not in differing
    }
    assert other["shift_id"] == (None if walk_ins else f"{activity['activity_id']}-s1")
    assert other["walk_in"] is walk_ins and (other["signup_id"] is None) is walk_ins
    assert other["checked_in_at"] == other["created_at"] and other["checked_in_by"] == fast
    answer = second.get_json()
    assert answer["id"] == other["id"] and answer["shift_id"] == other["shift_id"]
    assert datetime.fromisoformat(answer["checked_in_at"]) == other["checked_in_at"]
    events = desk.events("attendance.checked_in")
    assert [e["volunteer_id"] for e in events] == [slow, fast]
    assert events[1] == {
        "attendance_id": other["id"],
        "volunteer_id": fast,
        "activity_id": activity["activity_id"],
        "shift_id": other["shift_id"],
        "checked_in_at": other["checked_in_at"].isoformat(),
        "method": "code",
    }
    assert set(events[0]) == set(events[1])
    catalog.get("attendance.checked_in").load(events[1])  # it validates


@pytest.mark.parametrize("case", list(BAD_CHECKINS), ids=list(BAD_CHECKINS))
def test_with_the_secret_known_bad_check_ins_are_still_refused_and_record_nothing(desk, case):
    _overrides, _make_body, status, message = BAD_CHECKINS[case]
    activity, other, volunteer = bad_case(desk, case)
    warm(desk, activity)
    warm(desk, other)
    body = bad_case_body(desk, case, activity, other)
    answer = check_in(desk, activity, volunteer, **body)
    assert answer.status_code == status, answer.get_json()
    assert message in answer.get_json()["detail"]
    assert records(desk) == 0
    assert desk.events("attendance.checked_in") == []


@pytest.mark.parametrize(
    "window",
    [
        {"checkin_opens_at": timedelta(minutes=5)},  # opens later than 30 minutes before
        {"checkin_closes_at": timedelta(minutes=-1)},  # closed before the end
        {"checkin_opens_at": timedelta(minutes=-40), "checkin_closes_at": timedelta(minutes=40)},
    ],
    ids=["not open yet", "closed early", "open"],
)
def test_a_window_the_organizer_set_is_kept_the_same_way_at_once(desk, window):
    now = utcnow()
    activity = starting_soon(desk, **{name: now + delta for name, delta in window.items()})
    (volunteer,) = signed_up(desk, activity)
    warm(desk, activity)
    opens, closes = rules.checkin_window(
        activity["starts_at"],
        activity["ends_at"],
        activity["checkin_opens_at"],
        activity["checkin_closes_at"],
    )
    answer = check_in(desk, activity, volunteer, code=live_code(desk, activity))
    expected = 201 if opens <= utcnow() <= closes else 409
    assert answer.status_code == expected, answer.get_json()
    assert records(desk) == (1 if expected == 201 else 0)


def test_a_remembered_secret_never_admits_a_code_the_stored_secret_does_not_make(desk):
    activity = starting_soon(desk)
    volunteer, later = signed_up(desk, activity, 2)
    warm(desk, activity)
    # Whatever this service remembers, the INSERT checks the secret the database holds.
    imposter = rules.new_secret()
    checkin_ops._SECRETS[activity["activity_id"]] = imposter
    forged = rules.current_code(imposter, utcnow())[0]
    answer = check_in(desk, activity, volunteer, code=forged)
    if forged != live_code(desk, activity):  # one chance in a million that they agree
        assert answer.status_code == 400
        assert answer.get_json()["type"].endswith("code-invalid")
        assert records(desk) == 0
    # The refusal read the stored secret again: the right code goes straight in.
    assert checkin_ops._SECRETS[activity["activity_id"]] == secret_of(desk, activity)
    assert check_in(desk, activity, later, code=live_code(desk, activity)).status_code == 201


def test_with_the_secret_known_twenty_parallel_check_ins_still_make_one_record(desk):
    activity = starting_soon(desk)
    (volunteer,) = signed_up(desk, activity)
    warm(desk, activity)
    assert_twenty_parallel_scans_make_one_record(desk, activity, volunteer)


def test_facts_that_change_between_the_read_and_the_write_are_caught_by_the_write(
    desk, monkeypatch
):
    # PostgreSQL reads the facts, then writes in a statement of its own; SQLite has no gap
    # between them, and there the cancellation simply comes first.
    activity = starting_soon(desk)
    (volunteer,) = signed_up(desk, activity)
    warm(desk, activity)

    def cancel():
        desk.publish(
            {"activity_id": activity["activity_id"], "reason": "暴雨", "cancelled_at": utcnow()},
            "activity.cancelled",
        )

    admitted_before = checkin_ops._admitted_as_it_stands

    def cancelled_meanwhile(facts, code, now):
        verdict = admitted_before(facts, code, now)
        cancel()
        return verdict

    monkeypatch.setattr(checkin_ops, "_admitted_as_it_stands", cancelled_meanwhile)
    if desk.settings.database_url("volunteers").startswith("sqlite"):
        cancel()
    answer = check_in(desk, activity, volunteer, code=live_code(desk, activity))
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["detail"] == "活动已取消：暴雨"
    assert records(desk) == 0
    assert desk.events("attendance.checked_in") == []


def test_the_answer_is_what_the_schema_would_give(desk):
    activity = starting_soon(desk)
    volunteer, other = signed_up(desk, activity, 2)
    check_in(desk, activity, volunteer, code=live_code(desk, activity))
    desk.call(
        "POST",
        f"/api/v1/activities/{activity['activity_id']}/checkouts",
        volunteer,
        json={"code": live_code(desk, activity)},
    )
    from services.volunteers.api import checkin_answer
    from services.volunteers.schemas import CheckinOut

    written = checkin_ops._as_written(
        {
            "id": "r-1",
            "activity_id": activity["activity_id"],
            "volunteer_id": other,
            "checked_in_at": utcnow(),
            "checkin_method": "code",
            "checked_in_by": other,
            "status": "open",
            "created_at": utcnow(),
        },
        "s-up",
        "s-1",
        0,
    )
    with desk.factory() as session:
        kept = session.scalar(select(Attendance).where(Attendance.volunteer_id == volunteer))
    with desk.app.app_context():
        for record, created, verb in [(written, True, "签到"), (kept, False, "签退")]:
            shaped = checkin_answer(record, created, verb).get_json()
            body = {name: getattr(record, name, None) for name in CheckinOut().fields}
            moment = record.checked_out_at if verb == "签退" else record.checked_in_at
            schema_would = CheckinOut().dump(
                {**body, "already": not created, "message": shaped["message"]}
            )
            assert shaped == schema_would
            assert rules.local_time(moment) in shaped["message"]
