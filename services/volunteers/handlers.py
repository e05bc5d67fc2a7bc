"""What services/volunteers does with each event it consumes."""

from __future__ import annotations

from services.common import access
from services.common.projections import unit_handlers
from services.common.states import ActivityStatus
from services.volunteers import operations
from services.volunteers.models import UnitView


def on_activity_state(session, _event, payload: dict) -> None:
    """Keep the projected activity, its window, place and shifts up to date."""
    operations.apply_activity_state(session, payload)


def _status(status: str):
    def handler(session, _event, payload: dict) -> None:
        operations.apply_activity_status(
            session, payload["activity_id"], status, payload.get("reason")
        )

    return handler


HANDLERS = {
    **access.HANDLERS,
    **unit_handlers(UnitView),
    "activity.published": on_activity_state,
    "activity.updated": on_activity_state,
    "activity.cancelled": _status(ActivityStatus.CANCELLED),
    "activity.completed": _status(ActivityStatus.COMPLETED),
    "activity.closed": _status(ActivityStatus.CLOSED),
}
