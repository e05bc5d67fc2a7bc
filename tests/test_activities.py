"""Activities: what organizers create, publish and run, and who may touch them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from backbone import wait_for
from sqlalchemy import func, select

from events import catalog
from events.envelope import decode, utcnow
from events.store import outbox
from services.activities.models import Activity
from services.common.app import service_context

FC = "/nb/bl/xq/fc/"


# One "now" for the module: the parametrized cases are made at collection and the activities they
# change when the tests run, which may be on either side of midnight.
_TODAY = utcnow().replace(minute=0, second=0, microsecond=0)


def at(days: float, hour: int = 14) -> datetime:
    return (_TODAY + timedelta(days=days)).replace(hour=hour)


def new_activity(city, **overrides) -> dict:
    body = {
        "title": "三月邻里节",
        "description": "各族居民一起包饺子、做抓饭，交流家乡习俗。",
        "category": "festival",
        "dimensions": ["culture", "society"],
        "host_unit_id": city.unit(FC).unit_id,
        "address": "富春社区文化家园",
        "starts_at": at(7).isoformat(),
        "ends_at": at(7, 17).isoformat(),
        "shifts": [
            {"name": "后勤", "capacity": 20},
            {"name": "翻译", "capacity": 2, "hour_weight": "1.5"},
        ],
        **overrides,
    }
    return body


def activities_count(city) -> int:
    with service_context(city.apps["activities"]).session_factory() as session:
        return session.scalar(select(func.count()).select_from(Activity))


def create(city, username="organizer", **overrides):
    answer = city.call("POST", "/api/v1/activities", username, json=new_activity(city, **overrides))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()


def events_of(city, activity_id: str) -> list:
    with service_context(city.apps["activities"]).session_factory() as session:
        rows = session.scalars(
            select(outbox.c.value).where(outbox.c.key == activity_id).order_by(outbox.c.seq)
        ).all()
    return [decode(raw) for raw in rows]


def test_an_organizer_creates_a_draft_with_its_shifts_and_publishes_it(city):
    draft = create(city)
    assert draft["status"] == "draft" and draft["status_label"] == "草稿"
    assert [(s["name"], s["capacity"], s["hour_weight"]) for s in draft["shifts"]] == [
        ("后勤", 20, None),
        ("翻译", 2, 1.5),
    ]
    assert all(s["id"] for s in draft["shifts"]) and draft["free_places"] == 22
    assert events_of(city, draft["id"]) == []  # a draft is nobody's business yet
    # Drafts are hidden from the public and from other units' organizers.
    assert city.call("GET", f"/api/v1/activities/{draft['id']}").status_code == 404
    assert city.call("GET", f"/api/v1/activities/{draft['id']}", "organizer").status_code == 200

    published = city.call("POST", f"/api/v1/activities/{draft['id']}/publish", "organizer")
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    [event] = events_of(city, draft["id"])
    assert event.type == "activity.published"
    assert event.payload["host_unit_path"] == FC and len(event.payload["shifts"]) == 2
    assert city.call("GET", f"/api/v1/activities/{draft['id']}").status_code == 200


def test_a_new_activity_without_shifts_gets_one_default_shift(city):
    body = new_activity(city)
    del body["shifts"]
    answer = city.call("POST", "/api/v1/activities", "organizer", json=body)
    assert [s["name"] for s in answer.get_json()["shifts"]] == ["志愿者"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": at(7, 10).isoformat()}, "ends_at"),
        ({"signup_closes_at": at(8).isoformat()}, "signup_closes_at"),
        ({"signup_opens_at": at(9).isoformat()}, "signup_opens_at"),
        ({"shifts": []}, "shifts"),
        ({"shifts": [{"name": "后勤", "capacity": 0}]}, "shifts"),
        ({"host_unit_id": "no-such-unit"}, None),
        ({"category": "party"}, "category"),
        ({"dimensions": []}, "dimensions"),
        ({"dimensions": ["cosmic"]}, "dimensions"),
        ({"title": "题" * 101}, "title"),
        ({"title": ""}, "title"),
        ({"starts_at": "2026-03-08 14:00"}, "starts_at"),
        ({"starts_at": "2026-03-08T14:00:00"}, "starts_at"),
        ({"latitude": "29.9"}, "longitude"),
        ({"co_host_unit_ids": ["nowhere"]}, "co_host_unit_ids"),
    ],
)
def test_invalid_activities_get_per_field_messages_and_create_nothing(city, change, field):
    before = activities_count(city)
    answer = city.call("POST", "/api/v1/activities", "organizer", json=new_activity(city, **change))
    assert 400 <= answer.status_code < 500, answer.get_data(as_text=True)
    if field:
        errors = answer.get_json()["errors"]
        assert field in errors.get("json", errors), answer.get_json()
    assert activities_count(city) == before


def test_organizers_act_only_within_their_units(city):
    other_street = city.unit("/nb/bl/dq/hs/")
    outside = city.call(
        "POST",
        "/api/v1/activities",
        "organizer",
        json=new_activity(city, host_unit_id=other_street.unit_id),
    )
    assert outside.status_code == 403
    mine = create(city)
    for username in ("13800000001", None):
        answer = city.call(
            "PATCH", f"/api/v1/activities/{mine['id']}", username, json={"title": "x"}
        )
        assert answer.status_code in (401, 403)
    # The district's administrator reaches it; the city's committee member does not organize.
    assert (
        city.call(
            "PATCH",
            f"/api/v1/activities/{mine['id']}",
            "admin",
            json={"title": "三月邻里节（区里调整）"},
        ).status_code
        == 200
    )
    assert (
        city.call("POST", f"/api/v1/activities/{mine['id']}/publish", "committee").status_code
        == 403
    )


def test_transitions_that_are_not_allowed_get_409_naming_the_status(city):
    draft = create(city)
    aid = draft["id"]
    complete = city.call("POST", f"/api/v1/activities/{aid}/complete", "organizer")
    assert complete.status_code == 409 and "草稿" in complete.get_json()["detail"]
    assert city.call("POST", f"/api/v1/activities/{aid}/close", "organizer").status_code == 409
    cancelled = city.call(
        "POST", f"/api/v1/activities/{aid}/cancel", "organizer", json={"reason": "场地临时被占用"}
    )
    assert cancelled.get_json()["status"] == "cancelled"
    again = city.call("POST", f"/api/v1/activities/{aid}/publish", "organizer")
    assert again.status_code == 409
    assert again.get_json()["detail"] == "活动当前状态为“已取消”，不能发布"
    edit = city.call("PATCH", f"/api/v1/activities/{aid}", "organizer", json={"title": "改"})
    assert edit.status_code == 409 and "已取消" in edit.get_json()["detail"]
    no_reason = city.call(
        "POST", f"/api/v1/activities/{create(city)['id']}/cancel", "organizer", json={}
    )
    assert no_reason.status_code == 422


def test_a_published_activity_runs_its_whole_lifecycle(city):
    running = create(city, starts_at=at(-1, 1).isoformat(), ends_at=at(-1, 4).isoformat())
    aid = running["id"]
    for step, status in (("publish", "published"), ("complete", "completed"), ("close", "closed")):
        answer = city.call("POST", f"/api/v1/activities/{aid}/{step}", "organizer")
        assert answer.status_code == 200 and answer.get_json()["status"] == status, (
            answer.get_json()
        )
    assert [e.type for e in events_of(city, aid)] == [
        "activity.published",
        "activity.completed",
        "activity.closed",
    ]
    closed_edit = city.call("PATCH", f"/api/v1/activities/{aid}", "organizer", json={"title": "改"})
    assert closed_edit.status_code == 409


def test_completing_records_the_audience_the_organizer_counted(city):
    """Issue 22: 受众人次 is recorded with the completion and travels on activity.completed."""
    held = create(city, starts_at=at(-1, 1).isoformat(), ends_at=at(-1, 4).isoformat())
    aid = held["id"]
    city.call("POST", f"/api/v1/activities/{aid}/publish", "organizer")
    for bad in (-1, "很多", 10_000_001):
        refused = city.call(
            "POST", f"/api/v1/activities/{aid}/complete", "organizer", json={"audience": bad}
        )
        assert refused.status_code == 422, (bad, refused.get_json())
    done = city.call(
        "POST", f"/api/v1/activities/{aid}/complete", "organizer", json={"audience": 135}
    )
    assert done.status_code == 200 and done.get_json()["audience"] == 135
    (completed,) = [e for e in events_of(city, aid) if e.type == "activity.completed"]
    assert completed.payload["audience"] == 135
    # Without a body, as before: no audience recorded.
    other = create(city, starts_at=at(-1, 1).isoformat(), ends_at=at(-1, 4).isoformat())
    city.call("POST", f"/api/v1/activities/{other['id']}/publish", "organizer")
    plain = city.call("POST", f"/api/v1/activities/{other['id']}/complete", "organizer")
    assert plain.status_code == 200 and plain.get_json()["audience"] is None


def test_the_organizer_records_the_audience_on_the_activity_page(city):
    import re

    held = create(city, starts_at=at(-1, 1).isoformat(), ends_at=at(-1, 4).isoformat())
    city.call("POST", f"/api/v1/activities/{held['id']}/publish", "organizer")
    client = city.page_client("organizer")
    page = client.get(f"/organize/activities/{held['id']}").get_data(as_text=True)
    assert 'name="audience"' in page and "受众人次" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    path = f"/organize/activities/{held['id']}/complete"
    refused = client.post(path, data={"csrf_token": token, "audience": "很多"})
    assert "受众人次须为" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert (
        city.call("GET", f"/api/v1/activities/{held['id']}", "organizer").get_json()["status"]
        == "published"
    )
    client.post(path, data={"csrf_token": token, "audience": "88"})
    shown = city.call("GET", f"/api/v1/activities/{held['id']}", "organizer").get_json()
    assert (shown["status"], shown["audience"]) == ("completed", 88)


def test_changing_time_or_place_of_a_published_activity_says_what_changed(city):
    activity = create(city)
    city.call("POST", f"/api/v1/activities/{activity['id']}/publish", "organizer")
    moved = city.call(
        "PATCH",
        f"/api/v1/activities/{activity['id']}",
        "organizer",
        json={
            "starts_at": at(8).isoformat(),
            "ends_at": at(8, 17).isoformat(),
            "address": "社区广场",
        },
    )
    assert moved.status_code == 200
    updated = events_of(city, activity["id"])[-1]
    assert updated.type == "activity.updated"
    assert sorted(updated.payload["changes"]) == ["address", "ends_at", "starts_at"]


def test_a_shift_cannot_shrink_below_its_signups(city):
    activity = create(city)
    city.call("POST", f"/api/v1/activities/{activity['id']}/publish", "organizer")
    shift = activity["shifts"][0]
    signups = [
        catalog.make_event(
            "signup.confirmed",
            {
                "signup_id": f"s{n}-{activity['id']}",
                "volunteer_id": f"v{n}",
                "activity_id": activity["id"],
                "shift_id": shift["id"],
                "party_size": 2,
                "at": utcnow(),
            },
            producer="test",
        )
        for n in range(3)
    ]
    city.deliver(signups)
    wait_for(
        lambda: (
            city.call("GET", f"/api/v1/activities/{activity['id']}").get_json()["shifts"][0][
                "taken"
            ]
            == 6
        ),
        message="activities to learn of the sign-ups",
    )

    def resized(capacity: int):
        shifts = [{"id": shift["id"], "name": "后勤", "capacity": capacity}, activity["shifts"][1]]
        path = f"/api/v1/activities/{activity['id']}"
        return city.call("PATCH", path, "organizer", json={"shifts": shifts})

    shrink = resized(5)
    assert shrink.status_code == 409
    assert "已有 6 人报名" in shrink.get_json()["detail"]
    fine = resized(6)
    assert fine.status_code == 200 and fine.get_json()["shifts"][0]["free"] == 0


def test_a_monthly_neighbourhood_festival_is_copied_onto_new_dates(city):
    source = create(city, signup_closes_at=at(6).isoformat())
    copy = city.call(
        "POST",
        f"/api/v1/activities/{source['id']}/copy",
        "organizer",
        json={"starts_at": at(35).isoformat(), "ends_at": at(35, 17).isoformat()},
    )
    assert copy.status_code == 201
    body = copy.get_json()
    assert body["status"] == "draft" and body["id"] != source["id"]
    assert [s["name"] for s in body["shifts"]] == ["后勤", "翻译"]
    assert {s["id"] for s in body["shifts"]}.isdisjoint({s["id"] for s in source["shifts"]})
    gap = datetime.fromisoformat(body["signup_closes_at"]) - datetime.fromisoformat(
        body["starts_at"]
    )
    assert gap == timedelta(days=-1)


def test_public_lists_filter_by_unit_category_dimension_dates_and_free_places(city):
    legal = create(
        city,
        title="法律援助进社区",
        category="legal",
        dimensions=["society"],
        shifts=[{"name": "律师", "capacity": 1}],
    )
    city.call("POST", f"/api/v1/activities/{legal['id']}/publish", "organizer")
    listed = city.call("GET", "/api/v1/activities?category=legal").get_json()
    assert legal["id"] in [a["id"] for a in listed["items"]]
    assert all(a["category"] == "legal" for a in listed["items"])
    by_dimension = city.call("GET", "/api/v1/activities?dimension=economy").get_json()["items"]
    assert legal["id"] not in [a["id"] for a in by_dimension]
    elsewhere = city.call(
        "GET", f"/api/v1/activities?unit_id={city.unit('/nb/hs/').unit_id}"
    ).get_json()
    assert legal["id"] not in [a["id"] for a in elsewhere["items"]]
    city.deliver(
        [
            catalog.make_event(
                "signup.confirmed",
                {
                    "signup_id": f"full-{legal['id']}",
                    "volunteer_id": "v1",
                    "activity_id": legal["id"],
                    "shift_id": legal["shifts"][0]["id"],
                    "party_size": 1,
                    "at": utcnow(),
                },
                producer="test",
            )
        ],
    )
    wait_for(
        lambda: (
            legal["id"]
            not in [
                a["id"]
                for a in city.call(
                    "GET", "/api/v1/activities?has_free_places=true&per_page=100"
                ).get_json()["items"]
            ]
        ),
        message="the full activity to leave the list of free places",
    )
    paged = city.call("GET", "/api/v1/activities?per_page=1&page=1").get_json()
    assert len(paged["items"]) == 1 and paged["total"] >= 2
    mine = city.call("GET", "/api/v1/activities?mine=true&status=draft", "organizer").get_json()
    assert mine["items"] and all(a["status"] == "draft" for a in mine["items"])
    assert city.call("GET", "/api/v1/activities?mine=true", "13800000001").status_code == 403


def test_activity_events_reach_the_volunteers_and_ledger_projections_and_the_signups(city):
    """From part to part (in process here; tests/test_volunteering_flow.py and the browser
    journeys go through the real broker): publish → sign up → move → cancel, as volunteers and
    the ledger see it."""
    from services.ledger.models import ActivityView as LedgerActivity
    from services.volunteers.models import ActivityView

    activity = create(city, title="跨服务的邻里节")
    aid = activity["id"]
    city.call("POST", f"/api/v1/activities/{aid}/publish", "organizer")
    factory = service_context(city.apps["volunteers"]).session_factory

    def seen():
        with factory() as session:
            return session.get(ActivityView, aid)

    wait_for(seen, message="volunteers to learn of the published activity")
    ledger = service_context(city.apps["ledger"]).session_factory

    def in_ledger():
        with ledger() as session:
            return session.get(LedgerActivity, aid)

    assert wait_for(in_ledger, message="the ledger to learn of it").title == "跨服务的邻里节"
    signed = wait_for(
        lambda: (
            (
                r := city.call("POST", f"/api/v1/activities/{aid}/signups", "13800000001", json={})
            ).status_code
            == 201
            and r
        ),
        message="the sign-up to be taken",
    )
    assert signed.get_json()["status"] == "confirmed"
    wait_for(  # activities learns of the place held (signup.confirmed, back from volunteers)
        lambda: city.call("GET", f"/api/v1/activities/{aid}").get_json()["shifts"][0]["taken"] == 1,
        message="activities to count the place",
    )
    new_start = at(9)
    city.call(
        "PATCH",
        f"/api/v1/activities/{aid}",
        "organizer",
        json={
            "starts_at": new_start.isoformat(),
            "ends_at": (new_start + timedelta(hours=3)).isoformat(),
        },
    )
    wait_for(lambda: seen().starts_at == new_start, message="volunteers to see the new time")
    city.call(
        "POST",
        f"/api/v1/activities/{aid}/cancel",
        "organizer",
        json={"reason": "台风预警，活动取消"},
    )
    wait_for(lambda: seen().status == "cancelled", message="volunteers to see the cancellation")
    wait_for(lambda: in_ledger().status == "cancelled", message="the ledger to see it")
    assert in_ledger().starts_at == new_start
    mine = city.call("GET", f"/api/v1/activities/{aid}/signups/me", "13800000001").get_json()
    assert "台风预警，活动取消" in str(mine)


def test_an_organizer_names_as_co_hosts_only_units_they_act_for(city):
    elsewhere = city.unit("/nb/bl/dq/hs/")  # another street of the district
    before = activities_count(city)
    refused = city.call(
        "POST",
        "/api/v1/activities",
        "organizer",
        json=new_activity(city, co_host_unit_ids=[elsewhere.unit_id]),
    )
    assert refused.status_code == 403, refused.get_json()
    body = refused.get_json()
    assert body["type"] == "urn:shiliu:problem:co-host-out-of-scope"
    assert elsewhere.name in body["detail"]
    assert "co_host_unit_ids" in body["errors"]
    assert activities_count(city) == before

    # Their own community they may name; the city's administrator may name any unit.
    own = create(city, co_host_unit_ids=[city.unit(FC).unit_id])
    assert own["co_host_unit_ids"] == [city.unit(FC).unit_id]
    joint = create(city, "admin", co_host_unit_ids=[elsewhere.unit_id])
    path = f"/api/v1/activities/{joint['id']}"
    # The organizer may change the rest of it, but adds no co-host outside their units.
    kept = city.call("PATCH", path, "organizer", json={"title": "联合邻里节"})
    assert kept.status_code == 200, kept.get_json()
    assert kept.get_json()["co_host_unit_ids"] == [elsewhere.unit_id]
    street = city.unit("/nb/bl/xq/")
    added = city.call(
        "PATCH",
        path,
        "organizer",
        json={"co_host_unit_ids": [elsewhere.unit_id, street.unit_id]},
    )
    assert added.status_code == 403 and street.name in added.get_json()["detail"]
