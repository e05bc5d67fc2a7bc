"""Sign-up: places per shift, party size, the waitlist in order, promotion on cancellation, the
sign-up window, organizer removal — correct under 200 simultaneous sign-ups on both engines."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from volunteering import activity_payload

from events.envelope import utcnow
from services.volunteers.models import ShiftView, Signup


def sign_up(desk, activity, who, **body):
    return desk.call(
        "POST", f"/api/v1/activities/{activity['activity_id']}/signups", who, json=body
    )


def test_two_hundred_volunteers_at_once_get_fifty_places_and_a_queue_in_order(desk):
    activity = desk.publish(activity_payload(capacity=50))
    people = desk.volunteers(200)
    barrier = threading.Barrier(len(people))
    answers: dict[str, object] = {}

    def one(volunteer_id):
        client = desk.client()
        headers = desk.token(volunteer_id)
        barrier.wait()
        answers[volunteer_id] = client.post(
            f"/api/v1/activities/{activity['activity_id']}/signups", headers=headers, json={}
        )

    threads = [threading.Thread(target=one, args=(v,)) for v in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(a.status_code for a in answers.values()) == [201] * 200
    bodies = [a.get_json() for a in answers.values()]
    confirmed = [b for b in bodies if b["status"] == "confirmed"]
    waitlisted = [b for b in bodies if b["status"] == "waitlisted"]
    assert len(confirmed) == 50 and len(waitlisted) == 150
    assert sorted(b["waitlist_position"] for b in waitlisted) == list(range(1, 151))
    assert all(b["waitlist_position"] is None for b in confirmed)
    with desk.factory() as session:
        shift = session.get(ShiftView, activity["shifts"][0]["shift_id"])
        assert (shift.taken, shift.queued) == (50, 150)
    # The events say the same, and each queued volunteer was told the position they hold.
    told = {e["volunteer_id"]: e["waitlist_position"] for e in desk.events("signup.waitlisted")}
    assert told == {b["volunteer_id"]: b["waitlist_position"] for b in waitlisted}
    assert len(desk.events("signup.confirmed")) == 50

    # Cancellations promote in order: whoever was first in the queue gets the first freed place.
    queue = sorted(waitlisted, key=lambda b: b["waitlist_position"])
    for n, leaving in enumerate(confirmed[:5]):
        answer = desk.call(
            "DELETE",
            f"/api/v1/activities/{activity['activity_id']}/signups/me",
            leaving["volunteer_id"],
        )
        assert answer.status_code == 200 and answer.get_json()["status"] == "cancelled"
        promoted = desk.events("signup.promoted")
        assert [e["volunteer_id"] for e in promoted] == [b["volunteer_id"] for b in queue[: n + 1]]
    roster = desk.call(
        "GET",
        f"/api/v1/activities/{activity['activity_id']}/signups?per_page=200",
        "organizer",
        organizer=True,
    ).get_json()
    assert roster["total"] == 195
    assert roster["shifts"][0] | {"hour_weight": None} == {
        "shift_id": activity["shifts"][0]["shift_id"],
        "name": "默认岗位",
        "capacity": 50,
        "taken": 50,
        "free": 0,
        "waiting": 145,
        "hour_weight": None,
    }
    queued = [row for row in roster["items"] if row["status"] == "waitlisted"]
    assert [row["volunteer_id"] for row in queued] == [b["volunteer_id"] for b in queue[5:]]
    assert [row["waitlist_position"] for row in queued] == list(range(1, 146))
    mine = desk.call("GET", "/api/v1/volunteers/me/signups", queue[5]["volunteer_id"]).get_json()
    assert mine["items"][0]["signup"]["waitlist_position"] == 1


def test_a_volunteer_on_a_full_activity_is_waitlisted_and_promoted_when_someone_cancels(desk):
    activity = desk.publish(activity_payload(capacity=2))
    first, second, third = desk.volunteers(3)
    assert sign_up(desk, activity, first).get_json()["status"] == "confirmed"
    assert sign_up(desk, activity, second).get_json()["status"] == "confirmed"
    queued = sign_up(desk, activity, third)
    assert queued.status_code == 201
    assert queued.get_json() | {"created_at": None, "id": None} == {
        "id": None,
        "activity_id": activity["activity_id"],
        "shift_id": activity["shifts"][0]["shift_id"],
        "volunteer_id": third,
        "party_size": 1,
        "status": "waitlisted",
        "waitlist_position": 1,
        "created_at": None,
        "promoted_at": None,
        "cancelled_at": None,
        "cancel_reason": None,
        "removed": False,
    }
    desk.call("DELETE", f"/api/v1/activities/{activity['activity_id']}/signups/me", second)
    mine = desk.call("GET", f"/api/v1/activities/{activity['activity_id']}/signups/me", third)
    body = mine.get_json()
    assert body["signup"]["status"] == "confirmed" and body["signup"]["promoted_at"]
    assert body["shifts"][0]["free"] == 0
    cancelled = desk.events("signup.cancelled")
    assert [(e["volunteer_id"], e["reason"], e["cancelled_by"]) for e in cancelled] == [
        (second, "本人取消", second)
    ]
    assert [e["volunteer_id"] for e in desk.events("signup.promoted")] == [third]


def test_one_sign_up_per_volunteer_per_activity_even_across_shifts(desk):
    payload = activity_payload()
    payload["shifts"].append(
        {"shift_id": "translate-1", "name": "翻译", "capacity": 2, "hour_weight": "1.50"}
    )
    activity = desk.publish(payload)
    (volunteer,) = desk.volunteers(1)
    assert sign_up(desk, activity, volunteer).status_code == 201
    again = sign_up(desk, activity, volunteer, shift_id="translate-1")
    assert again.status_code == 409
    assert again.get_json()["detail"] == "你已经报名了这个活动（已获得名额）"
    with desk.factory() as session:
        assert session.scalar(select(func.count()).select_from(Signup)) == 1
    # After cancelling, signing up again (for another shift) is fine.
    desk.call("DELETE", f"/api/v1/activities/{activity['activity_id']}/signups/me", volunteer)
    assert (
        sign_up(desk, activity, volunteer, shift_id="translate-1").get_json()["shift_id"]
        == "translate-1"
    )
    wrong = sign_up(desk, desk.publish(activity_payload()), volunteer, shift_id="translate-1")
    assert wrong.status_code == 400 and wrong.get_json()["errors"] == {
        "shift_id": ["请选择活动的岗位"]
    }


def test_family_members_count_against_capacity_and_a_party_waits_until_it_fits(desk):
    activity = desk.publish(activity_payload(capacity=5))
    a, b, c, d = desk.volunteers(4)
    assert sign_up(desk, activity, a, party_size=3).get_json()["status"] == "confirmed"
    assert sign_up(desk, activity, b, party_size=3).get_json()["status"] == "waitlisted"
    # Two places are free, but a newcomer queues behind the waiting party: first come, first served.
    assert sign_up(desk, activity, c).get_json()["waitlist_position"] == 2
    too_big = sign_up(desk, activity, d, party_size=6)
    assert too_big.status_code == 400 and too_big.get_json()["errors"] == {
        "party_size": ["不能超过 5 人"]
    }
    desk.call("DELETE", f"/api/v1/activities/{activity['activity_id']}/signups/me", a)
    # Five places free: the party of three, then the single volunteer behind it.
    assert [e["volunteer_id"] for e in desk.events("signup.promoted")] == [b, c]
    assert desk.events("signup.promoted")[0]["party_size"] == 3


def test_the_sign_up_window_is_enforced(desk):
    opens = utcnow() + timedelta(hours=5)
    later = desk.publish(activity_payload(signup_opens_at=opens))
    closed = desk.publish(activity_payload(signup_closes_at=utcnow() - timedelta(minutes=1)))
    started = desk.publish(activity_payload(starts_in=timedelta(minutes=-10)))
    (volunteer,) = desk.volunteers(1)
    for activity, code, words in (
        (later, "signup-not-open", "报名将于"),
        (closed, "signup-closed", "报名已于"),
        (started, "signup-closed", "截止"),
    ):
        answer = sign_up(desk, activity, volunteer)
        assert answer.status_code == 409
        assert answer.get_json()["type"] == f"urn:shiliu:problem:{code}"
        assert words in answer.get_json()["detail"]
    with desk.factory() as session:
        assert session.scalar(select(func.count()).select_from(Signup)) == 0


def test_cancelling_after_the_start_is_refused(desk):
    activity = desk.publish(activity_payload(starts_in=timedelta(minutes=30)))
    (volunteer,) = desk.volunteers(1)
    sign_up(desk, activity, volunteer)
    desk.publish(
        {**activity, "starts_at": utcnow() - timedelta(minutes=1), "changes": ["starts_at"]},
        "activity.updated",
    )
    answer = desk.call(
        "DELETE", f"/api/v1/activities/{activity['activity_id']}/signups/me", volunteer
    )
    assert answer.status_code == 409
    assert answer.get_json()["detail"] == "活动已经开始，不能在线取消报名；如不能到场请联系组织者"


def test_an_organizer_removes_a_sign_up_with_a_reason_and_the_queue_moves_up(desk):
    activity = desk.publish(activity_payload(capacity=1))
    kept_out, waiting = desk.volunteers(2)
    removed = sign_up(desk, activity, kept_out).get_json()
    sign_up(desk, activity, waiting)
    path = f"/api/v1/activities/{activity['activity_id']}/signups/{removed['id']}/removal"
    assert desk.call("POST", path, waiting, json={"reason": "x"}).status_code == 403
    assert (
        desk.call("POST", path, "organizer", organizer=True, json={"reason": ""}).status_code == 422
    )
    answer = desk.call(
        "POST", path, "organizer", organizer=True, json={"reason": "重复报名，已电话确认"}
    )
    assert answer.status_code == 200
    assert answer.get_json()["removed"] is True
    assert answer.get_json()["cancel_reason"] == "重复报名，已电话确认"
    assert [e["volunteer_id"] for e in desk.events("signup.promoted")] == [waiting]
    again = sign_up(desk, activity, kept_out)
    assert again.status_code == 409 and again.get_json()["type"].endswith("removed-by-organizer")
    mine = desk.call("GET", "/api/v1/volunteers/me/signups", kept_out).get_json()["items"][0]
    assert mine["signup"]["cancel_reason"] == "重复报名，已电话确认"


def test_a_cancelled_activity_shows_on_its_volunteers_sign_ups_with_the_reason(desk):
    activity = desk.publish(activity_payload())
    (volunteer,) = desk.volunteers(1)
    sign_up(desk, activity, volunteer)
    desk.publish(
        {
            "activity_id": activity["activity_id"],
            "reason": "暴雨预警，活动取消",
            "cancelled_at": utcnow(),
        },
        "activity.cancelled",
    )
    mine = desk.call("GET", "/api/v1/volunteers/me/signups", volunteer).get_json()
    assert mine["total"] == 1
    assert mine["items"][0]["activity"]["status"] == "cancelled"
    assert mine["items"][0]["activity"]["cancel_reason"] == "暴雨预警，活动取消"
    refused = sign_up(desk, activity, desk.volunteers(1)[0])
    assert refused.status_code == 409
    assert refused.get_json()["detail"] == "活动已取消：暴雨预警，活动取消"


def test_more_places_after_an_update_go_to_the_waitlist_at_once(desk):
    activity = desk.publish(activity_payload(capacity=1))
    first, second, third = desk.volunteers(3)
    for volunteer in (first, second, third):
        sign_up(desk, activity, volunteer)
    shift = {**activity["shifts"][0], "capacity": 2}
    desk.publish({**activity, "shifts": [shift], "changes": ["shifts"]}, "activity.updated")
    assert [e["volunteer_id"] for e in desk.events("signup.promoted")] == [second]


def test_signing_up_needs_a_profile_and_a_known_activity(desk):
    activity = desk.publish(activity_payload())
    assert sign_up(desk, activity, "staff-without-profile").status_code == 409
    missing = desk.call("POST", "/api/v1/activities/no-such/signups", "someone", json={})
    assert missing.status_code == 404 and missing.get_json()["detail"] == "活动不存在或尚未发布"
    assert (
        desk.client()
        .post(f"/api/v1/activities/{activity['activity_id']}/signups", json={})
        .status_code
        == 401
    )
