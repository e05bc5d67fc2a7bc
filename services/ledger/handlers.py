"""What services/ledger does with each event it consumes."""

from __future__ import annotations

from services.common.projections import unit_handlers
from services.ledger.models import UnitView

HANDLERS = {
    **unit_handlers(UnitView),
}
