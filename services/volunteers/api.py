"""HTTP handlers of services/volunteers: parse, call one operation, shape the answer."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.common.api import PageArgs
from services.common.app import db, transaction
from services.common.auth import STAFF_ROLES, Forbidden, require_principal, require_system
from services.volunteers import operations
from services.volunteers.schemas import ProfileIn, VolunteerOut, VolunteerPage, VolunteerPrivateOut

blp = Blueprint("volunteers", __name__, url_prefix="/api/v1/volunteers", description="志愿者")


@blp.put("/<volunteer_id>")
@blp.arguments(ProfileIn)
@blp.response(200, VolunteerPrivateOut)
def save_profile(body, volunteer_id):
    """Create or update a profile (web's own call on registration and profile changes)."""
    require_system()
    with transaction() as session:
        volunteer, _created = operations.save_profile(session, volunteer_id, body)
        return volunteer


@blp.get("/<volunteer_id>")
def get_volunteer(volunteer_id):
    """A profile: its owner and administrators in scope see all of it, organizers in scope the rest."""
    who = require_principal()
    volunteer = operations.get_volunteer(db(), volunteer_id)
    if who.system or who.account_id == volunteer.id or who.can("admin", volunteer.home_unit_path):
        return VolunteerPrivateOut().dump(volunteer)
    if who.can(STAFF_ROLES, volunteer.home_unit_path):
        return VolunteerOut().dump(volunteer)
    raise Forbidden("只能查看自己或本辖区志愿者的资料", code="out-of-scope")


@blp.get("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, VolunteerPage)
def list_volunteers(args):
    """The volunteers living within the caller's staff scope."""
    who = require_principal()
    paths = who.paths(STAFF_ROLES)
    if not paths:
        raise Forbidden("只有工作人员可以查看志愿者名单", code="staff-only")
    items, total = operations.list_volunteers(db(), paths, args["page"], args["per_page"])
    return {"items": items, "total": total, **args}
