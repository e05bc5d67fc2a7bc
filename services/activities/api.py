"""HTTP handlers of services/activities: parse, call one operation, shape the answer."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.activities import operations
from services.activities.schemas import UnitChange, UnitCreate, UnitList, UnitOut, UnitQuery
from services.common.app import db, transaction
from services.common.auth import require_scope
from services.common.errors import DomainError

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="单位树 The unit tree")


@blp.get("")
@blp.arguments(UnitQuery, location="query")
@blp.response(200, UnitList)
def list_units(query):
    """List the units of the tree (or of one subtree), in tree order. Public."""
    session = db()
    path = operations.get_unit(session, query["under"]).path if query.get("under") else None
    units = operations.list_units(session, path)
    return {"items": units, "total": len(units)}


@blp.post("")
@blp.arguments(UnitCreate)
@blp.response(201, UnitOut)
def create_unit(body):
    """Add a unit under a parent within the administrator's scope."""
    with transaction() as session:
        parent = operations.get_unit(session, body["parent_id"])
        require_scope("admin", parent.path)
        return operations.create_unit(session, **body)


@blp.patch("/<unit_id>")
@blp.arguments(UnitChange)
@blp.response(200, UnitOut)
def change_unit(body, unit_id):
    """Rename a unit and/or move it under another parent, both within the administrator's scope."""
    if not body:
        raise DomainError("请提供新的名称或新的上级单位", code="nothing-to-change")
    with transaction() as session:
        unit = operations.get_unit(session, unit_id)
        require_scope("admin", unit.path)
        if "parent_id" in body:
            require_scope("admin", operations.get_unit(session, body["parent_id"]).path)
            operations.move_unit(session, unit_id, body["parent_id"])
        if "name" in body:
            operations.rename_unit(session, unit_id, body["name"])
        return unit
