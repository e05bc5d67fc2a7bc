"""What web does with each event it consumes: keeps its copy of the unit tree."""

from __future__ import annotations

from services.common import access
from services.common.projections import unit_handlers
from web.models import UnitView

HANDLERS = {
    **access.HANDLERS,
    **unit_handlers(UnitView),
}
