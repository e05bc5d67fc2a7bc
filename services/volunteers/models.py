"""Tables owned by services/volunteers: projections of units; volunteer profiles, sign-ups and attendance (follow)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.projections import UnitViewMixin


class Base(DeclarativeBase):
    """Declarative base of services/volunteers."""


class UnitView(UnitViewMixin, Base):
    """This service's copy of the unit tree."""
