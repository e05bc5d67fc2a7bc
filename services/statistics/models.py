"""Tables owned by services/statistics: the facts it counts, learnt from the topics, each with
what a report groups by (the host unit's path, the local day and month, the category and the
dimensions). Reports are sums over these at query time, so a correction, a cancellation or a
unit moved in the tree changes every report that includes it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.projections import UnitViewMixin
from services.common.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of services/statistics."""


class UnitView(UnitViewMixin, Base):
    """The unit tree: names, and the paths reports roll up by."""


class ActivityFact(Base):
    """An activity: where (its host's path), when (the city's day), what (category), whether it
    was held, and its audience (受众人次, recorded when it is completed)."""

    __tablename__ = "activity_facts"
    __table_args__ = (Index("ix_activity_facts_path_day", "host_path", "day"),)

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    host_unit_id: Mapped[str] = mapped_column(String(64), index=True)
    host_path: Mapped[str] = mapped_column(String(512))
    category: Mapped[str] = mapped_column(String(64))
    dimensions: Mapped[str] = mapped_column(String(200))  # comma-separated
    day: Mapped[date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))  # 2026-03
    status: Mapped[str] = mapped_column(String(16))
    held: Mapped[bool] = mapped_column(Boolean)  # completed (or closed after it)
    audience: Mapped[int | None] = mapped_column(Integer)
    # Its attendance, counted from attendance_facts each time that changes (so a report sums
    # one row per activity): confirmed attendances (人次), their half-hours, and no-shows.
    attendances: Mapped[int] = mapped_column(Integer, default=0)
    hours_halves: Mapped[int] = mapped_column(Integer, default=0)
    no_shows: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActivityGroups(Base):
    """How many ethnic groups an activity's consenting attendees came from, as
    ``attendance.summarized`` tells it: null when fewer than five consenting attendees were there
    (k ≥ 5: the volunteers service publishes nothing smaller). Its own table, because the summary
    comes on another topic than the activity and may arrive first."""

    __tablename__ = "activity_groups"

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    distinct_groups: Mapped[int | None] = mapped_column(Integer)


class ActivityDimension(Base):
    """One of an activity's dimensions (空间、文化、经济、社会、心理), for breakdowns."""

    __tablename__ = "activity_dimensions"

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(32), primary_key=True)


class AttendanceFact(Base):
    """One volunteer at one activity: confirmed with hours (the latest correction), or a no-show."""

    __tablename__ = "attendance_facts"
    # A volunteer's attendance, to rebuild their presence (presence.py).
    __table_args__ = (Index("ix_attendance_facts_volunteer", "volunteer_id"),)

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # confirmed, no_show
    hours_halves: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Presence(Base):
    """Where and when a volunteer took part, to count distinct volunteers (参与志愿者数) without
    reading every attendance of a period: one row per volunteer, unit and year, for each unit up
    the tree from the host of an activity held with the volunteer's confirmed attendance, and one
    more for the host itself (``own``, the 本级 of a breakdown by unit). Its bits: the months
    (bit 0 January), the categories and the dimensions of those attendances, in the order of
    events/vocabulary.py. Kept by services/statistics/presence.py."""

    __tablename__ = "presence"
    __table_args__ = (
        Index("ix_presence_volunteer_year", "volunteer_id", "year"),
        # Holds all a count reads, so the count never visits the table's pages.
        Index("ix_presence_counted", "path", "year", "own", "months", "categories", "dimensions"),
    )

    path: Mapped[str] = mapped_column(String(512), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    own: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    months: Mapped[int] = mapped_column(Integer)
    categories: Mapped[int] = mapped_column(Integer)
    dimensions: Mapped[int] = mapped_column(Integer)


class VolunteerFact(Base):
    """A volunteer's home unit and the day they registered."""

    __tablename__ = "volunteer_facts"

    volunteer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    home_unit_id: Mapped[str] = mapped_column(String(64), index=True)
    registered_on: Mapped[date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))


class AwardFact(Base):
    """A 民族团结之星 awarded (and whether it was revoked), counted at the cycle's unit."""

    __tablename__ = "award_facts"

    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    awarded_on: Mapped[date] = mapped_column(Date)
    month: Mapped[str] = mapped_column(String(7))
    revoked: Mapped[bool] = mapped_column(Boolean)
