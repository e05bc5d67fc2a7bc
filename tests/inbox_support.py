"""The inbox tests' people and activities on the in-process city: residents who sign up through
the API, a small activity published by the organizer, and waiting for a message to arrive."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from backbone import wait_for

from events.envelope import utcnow

PASSWORD = "pomegranate8"
serial = itertools.count(1)


def resident(city, name: str) -> str:
    """A new volunteer of 富春社区, signed in for the API; returns their username (phone)."""
    phone = f"1360001{next(serial):04d}"
    answer = city.register(phone, name=name)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    city.token(phone, PASSWORD)
    return phone


def small_activity(city, title: str, capacity: int = 1, starts_in=timedelta(days=2)) -> dict:
    """A published activity of 富春社区 with one shift of ``capacity`` places."""
    starts_at = utcnow().replace(second=0, microsecond=0) + starts_in
    body = {
        "title": title,
        "description": "消息测试用的活动",
        "category": "festival",
        "dimensions": ["culture"],
        "host_unit_id": city.unit("/nb/bl/xq/fc/").unit_id,
        "address": "富春社区文化家园",
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=3)).isoformat(),
        "shifts": [{"name": "后勤", "capacity": capacity}],
    }
    created = city.call("POST", "/api/v1/activities", "organizer", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    activity = created.get_json()
    published = city.call("POST", f"/api/v1/activities/{activity['id']}/publish", "organizer")
    assert published.status_code == 200, published.get_data(as_text=True)
    wait_for(
        lambda: (
            city.call("GET", f"/api/v1/activities/{activity['id']}/signups/me", "admin")
            .get_json()
            .get("activity")
        ),
        message="the volunteers service to know the activity",
    )
    return {**activity, "starts_at": starts_at}


def sign_up(city, who: str, activity: dict) -> dict:
    answer = city.call("POST", f"/api/v1/activities/{activity['id']}/signups", who, json={})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()


def inbox(city, who: str, **params) -> dict:
    answer = city.call("GET", "/api/v1/notifications", who, query_string=params)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def message_of(city, who: str, kind: str, activity: dict | None = None) -> dict:
    """Wait for a message of a kind (about an activity) in someone's inbox; return it."""

    def found():
        for item in inbox(city, who, per_page=100)["items"]:
            if item["kind"] == kind and (activity is None or item["activity_id"] == activity["id"]):
                return item
        return None

    return wait_for(found, message=f"a {kind} message for {who}")


def flashed(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", text).strip()
        for text in re.findall(r'<p class="flash [a-z]+"[^>]*>(.*?)</p>', html, re.S)
    ]
