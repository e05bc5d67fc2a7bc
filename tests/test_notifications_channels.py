"""Outside channels: a provider's adapter gets the volunteer's phone number from the volunteers
service at delivery time (never from a topic or the notifications tables); every attempt is
recorded, a refused one is tried again after a growing wait, five refusals make a failure, and
administrators read it all. Quiet hours hold non-urgent messages until 07:00 city time."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

from notifications_support import signed_up, told_of
from sqlalchemy import select
from test_activities import at, create
from test_notifications_flow import resident

from events.settings import city_zone
from services.common.app import service_context
from services.notifications import channels
from services.notifications.models import Delivery
from services.notifications.scheduler import Scheduler
from services.notifications.telling import quiet_end, tell


class Provider:
    """A stand-in for an SMS provider (outside this machine): refuses the first ``refusals``."""

    channel, needs_phone = "sms", True

    def __init__(self, refusals: int):
        self.refusals = refusals
        self.sent: list[tuple[str, str | None, str]] = []

    def send(self, recipient_id: str, phone: str | None, text: str) -> None:
        if self.refusals:
            self.refusals -= 1
            raise ConnectionError("短信网关繁忙")
        self.sent.append((recipient_id, phone, text))


class _Answer:
    def __init__(self, answer):
        self.status_code, self._answer = answer.status_code, answer

    def json(self):
        return self._answer.get_json()

    def raise_for_status(self):
        assert self.status_code < 400, self._answer.get_data(as_text=True)


class _ThroughTheBaseUrl:
    """The HTTP a PhoneBook sends, to the city's one base URL (its in-process gateway)."""

    def __init__(self, client):
        self.client = client

    def get(self, url, headers, timeout):
        return _Answer(self.client.get(urlsplit(url).path, headers=headers))


def _cancelled_for(city, phone: str) -> tuple[str, dict]:
    """An activity the volunteer signed up for, then called off: an urgent outside message."""
    made = create(
        city, starts_at=at(4).isoformat(), ends_at=at(4, 17).isoformat(), title="渠道测试"
    )
    assert (
        city.call("POST", f"/api/v1/activities/{made['id']}/publish", "organizer").status_code
        == 200
    )
    signed_up(city, phone, made["id"])
    called_off = city.call(
        "POST", f"/api/v1/activities/{made['id']}/cancel", "organizer", json={"reason": "台风预警"}
    )
    assert called_off.status_code == 200, called_off.get_json()
    (told,) = told_of(city, phone, "activity_cancelled", f"/activities/{made['id']}")
    return made["id"], told


def _delivery(factory, notification_id: str) -> Delivery:
    with factory() as session:
        return session.scalar(select(Delivery).where(Delivery.notification_id == notification_id))


def test_a_provider_gets_the_phone_at_delivery_time_and_refusals_are_retried_then_shown(city):
    phone = resident(city, "13900000201")
    _activity, told = _cancelled_for(city, phone)
    notifications = service_context(city.apps["notifications"])
    factory = notifications.session_factory
    provider = Provider(refusals=2)
    phones = channels.PhoneBook(notifications.settings, _ThroughTheBaseUrl(city.client))
    scheduler = Scheduler(factory, notifications.settings, adapter=provider, phones=phones)
    start = _delivery(factory, told["id"]).next_attempt_at  # urgent: due at once, day or night

    assert scheduler.tick(start)[1] == 0
    first = _delivery(factory, told["id"])
    assert (first.state, first.attempts, first.channel) == ("pending", 1, "sms")
    assert "短信网关繁忙" in first.last_error and "台风预警" in first.text
    assert first.next_attempt_at == start + timedelta(seconds=30)
    assert scheduler.tick(start + timedelta(seconds=29))[1] == 0  # not yet
    assert _delivery(factory, told["id"]).attempts == 1
    assert scheduler.tick(start + timedelta(seconds=30))[1] == 0
    assert _delivery(factory, told["id"]).next_attempt_at == start + timedelta(seconds=90)
    assert scheduler.tick(start + timedelta(seconds=90))[1] == 1
    assert provider.sent == [(city.account(phone).id, phone, told["text"])]
    assert scheduler.tick(start + timedelta(hours=1))[1] == 0  # sent once

    shown = city.call("GET", "/api/v1/notifications/deliveries", "admin").get_json()["items"]
    (mine,) = [d for d in shown if d["id"] == first.id]
    assert (mine["state"], mine["attempts"], mine["kind"]) == ("sent", 3, "activity_cancelled")
    assert [t["ok"] for t in mine["tries"]] == [False, False, True]
    assert mine["recipient_name"] == "居民0201" and phone not in str(mine)
    assert city.call("GET", "/api/v1/notifications/deliveries", phone).status_code == 403
    failed = city.call("GET", "/api/v1/notifications/deliveries?state=failed", "admin").get_json()
    assert first.id not in {d["id"] for d in failed["items"]}
    assert (
        city.call("GET", "/api/v1/notifications/deliveries?state=nope", "admin").status_code == 422
    )


def test_five_refusals_make_a_failure_with_its_last_error(city):
    phone = resident(city, "13900000202")
    _activity, told = _cancelled_for(city, phone)
    notifications = service_context(city.apps["notifications"])
    factory = notifications.session_factory
    phones = channels.PhoneBook(notifications.settings, _ThroughTheBaseUrl(city.client))
    scheduler = Scheduler(factory, notifications.settings, adapter=Provider(99), phones=phones)
    moment = _delivery(factory, told["id"]).next_attempt_at
    for _ in range(channels.MAX_ATTEMPTS):
        scheduler.tick(moment)
        moment = max(moment, _delivery(factory, told["id"]).next_attempt_at)
    gave_up = _delivery(factory, told["id"])
    assert (gave_up.state, gave_up.attempts) == ("failed", channels.MAX_ATTEMPTS)
    assert "短信网关繁忙" in gave_up.last_error
    scheduler.tick(moment + timedelta(days=1))
    assert _delivery(factory, told["id"]).attempts == channels.MAX_ATTEMPTS  # no sixth try
    failed = city.call("GET", "/api/v1/notifications/deliveries?state=failed", "admin").get_json()
    assert gave_up.id in {d["id"] for d in failed["items"]}


def test_quiet_hours_hold_what_is_not_urgent_until_seven_in_the_morning(city):
    zone = city_zone()
    late = datetime.combine(datetime.now(zone).date(), time(23, 10), zone)
    early = late + timedelta(hours=5)  # 04:10 the next day
    seven = datetime.combine(late.date() + timedelta(days=1), time(7, 0), zone)
    assert quiet_end(late) == seven and quiet_end(early) == seven
    assert quiet_end(seven) == seven and quiet_end(late - timedelta(hours=2)) == late - timedelta(
        hours=2
    )
    factory = service_context(city.apps["notifications"]).session_factory
    with factory() as session, session.begin():
        star = tell(
            session,
            "quiet-1",
            "star_reached",
            "t:1",
            link="/me",
            values={"stars": 1, "hours": 100},
            now=late,
        )
        urgent = tell(session, "quiet-1", "signup_promoted", "t:2", link="/activities/x", now=late)
        inbox_only = tell(session, "quiet-1", "hours_confirmed", "t:3", link="/points", now=late)
        again = tell(session, "quiet-1", "star_reached", "t:1", link="/me", now=late)
        ids = star, urgent, inbox_only
    assert again is None  # the same thing told twice is there once
    assert _delivery(factory, ids[0]).next_attempt_at == seven
    assert _delivery(factory, ids[1]).next_attempt_at == late
    assert _delivery(factory, ids[2]) is None  # the inbox only
