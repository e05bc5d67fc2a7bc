"""Notifications through the real broker: every kind of message is told exactly once for its
event — when each event is delivered twice, when two workers share the topics, when the consumer
is killed between its database commit and its offsets — and reminders are sent once, at their
local time (the time is given to the scheduler), never for a cancelled activity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from backbone import send_events, wait_for
from databases import migrate
from notifications_support import every_kind, inbox
from sqlalchemy import func, select

from events import catalog
from events.consumer import ConsumerRunner
from events.envelope import utcnow
from events.settings import city_zone
from events.store import consumed_events
from infra.registry import PARTS
from services.common.app import ServiceContext
from services.notifications.models import Notification, Reminder
from services.notifications.scheduler import Scheduler
from services.notifications.telling import message

TESTS = Path(__file__).parent
PART = PARTS["notifications"]


@pytest.fixture
def notifications(settings):
    migrate("notifications", settings.database_url("notifications"))
    ctx = ServiceContext.create("notifications", settings)
    yield ctx
    ctx.engine.dispose()


def applied(ctx) -> int:
    with ctx.session_factory() as session:
        return session.scalar(select(func.count()).select_from(consumed_events))


def running(ctx, workers: int = 1):
    """Start consumers of the notifications group; return them and the event that stops them."""
    stop = threading.Event()
    runners = [
        ConsumerRunner(
            "notifications",
            PART.handlers(),
            ctx.session_factory,
            ctx.settings,
            group_id=PART.group_id(ctx.settings),
        )
        for _ in range(workers)
    ]
    for runner in runners:
        threading.Thread(target=runner.run, args=(stop,), daemon=True).start()
    return runners, stop


def feed(ctx, phases, copies: int = 1) -> int:
    """Send the phases (each event ``copies`` times) one after the other, each once the one
    before is applied; return how many events there are."""
    sent, before = 0, applied(ctx)
    for phase in phases:
        send_events(ctx.settings, phase * copies)
        sent += len(phase)
        wait_for(lambda n=before + sent: applied(ctx) >= n, timeout=60, message=f"{sent} applied")
    return sent


def duplicates(runners) -> int:
    return sum(runner.counts["duplicate"] for runner in runners)


def test_each_kind_is_told_once_even_when_every_event_is_delivered_twice(notifications):
    phases, expected = every_kind()
    runners, stop = running(notifications)
    try:
        total = feed(notifications, phases)
        send_events(notifications.settings, [e for phase in phases for e in phase])
        wait_for(lambda: duplicates(runners) >= total, timeout=60, message="the second copies")
    finally:
        stop.set()
    assert inbox(notifications.session_factory) == expected
    with notifications.session_factory() as session:
        promoted = session.scalar(
            select(Notification).where(Notification.kind == "signup_promoted")
        )
    assert promoted.link == "/activities/a-1" and promoted.urgent


def test_two_workers_tell_each_kind_once(notifications):
    phases, expected = every_kind()
    runners, stop = running(notifications, workers=2)
    try:
        wait_for(lambda: all(r.assignment() for r in runners), timeout=60, message="two members")
        total = feed(notifications, phases, copies=2)
        wait_for(lambda: duplicates(runners) >= total, timeout=60, message="the second copies")
        assert applied(notifications) == total
    finally:
        stop.set()
    assert inbox(notifications.session_factory) == expected


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_a_consumer_killed_after_its_commit_and_before_its_offsets_tells_no_one_twice(
    notifications,
):
    phases, expected = every_kind()
    settings = notifications.settings
    env = {
        **os.environ,
        "PYTHONPATH": f"{TESTS}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "SHILIU_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SHILIU_TOPIC_PREFIX": settings.topic_prefix,
        "SHILIU_NOTIFICATIONS_DATABASE_URL": settings.database_url("notifications"),
        "SHILIU_KAFKA_SESSION_TIMEOUT_MS": "1500",
        "SHILIU_KAFKA_HEARTBEAT_INTERVAL_MS": "300",
    }
    sent, again = 0, 0
    for phase in phases:
        send_events(settings, phase)
        sent += len(phase)
        script = [sys.executable, str(TESTS / "crash_part.py"), "notifications", str(sent), "4"]
        if len(phase) > 4:  # killed after the first poll's transaction, before its offsets
            crashed = subprocess.run(
                script,
                env={**env, "SHILIU_FAULT": "after_db_commit:1"},
                capture_output=True,
                timeout=120,
            )
            assert crashed.returncode == -9, crashed.stderr.decode()[-2000:]
        resumed = subprocess.run(script, env=env, capture_output=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
        again += json.loads(resumed.stdout.decode().strip().splitlines()[-1]).get("duplicate", 0)
    assert again > 0  # what the killed consumer had applied was delivered again...
    assert inbox(notifications.session_factory) == expected  # ...and told no one twice


def test_sign_ups_read_before_their_activity_are_reminded_and_fill_their_shift(notifications):
    """The sign-ups topic may be read before the activities topic: once the activity arrives, the
    early sign-ups get their reminders and the organizer hears that the shift is full."""
    phases, _expected = every_kind()
    published = phases[0][0]  # a-1: one place
    early = [
        e for e in phases[1] if e.type == "signup.confirmed" and e.payload["signup_id"] == "s-1"
    ]
    runners, stop = running(notifications)
    try:
        feed(notifications, [early, [published]])
    finally:
        stop.set()
    told = inbox(notifications.session_factory)
    assert told[("acc-org", "shift_full")] == 1
    with notifications.session_factory() as session:
        planned = session.scalars(
            select(Reminder.kind).where(Reminder.signup_id == "s-1", Reminder.state == "pending")
        ).all()
    assert sorted(planned) == ["reminder_day_before", "reminder_two_hours"]


def _local(day_offset: int, at: time) -> datetime:
    today = utcnow().astimezone(city_zone()).date()
    return datetime.combine(today + timedelta(days=day_offset), at, tzinfo=city_zone())


def _tick_together(ctx, now: datetime, workers: int = 2) -> None:
    """Two schedulers (two workers of the service) tick at the same moment."""
    barrier = threading.Barrier(workers)
    errors: list = []

    def one():
        scheduler = Scheduler(ctx.session_factory, ctx.settings)
        barrier.wait()
        try:
            scheduler.tick(now)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def _reminders(ctx) -> list[tuple[str, str]]:
    with ctx.session_factory() as session:
        rows = session.execute(
            select(Notification.recipient_id, Notification.kind)
            .where(Notification.kind.like("reminder_%"))
            .order_by(Notification.created_at, Notification.recipient_id)
        ).all()
    return [tuple(row) for row in rows]


def test_reminders_go_once_at_their_local_time_and_never_for_a_cancelled_activity(notifications):
    starts = _local(3, time(9, 30))  # three days from now, 09:30 city time
    activity = dict(catalog.get("activity.published").example)
    make = lambda name, **p: catalog.make_event(name, p, producer="test")  # noqa: E731
    kept = {
        **activity,
        "activity_id": "r-1",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=2),
    }
    called_off = {**kept, "activity_id": "r-2"}
    signup = {"shift_id": "s-1", "at": utcnow()}
    runners, stop = running(notifications)
    try:
        feed(
            notifications,
            [
                [make("activity.published", **kept), make("activity.published", **called_off)],
                [
                    make(
                        "signup.confirmed",
                        signup_id="x-1",
                        volunteer_id="v-1",
                        activity_id="r-1",
                        **signup,
                    ),
                    make(
                        "signup.waitlisted",
                        signup_id="x-2",
                        volunteer_id="v-2",
                        activity_id="r-1",
                        waitlist_position=1,
                        **signup,
                    ),
                    make(
                        "signup.confirmed",
                        signup_id="x-3",
                        volunteer_id="v-3",
                        activity_id="r-2",
                        **signup,
                    ),
                ],
                [
                    make(
                        "activity.cancelled",
                        activity_id="r-2",
                        reason="场地维修",
                        cancelled_at=utcnow(),
                    )
                ],
            ],
        )
        evening = _local(2, time(18, 0))  # the day before, 18:00 city time
        _tick_together(notifications, evening - timedelta(minutes=1))
        assert _reminders(notifications) == []
        _tick_together(notifications, evening)
        assert _reminders(notifications) == [("v-1", "reminder_day_before")]
        _tick_together(notifications, starts - timedelta(hours=2, minutes=1))
        assert len(_reminders(notifications)) == 1
        _tick_together(notifications, starts - timedelta(hours=2))
        assert _reminders(notifications) == [
            ("v-1", "reminder_day_before"),
            ("v-1", "reminder_two_hours"),
        ]
        # The activity moves a day later: the reminders are due again, at the new time, and the
        # message tells the new time.
        later = {
            **kept,
            "starts_at": starts + timedelta(days=1),
            "ends_at": starts + timedelta(days=1, hours=2),
            "changes": ["starts_at"],
        }
        feed(notifications, [[make("activity.updated", **later)]])
        with notifications.session_factory() as session:
            due = dict(
                session.execute(
                    select(Reminder.kind, Reminder.due_at).where(Reminder.state == "pending")
                ).all()
            )
        assert due == {
            "reminder_day_before": evening + timedelta(days=1),
            "reminder_two_hours": starts + timedelta(days=1) - timedelta(hours=2),
        }
        _tick_together(notifications, evening + timedelta(days=1))
        assert len(_reminders(notifications)) == 3
    finally:
        stop.set()
    with notifications.session_factory() as session:
        last = session.scalars(
            select(Notification)
            .where(Notification.kind == "reminder_day_before")
            .order_by(Notification.created_at.desc())
        ).first()
        told_v3 = session.scalars(
            select(Notification.kind).where(Notification.recipient_id == "v-3")
        ).all()
        assert (starts + timedelta(days=1)).astimezone(city_zone()).strftime(
            "%Y-%m-%d %H:%M"
        ) in str(message(session, last))
    assert sorted(told_v3) == ["activity_cancelled", "signup_confirmed"]  # and never reminded
