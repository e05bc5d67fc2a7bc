"""What services/ledger does with each event it consumes."""

from __future__ import annotations

from events.envelope import utcnow
from services.common.db import upsert
from services.common.projections import unit_handlers
from services.ledger.models import UnitView, VolunteerView


def on_volunteer_state(session, _event, payload: dict) -> None:
    """Keep the ledger's copy of a volunteer's name, home unit and team."""
    values = {
        name: payload[name] for name in ("volunteer_id", "display_name", "home_unit_id", "team_id")
    }
    upsert(
        session, VolunteerView.__table__, {**values, "updated_at": utcnow()}, key=["volunteer_id"]
    )


HANDLERS = {
    **unit_handlers(UnitView),
    "volunteer.registered": on_volunteer_state,
    "volunteer.updated": on_volunteer_state,
}
