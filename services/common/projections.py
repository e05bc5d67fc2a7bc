"""Projections of other services' facts that more than one service keeps in its own tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, Session, mapped_column

from events.envelope import utcnow
from services.common.db import upsert
from services.common.types import UTCDateTime


class UnitViewMixin:
    """A service's own copy of a unit of the tree, learnt from ``unit.*`` events."""

    __tablename__ = "unit_views"

    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(512), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


def apply_unit_state(session: Session, model: type, payload: dict) -> None:
    """Create or refresh the projected unit from a ``unit.created``/``unit.updated`` payload."""
    values = {name: payload[name] for name in ("unit_id", "name", "kind", "parent_id", "path")}
    upsert(session, model.__table__, {**values, "updated_at": utcnow()}, key=["unit_id"])


def unit_handlers(model: type) -> dict:
    """Return the consumer handlers that keep a UnitView model up to date."""

    def on_unit_state(session: Session, _event, payload: dict) -> None:
        apply_unit_state(session, model, payload)

    return {"unit.created": on_unit_state, "unit.updated": on_unit_state}
