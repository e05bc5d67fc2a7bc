"""Domain operations of services/activities. Each runs inside the caller's transaction."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit
from services.activities import finding
from services.activities.models import Activity, Shift, SignupSeen, Unit
from services.common.auth import Forbidden, Principal
from services.common.errors import Conflict, DomainError, Message, NotFound
from services.common.states import ActivityStatus

ORGANIZING = ("organizer", "admin")

PRODUCER = "activities"

# Which kind of unit may hang under which; partner units may hang under any node.
ADMINISTRATIVE_PARENT = {
    "city": None,
    "district": "city",
    "street": "district",
    "community": "street",
}
PARTNER_KINDS = ("enterprise", "school", "social_organization", "volunteer_team")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def _publish(session: Session, name: str, payload: dict) -> None:
    emit(session, catalog.make_event(name, payload, producer=PRODUCER))


def create_unit(
    session: Session, *, name: str, kind: str, parent_id: str | None = None, slug: str | None = None
) -> Unit:
    """Add a unit to the tree under its parent and announce it (``unit.created``)."""
    if kind not in ADMINISTRATIVE_PARENT and kind not in PARTNER_KINDS:
        raise DomainError(
            f"未知的单位类型：{kind}", code="unknown-unit-kind", errors={"kind": ["未知的单位类型"]}
        )
    parent = None
    if parent_id is not None:
        parent = session.get(Unit, parent_id)
        if parent is None:
            raise NotFound(f"上级单位 {parent_id} 不存在", code="unknown-unit")
    expected = ADMINISTRATIVE_PARENT.get(kind)
    if kind in ADMINISTRATIVE_PARENT and (parent.kind if parent else None) != expected:
        where = f"“{expected}”类单位之下" if expected else "单位树的根上"
        raise DomainError(
            f"{kind} 类单位只能建在{where}",
            code="invalid-parent",
            errors={"parent_id": [f"{kind} 类单位只能建在{where}"]},
        )
    if kind in PARTNER_KINDS and parent is None:
        raise DomainError(
            "共建单位必须挂在某个单位之下",
            code="invalid-parent",
            errors={"parent_id": ["共建单位必须挂在某个单位之下"]},
        )
    slug = slug or uuid.uuid4().hex[:8]
    if not SLUG.match(slug):
        raise DomainError(
            "简称只能由小写字母、数字和连字符组成",
            code="invalid-slug",
            errors={"slug": ["只能由小写字母、数字和连字符组成，最多 32 个字符"]},
        )
    path = f"{parent.path if parent else '/'}{slug}/"
    if session.scalar(select(Unit.id).where(Unit.path == path)):
        raise Conflict(f"同一上级下已有简称为 {slug} 的单位", code="duplicate-unit")
    now = utcnow()
    unit = Unit(
        id=str(uuid.uuid4()),
        slug=slug,
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        path=path,
        created_at=now,
        updated_at=now,
    )
    session.add(unit)
    session.flush()
    _publish(session, "unit.created", unit.as_payload())
    return unit


def list_units(session: Session, under_path: str | None = None) -> list[Unit]:
    """Return the units of the tree (or of one subtree), in tree order."""
    query = select(Unit).order_by(Unit.path)
    if under_path:
        query = query.where(Unit.path.startswith(under_path))
    return list(session.scalars(query))


def get_unit(session: Session, unit_id: str) -> Unit:
    """Return a unit or raise NotFound."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"单位 {unit_id} 不存在", code="unknown-unit")
    return unit


def rename_unit(session: Session, unit_id: str, name: str) -> Unit:
    """Give a unit a new name and announce it (``unit.updated``)."""
    unit = get_unit(session, unit_id)
    if unit.name == name:
        return unit
    unit.name = name
    unit.updated_at = utcnow()
    session.flush()
    _publish(session, "unit.updated", {**unit.as_payload(), "changes": ["name"]})
    return unit


def move_unit(session: Session, unit_id: str, new_parent_id: str) -> Unit:
    """Hang a unit and its subtree under another parent; announce every changed path."""
    unit = get_unit(session, unit_id)
    parent = get_unit(session, new_parent_id)
    if parent.path.startswith(unit.path):
        raise Conflict("不能把单位移到它自己或它的下级单位之下", code="move-into-own-subtree")
    expected = ADMINISTRATIVE_PARENT.get(unit.kind)
    if unit.kind in ADMINISTRATIVE_PARENT and parent.kind != expected:
        raise DomainError(
            f"{unit.kind} 类单位只能挂在 {expected} 类单位之下",
            code="invalid-parent",
            errors={"parent_id": [f"{unit.kind} 类单位只能挂在 {expected} 类单位之下"]},
        )
    if unit.parent_id == parent.id:
        return unit
    old_prefix, new_prefix = unit.path, f"{parent.path}{unit.slug}/"
    if session.scalar(select(Unit.id).where(Unit.path == new_prefix)):
        raise Conflict(f"新的上级下已有简称为 {unit.slug} 的单位", code="duplicate-unit")
    subtree = list(
        session.scalars(select(Unit).where(Unit.path.startswith(old_prefix)).order_by(Unit.path))
    )
    new_paths = {member.id: new_prefix + member.path[len(old_prefix) :] for member in subtree}
    # Give every path a temporary, unique value first so the unique index never sees a clash.
    for member in subtree:
        member.path = f"#{member.id}"
    session.flush()
    now = utcnow()
    unit.parent_id = parent.id
    for member in subtree:
        member.path = new_paths[member.id]
        member.updated_at = now
    session.flush()
    for member in subtree:
        changes = ["parent_id", "path"] if member is unit else ["path"]
        _publish(session, "unit.updated", {**member.as_payload(), "changes": changes})
    return unit


# ---- activities --------------------------------------------------------------------------

CHANGEABLE = (
    "title", "description", "category", "dimensions", "co_host_unit_ids", "address", "latitude",
    "longitude", "checkin_radius_m", "starts_at", "ends_at", "signup_opens_at", "signup_closes_at",
    "walk_ins_allowed", "points_rule_version",
)  # fmt: skip


class InvalidActivity(DomainError, status=422, code="invalid-activity", title="请检查填写的内容"):
    """An activity whose fields do not fit together."""


class WrongStatus(Conflict, code="wrong-status"):
    """A lifecycle step that the activity's current status does not allow."""


def _wrong_status(activity: Activity, doing: str) -> WrongStatus:
    label = ActivityStatus.label_of(activity.status)
    return WrongStatus(
        "活动当前状态为“{status}”，不能{doing}",
        values={"status": Message(label), "doing": Message(doing)},
        errors={"status": [activity.status]},
    )


def _check_fields(session: Session, values: dict) -> None:
    errors: dict[str, list[str]] = {}
    if values["ends_at"] <= values["starts_at"]:
        errors["ends_at"] = ["结束时间必须晚于开始时间"]
    opens, closes = values.get("signup_opens_at"), values.get("signup_closes_at")
    if opens and opens > values["starts_at"]:
        errors["signup_opens_at"] = ["报名须在活动开始前开放"]
    if closes and closes > values["starts_at"]:
        errors["signup_closes_at"] = ["报名截止时间不能晚于活动开始时间"]
    if opens and closes and closes <= opens:
        errors["signup_closes_at"] = ["报名截止时间必须晚于报名开始时间"]
    if (values.get("latitude") is None) != (values.get("longitude") is None):
        errors["longitude"] = ["经度和纬度须同时填写"]
    if values.get("checkin_radius_m") and values.get("latitude") is None:
        errors["checkin_radius_m"] = ["设置签到范围须先填写活动地点的经纬度"]
    unknown = [u for u in values.get("co_host_unit_ids") or [] if session.get(Unit, u) is None]
    if unknown:
        errors["co_host_unit_ids"] = ["协办单位不存在"]
    if errors:
        raise InvalidActivity("请检查填写的内容", errors=errors)


def _shift_places(session: Session, shift_ids: list[str]) -> dict[str, int]:
    """Places held on each shift, as learnt from signup.* events."""
    if not shift_ids:
        return {}
    rows = session.execute(
        select(SignupSeen.shift_id, func.coalesce(func.sum(SignupSeen.party_size), 0))
        .where(SignupSeen.shift_id.in_(shift_ids), SignupSeen.holds_place.is_(True))
        .group_by(SignupSeen.shift_id)
    )
    return {shift_id: int(taken) for shift_id, taken in rows}


def places_taken(session: Session, activities: list[Activity]) -> dict[str, int]:
    """Places held on every shift of the given activities."""
    return _shift_places(session, [s.id for a in activities for s in a.shifts])


def _set_shifts(session: Session, activity: Activity, shifts: list[dict]) -> bool:
    """Replace the activity's shifts; refuse to shrink or drop one below its sign-ups."""
    taken = _shift_places(session, [s.id for s in activity.shifts])
    existing = {s.id: s for s in activity.shifts}
    keep: list[Shift] = []
    errors: list[str] = []
    for position, spec in enumerate(shifts):
        shift = existing.get(spec.get("id") or "")
        if spec.get("id") and shift is None:
            raise InvalidActivity(
                "请检查填写的内容", errors={"shifts": [f"岗位 {spec['id']} 不属于这个活动"]}
            )
        if shift is None:
            shift = Shift(id=str(uuid.uuid4()), activity_id=activity.id)
        if taken.get(shift.id, 0) > spec["capacity"]:
            errors.append(
                f"岗位“{shift.name}”已有 {taken[shift.id]} 人报名，名额不能少于 {taken[shift.id]}"
            )
        shift.position, shift.name = position, spec["name"]
        shift.capacity, shift.hour_weight = spec["capacity"], spec.get("hour_weight")
        keep.append(shift)
    for gone in set(existing) - {s.id for s in keep}:
        if taken.get(gone, 0):
            errors.append(f"岗位“{existing[gone].name}”已有 {taken[gone]} 人报名，不能删除")
    if errors:
        raise Conflict("；".join(errors), code="shift-has-signups", errors={"shifts": errors})
    before = [(s.id, s.name, s.capacity, s.hour_weight) for s in activity.shifts]
    activity.shifts = keep
    return before != [(s.id, s.name, s.capacity, s.hour_weight) for s in keep]


def activity_payload(activity: Activity) -> dict:
    """The activity as an ``activity.*`` state payload."""
    return {
        "activity_id": activity.id,
        "title": activity.title,
        "category": activity.category,
        "dimensions": list(activity.dimensions),
        "host_unit_id": activity.host_unit_id,
        "host_unit_path": activity.host_unit.path,
        "co_host_unit_ids": list(activity.co_host_unit_ids or []),
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "signup_opens_at": activity.signup_opens_at,
        "signup_closes_at": activity.signup_closes_at,
        "walk_ins_allowed": activity.walk_ins_allowed,
        "points_rule_version": activity.points_rule_version,
        "shifts": [
            {"shift_id": s.id, "name": s.name, "capacity": s.capacity, "hour_weight": s.hour_weight}
            for s in activity.shifts
        ],
        "address": activity.address,
        "latitude": activity.latitude,
        "longitude": activity.longitude,
        "checkin_radius_m": activity.checkin_radius_m,
        "checkin_opens_at": None,
        "checkin_closes_at": None,
        "organizer_id": activity.created_by,
    }


def check_co_hosts(session: Session, who: Principal, co_host_ids, already=()) -> None:
    """Refuse (403) co-host units the organizer may not act for: each one added must lie in the
    subtree of a unit where they organize or administer (those already named stay)."""
    outside = [
        unit
        for unit_id in dict.fromkeys(co_host_ids or [])
        if unit_id not in already
        and (unit := session.get(Unit, unit_id)) is not None
        and not who.can(ORGANIZING, unit.path)
    ]
    if outside:
        names = "、".join(unit.name for unit in outside)
        message = Message(
            "只能把你负责的单位（及其下级单位）列为协办单位：{names}", {"names": names}
        )
        raise Forbidden(
            message, code="co-host-out-of-scope", errors={"co_host_unit_ids": [message]}
        )


def create_activity(
    session: Session, created_by: str, data: dict, who: Principal | None = None
) -> Activity:
    """Create a draft activity with its shifts (a default shift when none is given); ``who``
    (the API's caller) may name as co-hosts only units they act for."""
    host = get_unit(session, data["host_unit_id"])
    _check_fields(session, data)
    if who is not None:
        check_co_hosts(session, who, data.get("co_host_unit_ids"))
    now = utcnow()
    activity = Activity(
        id=str(uuid.uuid4()),
        status=ActivityStatus.DRAFT,
        host_unit_id=host.id,
        host_unit=host,
        created_by=created_by,
        created_at=now,
        updated_at=now,
        **{name: data.get(name) for name in CHANGEABLE if name in data},
    )
    activity.description = activity.description or ""
    activity.address = activity.address or ""
    activity.co_host_unit_ids = activity.co_host_unit_ids or []
    session.add(activity)
    _set_shifts(session, activity, data["shifts"])
    session.flush()
    return activity


def get_activity(session: Session, activity_id: str, lock: bool = False) -> Activity:
    """Return an activity or raise NotFound."""
    # FOR UPDATE OF activities: PostgreSQL will not lock the outer-joined host unit.
    activity = session.get(
        Activity, activity_id, with_for_update={"of": Activity} if lock else None
    )
    if activity is None:
        raise NotFound("活动不存在", code="unknown-activity")
    return activity


def update_activity(
    session: Session, activity: Activity, changes: dict, who: Principal | None = None
) -> Activity:
    """Change a draft or published activity; a published one announces what changed."""
    if activity.status not in (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED):
        raise _wrong_status(activity, "修改")
    merged = {name: changes.get(name, getattr(activity, name)) for name in CHANGEABLE}
    _check_fields(session, merged)
    if who is not None:
        check_co_hosts(
            session, who, changes.get("co_host_unit_ids"), activity.co_host_unit_ids or []
        )
    changed = [
        name for name in CHANGEABLE if name in changes and changes[name] != getattr(activity, name)
    ]
    for name in changed:
        setattr(activity, name, changes[name])
    if "shifts" in changes and _set_shifts(session, activity, changes["shifts"]):
        changed.append("shifts")
    if not changed:
        return activity
    activity.updated_at = utcnow()
    session.flush()
    if activity.status == ActivityStatus.PUBLISHED:
        _publish(session, "activity.updated", {**activity_payload(activity), "changes": changed})
    return activity


def publish_activity(session: Session, activity: Activity) -> Activity:
    """Make a draft visible to volunteers (``activity.published``)."""
    if activity.status != ActivityStatus.DRAFT:
        raise _wrong_status(activity, "发布")
    activity.status, activity.published_at = ActivityStatus.PUBLISHED, utcnow()
    activity.updated_at = activity.published_at
    session.flush()
    _publish(session, "activity.published", activity_payload(activity))
    return activity


def cancel_activity(session: Session, activity: Activity, reason: str) -> Activity:
    """Call an activity off before completion, telling its volunteers why."""
    if activity.status not in (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED):
        raise _wrong_status(activity, "取消")
    was_published = activity.status == ActivityStatus.PUBLISHED
    activity.status, activity.cancel_reason = ActivityStatus.CANCELLED, reason
    activity.updated_at = utcnow()
    session.flush()
    if was_published:
        _publish(
            session,
            "activity.cancelled",
            {"activity_id": activity.id, "reason": reason, "cancelled_at": activity.updated_at},
        )
    return activity


def complete_activity(
    session: Session, activity: Activity, audience: int | None = None
) -> Activity:
    """Mark a published activity as held, once it has started, with how many people it reached
    (受众人次) if the organizer counted them; attendance can now be confirmed."""
    if activity.status != ActivityStatus.PUBLISHED:
        raise _wrong_status(activity, "标记为已完成")
    now = utcnow()
    if now < activity.starts_at:
        raise Conflict("活动尚未开始，不能标记为已完成", code="not-started")
    activity.status, activity.updated_at = ActivityStatus.COMPLETED, now
    activity.audience = audience
    session.flush()
    _publish(
        session,
        "activity.completed",
        {"activity_id": activity.id, "completed_at": now, "audience": audience},
    )
    return activity


def close_activity(session: Session, activity: Activity) -> Activity:
    """Close a completed activity: its attendance is final."""
    if activity.status != ActivityStatus.COMPLETED:
        raise _wrong_status(activity, "关闭")
    activity.status, activity.updated_at = ActivityStatus.CLOSED, utcnow()
    session.flush()
    _publish(
        session, "activity.closed", {"activity_id": activity.id, "closed_at": activity.updated_at}
    )
    return activity


def copy_activity(session: Session, created_by: str, source: Activity, data: dict) -> Activity:
    """A new draft like ``source`` on new dates (the sign-up window moves along with it)."""
    shift = data["starts_at"] - source.starts_at
    fields_ = {name: getattr(source, name) for name in CHANGEABLE}
    fields_.update(starts_at=data["starts_at"], ends_at=data["ends_at"])
    for name in ("signup_opens_at", "signup_closes_at"):
        if fields_[name] is not None:
            fields_[name] = fields_[name] + shift
    fields_["title"] = data.get("title") or source.title
    fields_["host_unit_id"] = source.host_unit_id
    fields_["shifts"] = [
        {"name": s.name, "capacity": s.capacity, "hour_weight": s.hour_weight}
        for s in source.shifts
    ]
    return create_activity(session, created_by, fields_)


def list_activities(
    session: Session, filters: dict, statuses: tuple[str, ...], paths: list[str] | None = None
):
    """One page of activities matching the filters, soonest first (nearest first with ``near``),
    with the total."""
    query = select(Activity).join(Activity.host_unit).where(Activity.status.in_(statuses))
    if paths is not None:
        if not paths:
            return [], 0
        query = query.where(or_(*[Unit.path.startswith(p) for p in paths]))
    if filters.get("unit_id"):
        query = query.where(Unit.path.startswith(get_unit(session, filters["unit_id"]).path))
    if filters.get("category"):
        query = query.where(Activity.category == filters["category"])
    if filters.get("from"):
        query = query.where(Activity.ends_at >= filters["from"])
    if filters.get("to"):
        query = query.where(Activity.starts_at <= filters["to"])
    query = finding.matching(query, filters.get("q")).order_by(Activity.starts_at, Activity.id)
    found = list(session.scalars(query).unique())
    if filters.get("dimension"):
        found = [a for a in found if filters["dimension"] in a.dimensions]
    if filters.get("has_free_places"):
        taken = places_taken(session, found)
        found = [a for a in found if any(s.capacity > taken.get(s.id, 0) for s in a.shifts)]
    if filters.get("near"):
        found = finding.nearest_first(found, filters["near"])
    page, per_page = filters["page"], filters["per_page"]
    return found[(page - 1) * per_page : page * per_page], len(found)


def record_signup(session: Session, payload: dict, holds_place: bool | None) -> None:
    """Remember whether a sign-up holds places (from signup.* events); None means cancelled."""
    seen = session.get(SignupSeen, payload["signup_id"])
    if seen is None:
        seen = SignupSeen(signup_id=payload["signup_id"])
        session.add(seen)
    seen.activity_id, seen.shift_id = payload["activity_id"], payload["shift_id"]
    seen.party_size = payload.get("party_size") or 1
    seen.holds_place = bool(holds_place)
