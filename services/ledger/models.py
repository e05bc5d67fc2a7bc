"""Tables owned by services/ledger: projections of units and volunteers; points, awards and
reports follow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.projections import UnitViewMixin
from services.common.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of services/ledger."""


class UnitView(UnitViewMixin, Base):
    """This service's copy of the unit tree."""


class VolunteerView(Base):
    """What the ledger knows of a volunteer: a display name, a home unit and a team."""

    __tablename__ = "volunteer_views"

    volunteer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(50))
    home_unit_id: Mapped[str] = mapped_column(String(64), index=True)
    team_id: Mapped[str | None] = mapped_column(String(64), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
