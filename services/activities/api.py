"""HTTP handlers of services/activities: parse, call one operation, shape the answer."""

from __future__ import annotations

from events.envelope import utcnow
from events.vocabulary import CATEGORIES
from services.activities import operations
from services.activities.finding import distance_m
from services.activities.models import Activity
from services.activities.schemas import (
    ActivityChange,
    ActivityCreate,
    ActivityOut,
    ActivityPage,
    ActivityQuery,
    CancelIn,
    CompleteIn,
    CopyIn,
    UnitChange,
    UnitCreate,
    UnitList,
    UnitOut,
    UnitQuery,
)
from services.common.api import Blueprint, one_page, public, roles
from services.common.app import db, transaction
from services.common.auth import Forbidden, principal, require_principal, require_scope
from services.common.errors import DomainError, NotFound
from services.common.idempotency import idempotent
from services.common.states import ActivityStatus

blp = Blueprint("units", __name__, url_prefix="/api/v1/units", description="单位树 The unit tree")


@blp.get("")
@public
@blp.arguments(UnitQuery, location="query")
@blp.response(200, UnitList)
def list_units(query):
    """List the units of the tree (or of one subtree), in tree order. Public."""
    session = db()
    path = operations.get_unit(session, query["under"]).path if query.get("under") else None
    units = operations.list_units(session, path)
    return {"items": units, "total": len(units)}


@blp.post("")
@roles("admin")
@idempotent
@blp.arguments(UnitCreate)
@blp.response(201, UnitOut)
def create_unit(body):
    """Add a unit under a parent within the administrator's scope."""
    with transaction() as session:
        parent = operations.get_unit(session, body["parent_id"])
        require_scope("admin", parent.path)
        return operations.create_unit(session, **body)


@blp.patch("/<unit_id>")
@roles("admin")
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


# ---- activities --------------------------------------------------------------------------

activities = Blueprint(
    "activities", __name__, url_prefix="/api/v1/activities", description="活动 Activities"
)
ORGANIZING = ("organizer", "admin")
PUBLIC_STATUSES = (ActivityStatus.PUBLISHED,)
PAST_STATUSES = (ActivityStatus.PUBLISHED, ActivityStatus.COMPLETED, ActivityStatus.CLOSED)


def present(activity: Activity, taken: dict[str, int]) -> dict:
    """The activity with labels and the places left on each shift."""
    shifts = [
        {
            "id": s.id,
            "name": s.name,
            "capacity": s.capacity,
            "hour_weight": s.hour_weight,
            "taken": taken.get(s.id, 0),
            "free": max(0, s.capacity - taken.get(s.id, 0)),
        }
        for s in activity.shifts
    ]
    return {
        **{c.key: getattr(activity, c.key) for c in Activity.__table__.columns},
        "status_label": ActivityStatus.label_of(activity.status),
        "category_label": CATEGORIES.get(activity.category, activity.category),
        "host_unit_name": activity.host_unit.name,
        "shifts": shifts,
        "free_places": sum(s["free"] for s in shifts),
    }


def _one(session, activity: Activity) -> dict:
    return present(activity, operations.places_taken(session, [activity]))


def _organized(session, activity_id: str, lock: bool = True) -> Activity:
    """The activity, if the caller organizes at a unit covering its host unit."""
    activity = operations.get_activity(session, activity_id, lock=lock)
    require_scope(ORGANIZING, activity.host_unit.path)
    return activity


def _act(activity_id: str, operation, *args) -> dict:
    """Run one organizer's act on the activity (``operation(session, activity, *args)``) in a
    transaction, the activity locked and in the caller's scope, and answer the activity."""
    with transaction() as session:
        return _one(session, operation(session, _organized(session, activity_id), *args))


def _activity_act(path: str, schema: type | None = None, **reading):
    """Offer an organizer's act on an activity, run by ``_act``: for organizers and
    administrators, answering the activity."""
    rule = f"/<activity_id>{path}"
    return activities.act(rule, ActivityOut, ("organizer", "admin"), schema, **reading)


@activities.post("")
@roles("organizer", "admin")
@idempotent
@activities.arguments(ActivityCreate)
@activities.response(201, ActivityOut)
def create_activity(body):
    """Create a draft activity hosted by a unit the organizer covers."""
    with transaction() as session:
        host = operations.get_unit(session, body["host_unit_id"])
        who = require_scope(ORGANIZING, host.path)
        return _one(session, operations.create_activity(session, who.account_id, body, who))


@activities.get("")
@public
@activities.arguments(ActivityQuery, location="query")
@activities.response(200, ActivityPage)
def list_activities(query):
    """Upcoming published activities for everyone; with ``mine``, those the caller organizes."""
    session = db()
    paths = None
    if query["mine"]:
        paths = require_principal().paths(ORGANIZING)
        if not paths:
            raise Forbidden("只有活动组织者可以查看自己组织的活动", code="organizers-only")
        statuses = (query["status"],) if query.get("status") else tuple(ActivityStatus)
    elif query.get("from") or query.get("to"):
        statuses = PAST_STATUSES
    else:
        statuses = PUBLIC_STATUSES
        query["from"] = utcnow()
    items, total = operations.list_activities(session, query, statuses, paths)
    taken = operations.places_taken(session, items)
    near = query.get("near")
    shown = [
        {**present(a, taken), **({"distance_m": distance_m(near, a)} if near else {})}
        for a in items
    ]
    return one_page(shown, total, query)


@activities.get("/<activity_id>")
@public
@activities.response(200, ActivityOut)
def get_activity(activity_id):
    """One activity; a draft only for its organizers."""
    session = db()
    activity = operations.get_activity(session, activity_id)
    if activity.status == ActivityStatus.DRAFT:
        who = principal()
        if who is None or not who.can(ORGANIZING, activity.host_unit.path):
            raise NotFound("活动不存在", code="unknown-activity")
    return _one(session, activity)


@activities.patch("/<activity_id>")
@roles("organizer", "admin")
@activities.arguments(ActivityChange)
@activities.response(200, ActivityOut)
def change_activity(body, activity_id):
    """Change a draft or published activity (a published one announces what changed)."""
    with transaction() as session:
        activity = _organized(session, activity_id)
        who = require_principal()
        return _one(session, operations.update_activity(session, activity, body, who))


@_activity_act("/publish")
def publish(activity_id):
    """Publish a draft."""
    return _act(activity_id, operations.publish_activity)


@_activity_act("/cancel", CancelIn)
def cancel(body, activity_id):
    """Cancel before completion, with the reason volunteers are told."""
    return _act(activity_id, operations.cancel_activity, body["reason"])


@_activity_act("/complete", CompleteIn, required=False)
def complete(body, activity_id):
    """Mark a published activity as held, with its audience (受众人次) if counted."""
    return _act(activity_id, operations.complete_activity, (body or {}).get("audience"))


@_activity_act("/close")
def close(activity_id):
    """Close a completed activity."""
    return _act(activity_id, operations.close_activity)


@activities.post("/<activity_id>/copy")
@roles("organizer", "admin")
@idempotent
@activities.arguments(CopyIn)
@activities.response(201, ActivityOut)
def copy(body, activity_id):
    """Copy an activity onto new dates, as a new draft."""
    with transaction() as session:
        source = _organized(session, activity_id, lock=False)
        who = require_principal()
        return _one(session, operations.copy_activity(session, who.account_id, source, body))
