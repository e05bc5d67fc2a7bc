"""Histories for the statistics recount (tests/test_statistics_recount.py), made by the source
services' own operations and committed in their own databases, as production makes them: units,
activities held, cancelled or closed, sign-ups, attendance confirmed, corrected or marked absent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from backbone import wait_for
from sqlalchemy import select

from events.envelope import utcnow
from events.store import consumed_events, outbox
from infra.registry import PARTS
from services.activities import operations as activity_ops
from services.common.app import service_context
from services.volunteers import operations as volunteer_ops
from services.volunteers.models import ActivityView

HELD = ("completed", "closed")


def factory(city, part: str):
    app = city.web if part == "web" else city.apps[part]
    return service_context(app).session_factory


def commit(city, part: str, work):
    """Run ``work(session)`` in one transaction of a part's database (its outbox included)."""
    with factory(city, part)() as session:
        result = work(session)
        session.commit()
        return result


def caught_up(city, consumer: str = "statistics") -> bool:
    """Every event the producers committed of a type the consumer (statistics unless named)
    handles has been applied."""
    handled = tuple(PARTS[consumer].handlers())
    wanted: set[str] = set()
    for part in ("activities", "volunteers", "ledger"):
        with factory(city, part)() as session:
            wanted.update(
                session.scalars(
                    select(outbox.c.event_id).where(outbox.c.event_type.in_(handled))
                ).all()
            )
    with factory(city, consumer)() as session:
        applied = set(session.scalars(select(consumed_events.c.event_id)).all())
    return wanted <= applied


def new_unit(city, name: str, kind: str, parent_id: str) -> str:
    unit_id = commit(
        city,
        "activities",
        lambda s: activity_ops.create_unit(s, name=name, kind=kind, parent_id=parent_id).id,
    )
    return unit_id


def volunteers_know(city, model, key: str) -> bool:
    with factory(city, "volunteers")() as session:
        return session.get(model, key) is not None


def hold(city, pool, host: str, spec: dict) -> str:
    """An activity of ``host`` as ``spec`` says, through the activities and volunteers services."""
    starts = (utcnow() - timedelta(days=spec["days_ago"])).replace(microsecond=0)
    organizer = city.account("organizer").id

    def create(session):
        activity = activity_ops.create_activity(
            session,
            organizer,
            {
                "host_unit_id": host,
                "title": f"重算{spec['days_ago']}",
                "category": spec["category"],
                "dimensions": spec["dimensions"],
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=3),
                "shifts": [{"name": "志愿者", "capacity": 20}],
            },
        )
        activity_ops.publish_activity(session, activity)
        return activity.id

    activity_id = commit(city, "activities", create)
    attendees = spec["attendees"]
    if attendees:
        wait_for(
            lambda: volunteers_know(city, ActivityView, activity_id),
            message="the volunteers service to learn the activity",
        )
        for index in attendees:
            commit(
                city,
                "volunteers",
                lambda s, v=pool[index]: volunteer_ops.sign_up(
                    s, activity_id, v, now=starts - timedelta(days=1)
                ),
            )
    fate = spec["fate"]
    if fate == "cancelled":
        cancel(city, activity_id)
        return activity_id
    if fate in HELD:
        commit(
            city,
            "activities",
            lambda s: activity_ops.complete_activity(
                s, activity_ops.get_activity(s, activity_id), spec["audience"]
            ),
        )
    if attendees:
        confirm(city, activity_id, organizer, {pool[i]: h for i, h in attendees.items()})
        corrections = {pool[i]: h for i, h in spec["corrections"].items() if i in attendees}
        if corrections:
            confirm(city, activity_id, organizer, corrections)
    if fate == "attended_then_cancelled":
        cancel(city, activity_id)
    if fate == "closed":
        commit(
            city,
            "activities",
            lambda s: activity_ops.close_activity(s, activity_ops.get_activity(s, activity_id)),
        )
    return activity_id


def cancel(city, activity_id: str) -> None:
    commit(
        city,
        "activities",
        lambda s: activity_ops.cancel_activity(
            s, activity_ops.get_activity(s, activity_id), "下雨"
        ),
    )


def confirm(city, activity_id: str, by: str, hours: dict) -> None:
    """The organizer's word: half-hours for those who came, None for those who did not."""
    entries = [
        {"volunteer_id": v, "hours": Decimal(h) / 2, "reason": "按签到表"}
        for v, h in hours.items()
        if h is not None
    ]
    absent = [v for v, h in hours.items() if h is None]

    def confirm(session):
        table = {
            row["volunteer_id"]: row for row in volunteer_ops.attendance_table(session, activity_id)
        }
        # A confirmed attendance cannot become a no-show: leave those as they are.
        missing = [v for v in absent if table[v]["status"] != "confirmed"]
        return volunteer_ops.confirm_attendance(
            session, activity_id, by=by, entries=entries, no_shows=missing
        )

    commit(city, "volunteers", confirm)
