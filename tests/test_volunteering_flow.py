"""The volunteering flow across the platform: an activity published on the broker reaches
volunteers, a resident signs up and checks in through the one base URL, the organizer confirms,
and the confirmation reaches a ledger-side consumer through the real broker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from backbone import send_events, wait_for
from sqlalchemy import select
from volunteering import activity_payload

from events import catalog
from events.consumer import ConsumerRunner
from events.envelope import utcnow
from events.store import metadata as backbone_metadata
from services.common.app import service_context
from services.common.db import make_engine, make_session_factory
from services.volunteers.models import ActivityView

VOLUNTEER = "13800000001"


@pytest.fixture(scope="module")
def city_backbone() -> str:
    """This journey is about the broker: the city's parts talk through it."""
    return "broker"


def projected(city, activity_id: str, starts_at) -> bool:
    factory = service_context(city.apps["volunteers"]).session_factory
    with factory() as session:
        seen = session.scalar(select(ActivityView).where(ActivityView.activity_id == activity_id))
        return seen is not None and seen.starts_at == starts_at


def publish(city, payload: dict, event_type: str = "activity.published") -> None:
    send_events(
        city.platform.settings, [catalog.make_event(event_type, payload, producer="activities")]
    )
    wait_for(
        lambda: projected(city, payload["activity_id"], payload["starts_at"]),
        message="volunteers to learn the activity",
    )


def test_confirmed_attendance_reaches_a_consumer_through_the_broker(city, tmp_path):
    fc = city.unit("/nb/bl/xq/fc/")
    activity = activity_payload(host_unit_id=fc.unit_id, host_unit_path=fc.path)
    publish(city, activity)
    base = f"/api/v1/activities/{activity['activity_id']}"
    signed = city.call("POST", f"{base}/signups", VOLUNTEER, json={})
    assert signed.status_code == 201 and signed.get_json()["status"] == "confirmed"

    starts = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    moved = {**activity, "starts_at": starts, "ends_at": starts + timedelta(hours=2)}
    publish(city, {**moved, "changes": ["starts_at", "ends_at"]}, "activity.updated")
    shown = city.call("GET", f"{base}/checkin-code", "organizer").get_json()
    checked = city.call("POST", f"{base}/checkins", VOLUNTEER, json={"code": shown["code"]})
    assert checked.status_code == 201, checked.get_json()
    volunteer_id = checked.get_json()["volunteer_id"]
    confirmed = city.call(
        "POST",
        f"{base}/attendance/confirm",
        "organizer",
        json={"entries": [{"volunteer_id": volunteer_id, "hours": "2", "reason": "全程参加"}]},
    )
    assert confirmed.status_code == 200, confirmed.get_json()

    # A consumer in the ledger's shape, on its own database, reading the real topic.
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger-like.db'}")
    backbone_metadata.create_all(engine)
    received: list[dict] = []
    runner = ConsumerRunner(
        "ledger-like",
        {"attendance.confirmed": lambda _s, _e, payload: received.append(payload)},
        make_session_factory(engine),
        city.platform.settings,
        group_id=f"{city.platform.settings.topic_prefix}ledger-like",
    )
    try:
        wait_for(
            lambda: (
                runner.poll_once(500) >= 0
                and any(p["activity_id"] == activity["activity_id"] for p in received)
            ),
            timeout=60,
            interval=0,
            message="attendance.confirmed to reach the consumer",
        )
    finally:
        runner.close()
        engine.dispose()
    (mine,) = [p for p in received if p["activity_id"] == activity["activity_id"]]
    assert mine["volunteer_id"] == volunteer_id and str(mine["hours"]) == "2.0"
    assert mine["confirmed_by"] == city.account("organizer").id

    listed = city.call("GET", "/api/v1/volunteers/me/signups", VOLUNTEER).get_json()
    # The event carries hours as its contract says (a decimal string); the API as a number.
    assert listed["items"][0]["attendance"]["hours"] == 2.0
