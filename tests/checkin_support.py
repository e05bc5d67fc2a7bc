"""What the check-in tests share: the desk's calls, the live code and the refusals."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from volunteering import VENUE, activity_payload

from events.envelope import utcnow
from services.volunteers import rules
from services.volunteers.models import ActivityView, Attendance


def secret_of(desk, activity) -> str:
    with desk.factory() as session:
        return session.get(ActivityView, activity["activity_id"]).checkin_secret


def live_code(desk, activity) -> str:
    return rules.current_code(secret_of(desk, activity), utcnow())[0]


def records(desk) -> int:
    with desk.factory() as session:
        return session.scalar(select(func.count()).select_from(Attendance))


def check_in(desk, activity, who, **body):
    return desk.call(
        "POST", f"/api/v1/activities/{activity['activity_id']}/checkins", who, json=body
    )


def signed_up(desk, activity, count=1):
    people = desk.volunteers(count)
    for volunteer in people:
        answer = desk.call(
            "POST", f"/api/v1/activities/{activity['activity_id']}/signups", volunteer, json={}
        )
        assert answer.status_code == 201
    return people


def starting_soon(desk, **overrides):
    return desk.publish(activity_payload(starts_in=timedelta(minutes=10), **overrides))


def stale_code(desk, activity):
    secret = secret_of(desk, activity)
    return rules.code_for_step(secret, rules.time_step(utcnow()) - 3)


BAD_CHECKINS = {
    "stale code": (
        {},
        lambda desk, a, other: {"code": stale_code(desk, a)},
        400,
        "签到码不正确或已过期，请扫描现场屏幕上最新的二维码，或输入屏幕上的 6 位数字",
    ),
    "code of another activity": (
        {},
        lambda desk, a, other: {"code": live_code(desk, other)},
        400,
        "签到码不正确或已过期，请扫描现场屏幕上最新的二维码，或输入屏幕上的 6 位数字",
    ),
    "before the window opens": (
        {"starts_in": timedelta(hours=2)},
        None,
        409,
        "签到还没开始，将于",
    ),
    "after the window closed": (
        {"starts_in": timedelta(hours=-3), "hours": 2},
        None,
        409,
        "签到已于",
    ),
    "outside the radius": (
        {"latitude": VENUE[0], "longitude": VENUE[1], "checkin_radius_m": 300},
        lambda desk, a, other: {
            "code": live_code(desk, a),
            "latitude": float(VENUE[0]) + 0.011,
            "longitude": float(VENUE[1]),
        },
        409,
        "你离活动地点约 1.2 公里，需要在 300 米以内才能签到",
    ),
    "without a location where the activity has one": (
        {"latitude": VENUE[0], "longitude": VENUE[1], "checkin_radius_m": 300},
        None,
        400,
        "这个活动需要在现场签到：请允许浏览器获取你的位置后再试",
    ),
    "without a sign-up where walk-ins are not allowed": (
        {},
        "no sign-up",
        409,
        "你没有报名这个活动，这个活动不接受现场签到",
    ),
    "on the waitlist where walk-ins are not allowed": (
        {"capacity": 1},
        "waitlisted",
        409,
        "你在候补名单第 1 位，还没有获得名额，这个活动不接受现场报名",
    ),
}


def assert_twenty_parallel_scans_make_one_record(desk, activity, volunteer) -> None:
    """Twenty scans of the live code at once: one 201, nineteen answers of that same record."""
    code = live_code(desk, activity)
    barrier = threading.Barrier(20)
    statuses = []

    def scan():
        client, headers = desk.client(), desk.token(volunteer)
        barrier.wait()
        answer = client.post(
            f"/api/v1/activities/{activity['activity_id']}/checkins",
            headers=headers,
            json={"code": code},
        )
        statuses.append((answer.status_code, answer.get_json()["id"]))

    threads = [threading.Thread(target=scan) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(s for s, _ in statuses) == [200] * 19 + [201]
    assert len({record_id for _, record_id in statuses}) == 1
    assert records(desk) == 1
    assert len(desk.events("attendance.checked_in")) == 1


def bad_case(desk, case: str) -> tuple[dict, dict, str]:
    """The activity of a BAD_CHECKINS case as it stands when the volunteer scans, another one
    starting soon, and the volunteer: published a day ahead so that everyone signs up in time,
    then moved to its test time."""
    overrides, make_body, _status, _message = BAD_CHECKINS[case]
    overrides = dict(overrides)
    starts_in = overrides.pop("starts_in", timedelta(minutes=10))
    activity = desk.publish(activity_payload(starts_in=timedelta(days=1), **overrides))
    other = starting_soon(desk)
    if make_body == "waitlisted":
        signed_up(desk, activity)
    if make_body != "no sign-up":
        (volunteer,) = signed_up(desk, activity)
    else:
        (volunteer,) = desk.volunteers(1)
    moved = {**activity, "starts_at": utcnow() + starts_in}
    moved["ends_at"] = moved["starts_at"] + (activity["ends_at"] - activity["starts_at"])
    desk.publish({**moved, "changes": ["starts_at", "ends_at"]}, "activity.updated")
    return activity, other, volunteer


def bad_case_body(desk, case: str, activity: dict, other: dict) -> dict:
    """What the volunteer of a BAD_CHECKINS case sends (the live code unless the case says)."""
    make_body = BAD_CHECKINS[case][1]
    if callable(make_body):
        return make_body(desk, activity, other)
    return {"code": live_code(desk, activity)}
