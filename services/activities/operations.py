"""Domain operations of services/activities. Each runs inside the caller's transaction."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit
from services.activities.models import Unit
from services.common.errors import Conflict, DomainError, NotFound

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
