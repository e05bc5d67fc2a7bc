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


def rename_unit(session: Session, unit_id: str, name: str) -> Unit:
    """Give a unit a new name and announce it (``unit.updated``)."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"单位 {unit_id} 不存在", code="unknown-unit")
    if unit.name == name:
        return unit
    unit.name = name
    unit.updated_at = utcnow()
    session.flush()
    _publish(session, "unit.updated", {**unit.as_payload(), "changes": ["name"]})
    return unit
