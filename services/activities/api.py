"""HTTP handlers of services/activities: parse, call one operation, shape the answer."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.activities import operations
from services.activities.schemas import UnitList
from services.common.app import db

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="单位树 The unit tree")


@blp.get("")
@blp.response(200, UnitList)
def list_units():
    """List every unit of the tree, in tree order."""
    units = operations.list_units(db())
    return {"items": units, "total": len(units)}
