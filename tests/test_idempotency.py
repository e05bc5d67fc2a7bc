"""POSTs that create things honour an Idempotency-Key: a repeat returns the first answer."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from test_activities import new_activity

from services.activities.models import Activity
from services.common.app import service_context


def activities_titled(city, title: str) -> int:
    with service_context(city.apps["activities"]).session_factory() as session:
        return session.scalar(
            select(func.count()).select_from(Activity).where(Activity.title == title)
        )


def create(city, key: str, who: str = "organizer", **fields):
    """POST a new activity of 富春社区 (``fields`` changed) with an Idempotency-Key; the answer."""
    body = new_activity(city, **fields)
    return city.call("POST", "/api/v1/activities", who, json=body, headers={"Idempotency-Key": key})


def test_a_repeated_create_with_the_same_key_returns_the_first_answer_and_creates_once(city):
    first = create(city, "net-retry-001", title="重试也只建一次")
    again = create(city, "net-retry-001", title="重试也只建一次")
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert activities_titled(city, "重试也只建一次") == 1


def test_the_same_key_for_a_different_request_is_refused(city):
    create(city, "net-retry-002", title="甲")
    other = create(city, "net-retry-002", title="乙")
    assert other.status_code == 422
    assert other.get_json()["type"].endswith("idempotency-key-reused")
    assert activities_titled(city, "乙") == 0


def test_keys_belong_to_their_caller_and_failures_are_not_remembered(city):
    bad = create(city, "shared-words", title="先错后对", ends_at="2020-01-01T00:00:00+00:00")
    assert bad.status_code == 422
    good = create(city, "shared-words", title="先错后对")
    assert good.status_code == 201  # the failed attempt left no key behind
    theirs = create(city, "shared-words", who="admin", title="先错后对")
    assert theirs.status_code == 201 and theirs.get_json()["id"] != good.get_json()["id"]


def test_ten_simultaneous_registrations_with_one_key_create_one_account(city):
    body = {
        "phone": "13588880000",
        "password": "pomegranate8",
        "name": "网络不好的居民",
        "home_unit_id": city.unit("/nb/bl/xq/fc/").unit_id,
    }
    answers = []

    def register():
        answers.append(
            city.client.post("/api/v1/accounts", json=body, headers={"Idempotency-Key": "flaky-4g"})
        )

    threads = [threading.Thread(target=register) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = {a.get_json()["id"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    assert all(a.status_code in (201, 409) for a in answers), [a.status_code for a in answers]
    from web.models import Account

    with service_context(city.web).session_factory() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Account).where(Account.phone == "13588880000")
            )
            == 1
        )
