"""What services/ledger does with each event it consumes."""

from __future__ import annotations

from sqlalchemy import update

from events.consumer import batched
from events.envelope import utcnow
from services.common import access
from services.common.db import upsert
from services.common.projections import unit_handlers
from services.common.states import ActivityStatus
from services.ledger import operations
from services.ledger.models import ActivitySummary, ActivityView, UnitView, VolunteerView


def on_volunteer_state(session, _event, payload: dict) -> None:
    """Keep the ledger's copy of a volunteer's name, home unit and team; their standings totals
    follow them to a new unit or team."""
    values = {
        name: payload[name] for name in ("volunteer_id", "display_name", "home_unit_id", "team_id")
    }
    upsert(
        session, VolunteerView.__table__, {**values, "updated_at": utcnow()}, key=["volunteer_id"]
    )
    operations.follow_volunteer(
        session, values["volunteer_id"], values["home_unit_id"], values["team_id"]
    )


def on_activity_state(session, _event, payload: dict) -> None:
    """Keep the ledger's copy of an activity's title, host and dimensions."""
    values = {
        "activity_id": payload["activity_id"],
        "title": payload["title"][:200],
        "category": payload["category"][:64],
        "dimensions": ",".join(payload["dimensions"])[:200],
        "host_unit_path": payload["host_unit_path"],
        "starts_at": payload["starts_at"],
        "status": ActivityStatus.PUBLISHED,
        "updated_at": utcnow(),
    }
    upsert(session, ActivityView.__table__, values, key=["activity_id"])


def _activity_became(status: str):
    def handler(session, _event, payload: dict) -> None:
        """Follow the activity's lifecycle (cancelled ones count for nothing in awards)."""
        session.execute(
            update(ActivityView)
            .where(ActivityView.activity_id == payload["activity_id"])
            .values(status=status, updated_at=utcnow())
        )

    return handler


on_attendance = batched(operations.apply_attendance)
"""Confirmed hours earn points by the rule in force; a correction reverses the award and writes
a new one; a no-show after a confirmed sign-up costs points. A poll's attendance events are
applied together (``operations.apply_attendance``)."""


def on_attendance_summarized(session, _event, payload: dict) -> None:
    """Keep an activity's attendance aggregate (for reports and award criteria)."""
    values = {
        name: payload[name]
        for name in ("activity_id", "attendees", "distinct_groups", "cross_group", "confirmed_at")
    }
    upsert(session, ActivitySummary.__table__, values, key=["activity_id"])


HANDLERS = {
    **access.HANDLERS,
    **unit_handlers(UnitView),
    "volunteer.registered": on_volunteer_state,
    "volunteer.updated": on_volunteer_state,
    "activity.published": on_activity_state,
    "activity.updated": on_activity_state,
    "activity.cancelled": _activity_became(ActivityStatus.CANCELLED),
    "activity.completed": _activity_became(ActivityStatus.COMPLETED),
    "activity.closed": _activity_became(ActivityStatus.CLOSED),
    "attendance.confirmed": on_attendance,
    "attendance.corrected": on_attendance,
    "attendance.no_show": on_attendance,
    "attendance.summarized": on_attendance_summarized,
}
