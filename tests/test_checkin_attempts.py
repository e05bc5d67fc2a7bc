"""Check-in codes cannot be guessed: a volunteer (and an address) gets a few wrong codes per
activity, then waits, told how long; a person who mistypes twice is not held up. The count is
kept by the database, so parallel guesses are counted exactly on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import update
from test_checkin import live_code, signed_up, starting_soon

from events.envelope import utcnow
from services.volunteers import rules
from services.volunteers.models import CheckinAttempt

HERE = {"REMOTE_ADDR": "198.51.100.7"}


def wrong(desk, activity) -> str:
    """A code that is not the live one (nor the one before it)."""
    right = live_code(desk, activity)
    return f"{(int(right) + 500_000) % 1_000_000:06d}"


def scan(desk, activity, volunteer, code, address=HERE):
    return desk.call(
        "POST",
        f"/api/v1/activities/{activity['activity_id']}/checkins",
        volunteer,
        json={"code": code},
        environ_base=address,
    )


def the_wait_is_over(desk) -> None:
    with desk.factory() as session, session.begin():
        session.execute(
            update(CheckinAttempt).values(blocked_until=utcnow() - timedelta(seconds=1))
        )


def test_a_volunteer_who_mistypes_twice_is_checked_in_with_the_right_code(desk):
    activity = starting_soon(desk)
    (volunteer,) = signed_up(desk, activity)
    for _ in range(2):
        assert scan(desk, activity, volunteer, wrong(desk, activity)).status_code == 400
    assert scan(desk, activity, volunteer, live_code(desk, activity)).status_code == 201


def test_after_five_wrong_codes_even_the_right_one_waits_and_the_answer_says_how_long(desk):
    activity = starting_soon(desk)
    (volunteer, neighbour) = signed_up(desk, activity, 2)
    for _ in range(rules.WRONG_CODES_PER_VOLUNTEER - 1):
        answer = scan(desk, activity, volunteer, wrong(desk, activity))
        assert answer.status_code == 400
        assert answer.get_json()["type"] == "urn:shiliu:problem:code-invalid"
    stopped = scan(desk, activity, volunteer, wrong(desk, activity))
    assert stopped.status_code == 429
    assert stopped.content_type == "application/problem+json"
    body = stopped.get_json()
    assert body["type"] == "urn:shiliu:problem:too-many-wrong-codes"
    assert body["detail"] == "签到码输错次数过多，请在 10 分钟后再试"
    assert 1 <= int(stopped.headers["Retry-After"]) <= rules.WRONG_CODE_WAIT.total_seconds()

    held = scan(desk, activity, volunteer, live_code(desk, activity))  # no guess is judged now
    assert held.status_code == 429
    # Someone else at another address is not held up by it.
    other = scan(desk, activity, neighbour, live_code(desk, activity), {"REMOTE_ADDR": "192.0.2.9"})
    assert other.status_code == 201

    the_wait_is_over(desk)
    assert scan(desk, activity, volunteer, live_code(desk, activity)).status_code == 201


def test_one_address_guessing_for_many_volunteers_is_stopped(desk):
    activity = starting_soon(desk, walk_ins_allowed=True)
    people = signed_up(desk, activity, 11)
    guesses = [p for p in people[:10] for _ in range(3)]  # three each: no one reaches five
    answers = [scan(desk, activity, who, wrong(desk, activity)).status_code for who in guesses]
    assert answers == [400] * (rules.WRONG_CODES_PER_ADDRESS - 1) + [429]
    last = people[10]
    assert scan(desk, activity, last, live_code(desk, activity)).status_code == 429
    elsewhere = scan(desk, activity, last, live_code(desk, activity), {"REMOTE_ADDR": "192.0.2.10"})
    assert elsewhere.status_code == 201


def test_twenty_parallel_wrong_codes_are_each_counted(desk):
    activity = starting_soon(desk)
    (volunteer,) = signed_up(desk, activity)
    code = wrong(desk, activity)
    answers: list[int] = []
    start = threading.Barrier(20)

    def guess():
        start.wait()
        answers.append(scan(desk, activity, volunteer, code).status_code)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Exactly four are told the code was wrong; every other guess is told to wait.
    assert sorted(answers) == [400] * (rules.WRONG_CODES_PER_VOLUNTEER - 1) + [429] * 16


def test_the_wait_is_said_in_english_too():
    from flask import Flask

    from services.common.errors import problem
    from services.volunteers.operations import TooManyWrongCodes
    from web import i18n
    from web.services_client import refusal

    wait = TooManyWrongCodes(timedelta(minutes=10))
    with Flask(__name__).app_context():
        body = problem(wait.status, wait.code, wait.title, wait.detail, message=wait.message)
    assert body.get_json()["message"] == {
        "key": "签到码输错次数过多，请在 {minutes} 分钟后再试",
        "values": {"minutes": 10},
    }
    app = Flask(__name__)
    i18n.init_app(app)
    with app.test_request_context("/?lang=en"):
        assert i18n.explain(refusal(429, body.get_json())) == (
            "Too many wrong check-in codes: please try again in 10 minutes"
        )
