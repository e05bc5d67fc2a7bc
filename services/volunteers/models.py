"""Tables owned by services/volunteers: volunteer profiles, projections of units and activities,
sign-ups, attendance and hours certificates."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.projections import UnitViewMixin
from services.common.states import ActivityStatus, AttendanceStatus
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


class ActivityView(Base):
    """This service's copy of a published activity, learnt from ``activity.*`` events, plus the
    activity's check-in secret, which never leaves this service."""

    __tablename__ = "activity_views"

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    dimensions: Mapped[list] = mapped_column(JSON, default=list)
    host_unit_id: Mapped[str] = mapped_column(String(64))
    host_unit_path: Mapped[str] = mapped_column(String(512), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signup_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signup_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    walk_ins_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[str | None] = mapped_column(String(16))  # a decimal string, as on the topic
    longitude: Mapped[str | None] = mapped_column(String(16))
    checkin_radius_m: Mapped[int | None] = mapped_column(Integer)
    checkin_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkin_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # an ActivityStatus (never a draft)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    checkin_secret: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Rules of check-in needed both on a loaded activity and inside SQL (the admission rule of
    # operations/admission.py selects them): each is stated here once, for both evaluators.

    @hybrid_property
    def running(self) -> bool:
        """Neither cancelled nor closed: check-in and check-out are still taken."""
        return self.status not in (ActivityStatus.CANCELLED, ActivityStatus.CLOSED)

    @running.inplace.expression
    @classmethod
    def _running_expression(cls):
        return and_(cls.status != ActivityStatus.CANCELLED, cls.status != ActivityStatus.CLOSED)

    @hybrid_property
    def needs_location(self) -> bool:
        """A place and a check-in radius: a volunteer's scan must come from within it."""
        return (
            self.latitude is not None and self.longitude is not None and bool(self.checkin_radius_m)
        )

    @needs_location.inplace.expression
    @classmethod
    def _needs_location_expression(cls):
        return and_(
            cls.latitude.is_not(None),
            cls.longitude.is_not(None),
            func.coalesce(cls.checkin_radius_m, 0) != 0,
        )


class ShiftView(Base):
    """A shift of a projected activity, with the places its confirmed sign-ups hold.

    ``taken`` and ``queued`` are counters changed only while the row is locked, so capacity and
    waitlist order hold under concurrent sign-ups on both engines.
    """

    __tablename__ = "shift_views"

    shift_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activity_views.activity_id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    capacity: Mapped[int] = mapped_column(Integer)
    hour_weight: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[int] = mapped_column(Integer, default=0)  # waitlist tickets handed out so far


class Signup(Base):
    """A volunteer's place on a shift (``confirmed``) or in its queue (``waitlisted``).

    At most one live (confirmed or waitlisted) sign-up per volunteer and activity: a partial
    unique index says so to both engines. ``promoted_at`` tells a place won from the waitlist.
    """

    __tablename__ = "signups"
    __table_args__ = (
        Index(
            "uq_signups_live",
            "activity_id",
            "volunteer_id",
            unique=True,
            sqlite_where=text("status IN ('confirmed', 'waitlisted')"),
            postgresql_where=text("status IN ('confirmed', 'waitlisted')"),
        ),
        Index("ix_signups_queue", "shift_id", "status", "queue_no"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activity_views.activity_id"))
    shift_id: Mapped[str] = mapped_column(ForeignKey("shift_views.shift_id"))
    volunteer_id: Mapped[str] = mapped_column(String(64), index=True)
    party_size: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16))  # a SignupStatus
    queue_no: Mapped[int | None] = mapped_column(Integer)  # waitlist ticket, per shift
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)  # by an organizer


class Attendance(Base):
    """One volunteer's presence at one activity: check-in, check-out, and the confirmed hours.

    The unique constraint makes a repeated scan harmless: there is never a second record.
    """

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("activity_id", "volunteer_id", name="uq_attendance_once"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activity_views.activity_id"))
    volunteer_id: Mapped[str] = mapped_column(String(64), index=True)
    signup_id: Mapped[str | None] = mapped_column(String(64))
    shift_id: Mapped[str | None] = mapped_column(String(64))
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkin_method: Mapped[str | None] = mapped_column(String(16))  # code | manual
    checked_in_by: Mapped[str | None] = mapped_column(String(64))
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_out_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=AttendanceStatus.OPEN.value)
    hours: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))  # confirmed hours
    hours_reason: Mapped[str | None] = mapped_column(Text)
    confirmed_by: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HoursCertificate(Base):
    """A volunteer-hours certificate (志愿服务时长证明) as issued: anyone can verify its code."""

    __tablename__ = "hours_certificates"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(64), index=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)  # of the records it lists
    total_hours: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    records: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CheckinAttempt(Base):
    """Wrong check-in codes at an activity, counted per volunteer and per address (``key``), and
    until when further scans from them are refused. Updated only by one conditional upsert, so
    parallel guesses are each counted."""

    __tablename__ = "checkin_attempts"

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # volunteer:ID | address:IP
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
