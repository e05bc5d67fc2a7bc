"""Notifications across the platform, its parts talking through the real broker: what the services
publish reaches the right inbox in the right words; a reminder's "can't come" frees the place and
the next volunteer on the waitlist is told; people mark messages read and choose what they are
told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from notifications_support import signed_up, told_of
from test_activities import at, create

from services.common.app import service_context
from services.notifications import reminders
from services.notifications.models import Reminder

AYGUL = "13800000001"


@pytest.fixture(scope="module")
def city_backbone() -> str:
    """Relays, topics and consumer groups on the session broker."""
    return "broker"


def resident(city, phone: str) -> str:
    """A newly registered volunteer of 富春社区, signed in; their username."""
    assert city.register(phone, name=f"居民{phone[-4:]}").status_code == 201
    city.token(phone, "pomegranate8")
    return phone


def _inbox(city, who: str, **query) -> dict:
    answer = city.call("GET", "/api/v1/notifications", who, query_string=query)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def _one_place(city) -> dict:
    made = create(
        city,
        starts_at=at(3).isoformat(),
        ends_at=at(3, 17).isoformat(),
        shifts=[{"name": "后勤", "capacity": 1}],
        title="通知测试邻里节",
    )
    published = city.call("POST", f"/api/v1/activities/{made['id']}/publish", "organizer")
    assert published.status_code == 200, published.get_json()
    return made


def test_cant_come_frees_the_place_and_the_next_volunteer_is_told(city):
    neighbour = resident(city, "13900000101")
    activity = _one_place(city)
    link = f"/activities/{activity['id']}"
    assert signed_up(city, AYGUL, activity["id"])["status"] == "confirmed"
    assert signed_up(city, neighbour, activity["id"])["status"] == "waitlisted"
    (confirmed,) = told_of(city, AYGUL, "signup_confirmed", link)
    assert "通知测试邻里节" in confirmed["text"] and confirmed["message"]["values"]["title"]
    (waiting,) = told_of(city, neighbour, "signup_waitlisted", link)
    assert "第 1 位" in waiting["text"]
    (full,) = told_of(city, "organizer", "shift_full")
    assert full["link"] == f"/volunteering/organize/{activity['id']}/roster"

    # The evening before, the reminder is sent (the scheduler is given the time).
    notifications = service_context(city.apps["notifications"]).session_factory
    with notifications() as session:
        due = session.get(Reminder, f"{confirmed['signup_id']}/reminder_day_before").due_at
    assert reminders.send_due(notifications, now=due - timedelta(seconds=1)) == 0
    assert reminders.send_due(notifications, now=due) == 1
    assert reminders.send_due(notifications, now=due) == 0  # once
    (reminder,) = told_of(city, AYGUL, "reminder_day_before", link)
    assert reminder["answerable"] and reminder["answer"] is None
    assert "还能来吗" in reminder["text"]

    # "Can't come": the sign-up is cancelled (as web does it), then the answer recorded.
    mine = f"/api/v1/activities/{activity['id']}/signups/me"
    assert city.call("DELETE", mine, AYGUL).status_code in (200, 204)
    answered = city.call(
        "POST",
        f"/api/v1/notifications/{reminder['id']}/answer",
        AYGUL,
        json={"answer": "not_coming"},
    )
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["answer"] == "not_coming" and not answered.get_json()["answerable"]
    again = city.call(
        "POST",
        f"/api/v1/notifications/{reminder['id']}/answer",
        AYGUL,
        json={"answer": "coming"},
    )
    assert again.status_code == 409 and again.get_json()["type"].endswith("already-answered")
    (promoted,) = told_of(city, neighbour, "signup_promoted", link)
    assert promoted["urgent"] and "转为正式报名" in promoted["text"]
    # Aygul's own reminders are withdrawn; the neighbour's are planned.
    with notifications() as session:
        assert session.get(Reminder, f"{confirmed['signup_id']}/reminder_two_hours").state == (
            "withdrawn"
        )
        assert session.get(Reminder, f"{promoted['signup_id']}/reminder_day_before").state == (
            "pending"
        )


def test_messages_are_marked_read_and_only_their_recipient_touches_them(city):
    reader = resident(city, "13900000102")
    activity = _one_place(city)
    link = f"/activities/{activity['id']}"
    signed_up(city, reader, activity["id"])
    (message,) = told_of(city, reader, "signup_confirmed", link)
    before = _inbox(city, reader)["unread"]
    assert city.call("GET", "/api/v1/notifications/unread", reader).get_json() == {"unread": before}
    other = city.call("POST", f"/api/v1/notifications/{message['id']}/read", AYGUL)
    assert other.status_code == 404  # not theirs: as if it did not exist
    read = city.call("POST", f"/api/v1/notifications/{message['id']}/read", reader)
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert _inbox(city, reader)["unread"] == before - 1
    unread_only = _inbox(city, reader, unread="true")["items"]
    assert message["id"] not in {m["id"] for m in unread_only}
    # Only a reminder takes an answer (409), and only one it knows (422).
    for answer, refused in (("coming", 409), ("maybe", 422)):
        answered = city.call(
            "POST",
            f"/api/v1/notifications/{message['id']}/answer",
            reader,
            json={"answer": answer},
        )
        assert answered.status_code == refused, answer
    assert city.call("POST", "/api/v1/notifications/read-all", reader).status_code == 200
    assert _inbox(city, reader)["unread"] == 0
    assert city.call("GET", "/api/v1/notifications").status_code == 401


def test_preferences_turn_kinds_off_but_not_those_that_change_where_one_must_be(city):
    who = resident(city, "13900000103")
    shown = city.call("GET", "/api/v1/notifications/preferences", who).get_json()
    assert shown["muted_kinds"] == [] and shown["quiet_at_night"] is True
    essential = {k["name"] for k in shown["kinds"] if k["essential"]}
    assert {"activity_cancelled", "signup_promoted"} <= essential
    refused = city.call(
        "PUT",
        "/api/v1/notifications/preferences",
        who,
        json={"muted_kinds": ["activity_cancelled", "signup_confirmed"]},
    )
    assert refused.status_code == 422 and "活动取消" in refused.get_json()["detail"]
    unknown = city.call(
        "PUT", "/api/v1/notifications/preferences", who, json={"muted_kinds": ["no-such"]}
    )
    assert unknown.status_code == 422
    assert (
        city.call("GET", "/api/v1/notifications/preferences", who).get_json()["muted_kinds"] == []
    )
    saved = city.call(
        "PUT",
        "/api/v1/notifications/preferences",
        who,
        json={"muted_kinds": ["signup_confirmed"], "quiet_at_night": False},
    )
    assert saved.status_code == 200 and saved.get_json()["muted_kinds"] == ["signup_confirmed"]
    activity = _one_place(city)
    signed_up(city, who, activity["id"])
    told_of(city, "organizer", "shift_full", f"/volunteering/organize/{activity['id']}/roster")
    kinds = {m["kind"] for m in _inbox(city, who)["items"]}
    assert "signup_confirmed" not in kinds  # turned off: not told
