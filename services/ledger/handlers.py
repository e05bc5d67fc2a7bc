"""What services/ledger does with each event it consumes."""

from __future__ import annotations

from services.ledger.models import UnitView
from services.common.projections import unit_handlers

HANDLERS = {
    **unit_handlers(UnitView),
}
