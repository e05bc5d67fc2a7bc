"""Tables owned by services/volunteers: volunteer profiles and a projection of units."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.projections import UnitViewMixin
from services.common.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of services/volunteers."""


class UnitView(UnitViewMixin, Base):
    """This service's copy of the unit tree."""


class Volunteer(Base):
    """A volunteer's profile. Ethnicity is optional, given with consent, and never leaves here
    except as an aggregate over at least five people."""

    __tablename__ = "volunteers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the account id
    display_name: Mapped[str] = mapped_column(String(50))
    home_unit_id: Mapped[str] = mapped_column(String(64), index=True)
    home_unit_path: Mapped[str] = mapped_column(String(512), index=True)
    team_id: Mapped[str | None] = mapped_column(String(64), index=True)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    ethnicity: Mapped[str | None] = mapped_column(String(32))
    ethnicity_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def as_payload(self) -> dict:
        """What consumers may know: never the phone number, never ethnicity."""
        return {
            "volunteer_id": self.id,
            "display_name": self.display_name,
            "home_unit_id": self.home_unit_id,
            "team_id": self.team_id,
        }
