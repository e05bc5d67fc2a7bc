"""Tables owned by services/activities: the unit tree, activities and their shifts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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


class Activity(Base):
    """Something an organizer runs at a time and place, with shifts volunteers sign up for."""

    __tablename__ = "activities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # an ActivityStatus
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    dimensions: Mapped[list] = mapped_column(JSON)
    host_unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    co_host_unit_ids: Mapped[list] = mapped_column(JSON, default=list)
    address: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    checkin_radius_m: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signup_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signup_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    walk_ins_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    points_rule_version: Mapped[int | None] = mapped_column(Integer)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    audience: Mapped[int | None] = mapped_column(Integer)  # 受众人次, recorded at completion
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    host_unit: Mapped[Unit] = relationship(lazy="joined")
    shifts: Mapped[list[Shift]] = relationship(
        back_populates="activity",
        order_by="Shift.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class Shift(Base):
    """A role with its own capacity inside an activity (the first one is the default shift)."""

    __tablename__ = "shifts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50))
    capacity: Mapped[int] = mapped_column(Integer)
    hour_weight: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))

    activity: Mapped[Activity] = relationship(back_populates="shifts")


class SignupSeen(Base):
    """What activities learnt of one sign-up from signup.* events: whether it holds places."""

    __tablename__ = "signups_seen"

    signup_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    activity_id: Mapped[str] = mapped_column(String(64), index=True)
    shift_id: Mapped[str] = mapped_column(String(64), index=True)
    party_size: Mapped[int] = mapped_column(Integer)
    holds_place: Mapped[bool] = mapped_column(Boolean)
