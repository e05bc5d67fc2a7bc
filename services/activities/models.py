"""Tables owned by services/activities: the unit tree (activities follow)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of services/activities."""


class Unit(Base):
    """A node of the unit tree; ``path`` is the materialised path of slugs, e.g. /nb/bl/xq/."""

    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    slug: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(512), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def as_payload(self) -> dict:
        """Return the unit as a ``unit.*`` event payload."""
        return {
            "unit_id": self.id,
            "name": self.name,
            "kind": self.kind,
            "parent_id": self.parent_id,
            "path": self.path,
        }
