"""Events that tell someone something of every kind, in the phases a real history has (what is
learnt first, then what happens, then what changes), and the inbox they must leave."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from events import catalog
from events.envelope import utcnow
from services.notifications.models import Notification

ORGANIZER, V1, V2 = "acc-org", "v-1", "v-2"
COMMITTEE, OBJECTOR = ("m-1", "m-2"), "r-1"


def _event(name: str, producer: str, **payload):
    return catalog.make_event(name, payload, producer=producer)


def _activity(activity_id: str, starts_in: timedelta, capacity: int, **extra) -> dict:
    starts = utcnow() + starts_in
    return {
        "activity_id": activity_id,
        "title": f"活动 {activity_id}",
        "category": "festival",
        "dimensions": ["culture"],
        "host_unit_id": "u-fc",
        "host_unit_path": "/nb/fc/",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=3),
        "shifts": [{"shift_id": f"{activity_id}-s", "name": "默认岗位", "capacity": capacity}],
        "address": "富春社区文化家园",
        "organizer_id": ORGANIZER,
        **extra,
    }


def _signup(name: str, signup_id: str, volunteer_id: str, activity_id: str, **extra):
    return _event(
        name,
        "volunteers",
        signup_id=signup_id,
        volunteer_id=volunteer_id,
        activity_id=activity_id,
        shift_id=f"{activity_id}-s",
        at=utcnow(),
        **extra,
    )


def every_kind() -> tuple[list[list], Counter]:
    """Three phases of events, and the messages they must leave: (recipient, kind) → count."""
    a1 = _activity("a-1", timedelta(days=3), capacity=1)
    learnt = [
        _event("activity.published", "activities", **a1),
        _event("activity.published", "activities", **_activity("a-2", timedelta(hours=10), 5)),
        _event("activity.published", "activities", **_activity("a-3", timedelta(days=2), 5)),
        _event("activity.published", "activities", **_activity("a-0", -timedelta(hours=2), 5)),
        _event(
            "volunteer.registered",
            "volunteers",
            volunteer_id=V1,
            display_name="阿依古丽",
            home_unit_id="u-fc",
        ),
        _event(
            "volunteer.registered",
            "volunteers",
            volunteer_id=V2,
            display_name="李明",
            home_unit_id="u-fc",
        ),
        _event(
            "award.cycle_opened",
            "ledger",
            cycle_id="c-1",
            title="2026年度 民族团结之星",
            unit_id="u-bl",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 12, 31),
            committee_member_ids=list(COMMITTEE),
        ),
    ]
    happened = [
        _signup("signup.confirmed", "s-1", V1, "a-1"),
        _signup("signup.waitlisted", "s-2", V2, "a-1", waitlist_position=1),
        _signup("signup.cancelled", "s-1", V1, "a-1", cancelled_by=V1),
        _signup("signup.promoted", "s-2", V2, "a-1"),
        _signup("signup.confirmed", "s-3", V1, "a-2"),
        _signup("signup.cancelled", "s-3", V1, "a-2", cancelled_by=V1),  # 10 h before: late
        _signup("signup.confirmed", "s-4", V2, "a-2"),
        _signup("signup.cancelled", "s-4", V2, "a-2", cancelled_by=ORGANIZER, reason="重复报名"),
        _signup("signup.confirmed", "s-5", V1, "a-3"),
        _signup("signup.confirmed", "s-6", V2, "a-0"),  # typed in after the start: no message
        _event(
            "points.awarded",
            "ledger",
            entry_id="e-1",
            volunteer_id=V1,
            points=1000,
            reason_code="attendance",
            activity_id="a-9",
            hours=Decimal("100.0"),
        ),
        _event(
            "points.adjusted",
            "ledger",
            entry_id="e-2",
            volunteer_id=V1,
            points=20,
            reason_code="manual",
            requested_by="acc-1",
            approved_by="acc-2",
        ),
        _event(
            "award.candidates_listed",
            "ledger",
            cycle_id="c-1",
            candidates=[{"candidate_id": "cd-1", "volunteer_id": V2, "rank": 1, "points": 9}],
        ),
        _event(
            "award.tie_found", "ledger", cycle_id="c-1", candidate_ids=["cd-1", "cd-2"], places=1
        ),
        _event(
            "award.objection_lodged",
            "ledger",
            cycle_id="c-1",
            objection_id="o-1",
            lodged_at=utcnow(),
        ),
        _event(
            "award.objection_decided",
            "ledger",
            cycle_id="c-1",
            objection_id="o-1",
            objector_id=OBJECTOR,
            decision="dismissed",
            decided_at=utcnow(),
        ),
        _event(
            "award.published",
            "ledger",
            cycle_id="c-1",
            unit_id="u-bl",
            year=2026,
            winners=[{"volunteer_id": V2, "certificate_code": "SL-2026-AAAAAA"}],
            published_at=utcnow(),
        ),
    ]
    moved = {
        **a1,
        "starts_at": a1["starts_at"] + timedelta(hours=1),
        "ends_at": a1["ends_at"] + timedelta(hours=1),
        "changes": ["starts_at", "ends_at"],
    }
    changed = [
        _event("activity.updated", "activities", **moved),
        _event(
            "activity.cancelled",
            "activities",
            activity_id="a-3",
            reason="暴雨预警",
            cancelled_at=utcnow(),
        ),
    ]
    expected = Counter(
        {
            (V1, "signup_confirmed"): 3,
            (ORGANIZER, "shift_full"): 2,  # s-1 filled the one place, then s-2 took it
            (V2, "signup_waitlisted"): 1,
            (V2, "signup_promoted"): 1,
            (ORGANIZER, "late_cancellation"): 1,
            (V2, "signup_confirmed"): 1,
            (V2, "signup_removed"): 1,
            (V1, "hours_confirmed"): 1,
            (V1, "star_reached"): 1,
            (V1, "adjustment_approved"): 1,
            **{(m, "votes_waiting"): 1 for m in COMMITTEE},
            **{(m, "tie_to_decide"): 1 for m in COMMITTEE},
            **{(m, "objection_to_decide"): 1 for m in COMMITTEE},
            (OBJECTOR, "objection_decided"): 1,
            (V2, "award_won"): 1,
            (V2, "activity_changed"): 1,  # s-2 holds a-1's place; s-1 was cancelled
            (V1, "activity_cancelled"): 1,
        }
    )
    return [learnt, happened, changed], expected


def inbox(session_factory) -> Counter:
    """Every message there is: (recipient, kind) → count."""
    with session_factory() as session:
        rows = session.execute(select(Notification.recipient_id, Notification.kind)).all()
    return Counter((recipient, kind) for recipient, kind in rows)


def signed_up(city, username: str, activity_id: str) -> dict:
    """Sign an account up for an activity once the volunteers service knows it (it learns of a
    published activity by event, so the first tries may be refused); the sign-up."""
    from backbone import wait_for

    path = f"/api/v1/activities/{activity_id}/signups"
    answer = wait_for(
        lambda: (a := city.call("POST", path, username, json={})).status_code == 201 and a,
        message="the volunteers service to know the activity",
    )
    return answer.get_json()


def told_of(city, username: str, kind: str, link: str | None = None) -> list[dict]:
    """The messages of a kind in an account's inbox (through the API), once there is one."""
    from backbone import wait_for

    def found():
        answer = city.call("GET", "/api/v1/notifications?per_page=200", username)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return [
            item
            for item in answer.get_json()["items"]
            if item["kind"] == kind and (link is None or item["link"] == link)
        ]

    return wait_for(found, timeout=30, message=f"{username} to be told {kind}")
