"""What services/statistics does with each event it consumes: keep the facts reports count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update

from events.consumer import batched
from events.envelope import utcnow
from events.settings import city_zone
from services.common import access
from services.common.db import upsert, upsert_many
from services.common.projections import apply_unit_state
from services.common.states import ActivityStatus
from services.statistics import presence
from services.statistics.models import (
    ActivityDimension,
    ActivityFact,
    ActivityGroups,
    AttendanceFact,
    AwardFact,
    UnitView,
    VolunteerFact,
)


def _local_day(moment: datetime):
    return moment.astimezone(city_zone()).date()


def recount(session, activity_ids) -> None:
    """Count the activities' attendance again from the attendance facts (their 人次, half-hours
    and no-shows), so that a report reads one row per activity."""
    ids = sorted(set(activity_ids))
    if not ids:
        return
    facts = select().where(AttendanceFact.activity_id == ActivityFact.activity_id)
    confirmed = AttendanceFact.status == "confirmed"
    session.execute(
        update(ActivityFact)
        .where(ActivityFact.activity_id.in_(ids))
        .values(
            attendances=facts.add_columns(func.count()).where(confirmed).scalar_subquery(),
            hours_halves=facts.add_columns(
                func.coalesce(func.sum(AttendanceFact.hours_halves), 0)
            ).scalar_subquery(),
            no_shows=facts.add_columns(func.count()).where(~confirmed).scalar_subquery(),
        )
    )


def _held_at(session, where) -> list[str]:
    return list(
        session.scalars(select(ActivityFact.activity_id).where(ActivityFact.held.is_(True), where))
    )


def on_unit_state(session, _event, payload: dict) -> None:
    """Keep the tree; a unit moved takes its activities' paths with it (reports roll up by the
    tree as it is now)."""
    before = session.get(UnitView, payload["unit_id"])
    moved = before is not None and before.path != payload["path"]
    apply_unit_state(session, UnitView, payload)
    if not moved:
        return
    mine = ActivityFact.host_unit_id == payload["unit_id"]
    session.execute(update(ActivityFact).where(mine).values(host_path=payload["path"]))
    presence.rebuild(session, presence.attendees(session, _held_at(session, mine)))


def on_activity_state(session, _event, payload: dict) -> None:
    """An activity published or changed: where, when and what."""
    unit = session.get(UnitView, payload["host_unit_id"])
    day = _local_day(payload["starts_at"])
    values = {
        "title": payload["title"][:200],
        "host_unit_id": payload["host_unit_id"],
        "host_path": unit.path if unit else payload["host_unit_path"],
        "category": payload["category"][:64],
        "dimensions": ",".join(payload["dimensions"])[:200],
        "day": day,
        "month": day.strftime("%Y-%m"),
        "updated_at": utcnow(),
    }
    found = session.get(ActivityFact, payload["activity_id"])
    if found is None:
        session.add(
            ActivityFact(
                activity_id=payload["activity_id"],
                status=ActivityStatus.PUBLISHED,
                held=False,
                audience=None,
                **values,
            )
        )
        session.flush()
        recount(session, [payload["activity_id"]])  # its attendance may have come first
    else:
        counted = ("host_path", "day", "category", "dimensions")
        changed = any(getattr(found, name) != values[name] for name in counted)
        for name, value in values.items():
            setattr(found, name, value)
        if found.held and changed:
            session.flush()
            presence.rebuild(session, presence.attendees(session, [found.activity_id]))
    session.execute(
        delete(ActivityDimension).where(ActivityDimension.activity_id == payload["activity_id"])
    )
    session.add_all(
        ActivityDimension(activity_id=payload["activity_id"], dimension=d)
        for d in dict.fromkeys(payload["dimensions"])
    )


def _lifecycle(status: str, held: bool | None):
    def handler(session, _event, payload: dict) -> None:
        """Follow the activity's lifecycle: completed activities are the ones held (场次)."""
        found = session.get(ActivityFact, payload["activity_id"])
        if found is None:
            return
        was_held = found.held
        found.status, found.updated_at = status, utcnow()
        if held is not None:
            found.held = held
        if status == ActivityStatus.COMPLETED and "audience" in payload:
            found.audience = payload["audience"]
        session.flush()
        if found.held and not was_held:
            presence.add(session, [found.activity_id])
        elif was_held and not found.held:
            presence.rebuild(session, presence.attendees(session, [found.activity_id]))

    return handler


STATUS_OF = {
    "attendance.confirmed": "confirmed",
    "attendance.corrected": "confirmed",
    "attendance.no_show": "no_show",
}


def apply_attendance(session, items: list) -> None:
    """Volunteers' attendance at activities, as each one's latest word says: a run of
    consecutive attendance events in one statement (the last word on a volunteer at an activity
    wins, as applying them one by one would)."""
    rows: dict[tuple[str, str], dict] = {}
    now = utcnow()
    for event, payload in items:
        status = STATUS_OF[event.type]
        key = (payload["activity_id"], payload["volunteer_id"])
        rows.pop(key, None)  # keep the poll's order: the last word goes last
        rows[key] = {
            "activity_id": payload["activity_id"],
            "volunteer_id": payload["volunteer_id"],
            "status": status,
            "hours_halves": int(payload["hours"] * 2) if status == "confirmed" else 0,
            "updated_at": now,
        }
    absent = [row for row in rows.values() if row["status"] == "no_show"]
    came = {row["activity_id"] for row in rows.values() if row["status"] == "confirmed"}
    taken_away = _were_confirmed(session, absent)
    upsert_many(
        session, AttendanceFact.__table__, list(rows.values()), key=["activity_id", "volunteer_id"]
    )
    recount(session, {activity_id for activity_id, _ in rows})
    presence.add(session, came)
    presence.rebuild(session, taken_away)


def _were_confirmed(session, rows: list[dict]) -> set[str]:
    """The volunteers of these rows whose attendance was confirmed until now."""
    if not rows:
        return set()
    wanted = {(row["activity_id"], row["volunteer_id"]) for row in rows}
    found = session.execute(
        select(AttendanceFact.activity_id, AttendanceFact.volunteer_id).where(
            AttendanceFact.status == "confirmed",
            AttendanceFact.activity_id.in_(sorted({a for a, _ in wanted})),
            AttendanceFact.volunteer_id.in_(sorted({v for _, v in wanted})),
        )
    )
    return {volunteer for activity, volunteer in found if (activity, volunteer) in wanted}


on_attendance = batched(apply_attendance)


def on_summarized(session, _event, payload: dict) -> None:
    """The number of groups among the activity's consenting attendees (or null: fewer than 5)."""
    upsert(
        session,
        ActivityGroups.__table__,
        {"activity_id": payload["activity_id"], "distinct_groups": payload.get("distinct_groups")},
        key=["activity_id"],
    )


def on_volunteer_registered(session, event, payload: dict) -> None:
    """A new volunteer of a unit, on the day they registered."""
    day = _local_day(datetime.fromisoformat(event.occurred_at))
    upsert(
        session,
        VolunteerFact.__table__,
        {
            "volunteer_id": payload["volunteer_id"],
            "home_unit_id": payload["home_unit_id"],
            "registered_on": day,
            "month": day.strftime("%Y-%m"),
        },
        key=["volunteer_id"],
    )


def on_volunteer_updated(session, _event, payload: dict) -> None:
    """A volunteer moved to another unit is counted there."""
    session.execute(
        update(VolunteerFact)
        .where(VolunteerFact.volunteer_id == payload["volunteer_id"])
        .values(home_unit_id=payload["home_unit_id"])
    )


def on_award_published(session, _event, payload: dict) -> None:
    """Each winner of a published cycle, at the cycle's unit."""
    day = _local_day(payload["published_at"])
    for winner in payload["winners"]:
        upsert(
            session,
            AwardFact.__table__,
            {
                "cycle_id": payload["cycle_id"],
                "volunteer_id": winner["volunteer_id"],
                "unit_id": payload["unit_id"],
                "awarded_on": day,
                "month": day.strftime("%Y-%m"),
                "revoked": False,
            },
            key=["cycle_id", "volunteer_id"],
        )


def on_award_revoked(session, _event, payload: dict) -> None:
    """A revoked award no longer counts."""
    session.execute(
        update(AwardFact)
        .where(
            AwardFact.cycle_id == payload["cycle_id"],
            AwardFact.volunteer_id == payload["volunteer_id"],
        )
        .values(revoked=True)
    )


HANDLERS = {
    **access.HANDLERS,
    "unit.created": on_unit_state,
    "unit.updated": on_unit_state,
    "activity.published": on_activity_state,
    "activity.updated": on_activity_state,
    "activity.cancelled": _lifecycle(ActivityStatus.CANCELLED, False),
    "activity.completed": _lifecycle(ActivityStatus.COMPLETED, True),
    "activity.closed": _lifecycle(ActivityStatus.CLOSED, None),
    "attendance.confirmed": on_attendance,
    "attendance.corrected": on_attendance,
    "attendance.no_show": on_attendance,
    "attendance.summarized": on_summarized,
    "volunteer.registered": on_volunteer_registered,
    "volunteer.updated": on_volunteer_updated,
    "award.published": on_award_published,
    "award.revoked": on_award_revoked,
}
