"""Tables owned by services/ledger: projections of units; points, awards and reports (follow)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.projections import UnitViewMixin


class Base(DeclarativeBase):
    """Declarative base of services/ledger."""


class UnitView(UnitViewMixin, Base):
    """This service's copy of the unit tree."""
