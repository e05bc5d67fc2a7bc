"""Tables owned by services/ledger: projections of units, volunteers and activities; points rules,
the append-only hash-chained ledger, the state it is computed from, the standings totals derived
from it, adjustments and the audit trail.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.projections import UnitViewMixin
from services.common.states import ActivityStatus
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


class ActivityView(Base):
    """What the ledger knows of an activity: its title (for explanations), host and dimensions."""

    __tablename__ = "activity_views"

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    dimensions: Mapped[str] = mapped_column(String(200))  # comma-separated
    host_unit_path: Mapped[str] = mapped_column(String(512))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(
        String(16), default=ActivityStatus.PUBLISHED.value, server_default="published"
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActivitySummary(Base):
    """An activity's confirmed attendance in aggregate (``attendance.summarized``)."""

    __tablename__ = "activity_summaries"

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attendees: Mapped[int] = mapped_column(Integer)
    distinct_groups: Mapped[int | None] = mapped_column(Integer)
    cross_group: Mapped[bool] = mapped_column(Boolean)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PointsRule(Base):
    """One version of the points rule. It applies to attendance on or after ``effective_from``
    that was confirmed after the rule was recorded (``created_at``), so it never rewrites history.
    """

    __tablename__ = "points_rules"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    effective_from: Mapped[date] = mapped_column(Date)
    attendance_base: Mapped[int] = mapped_column(Integer)
    points_per_hour: Mapped[int] = mapped_column(Integer)
    max_half_hours: Mapped[int] = mapped_column(Integer)  # at most this many half-hours count
    cross_group_bonus_percent: Mapped[int] = mapped_column(Integer)
    no_show_penalty: Mapped[int] = mapped_column(Integer)  # points taken, as a positive number
    daily_cap: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)


class LedgerEntry(Base):
    """One row of the points ledger. Rows are only ever inserted (see ``_refuse_changes`` and the
    database triggers of migration 0003); a correction is a new ``reversal`` row.

    ``seq`` orders the hash chain: ``hash`` = SHA-256 over ``prev_hash``, ``seq`` and the row's
    content, so altering, removing or inserting a row breaks the chain at that row.
    ``explanation`` is the computation in plain Chinese without the date and activity title,
    which are put in front of it when the row is shown (the title comes from another topic, so
    it is not part of what a rebuild must reproduce byte for byte).
    """

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[str] = mapped_column(String(36), unique=True)
    volunteer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # award | reversal | adjustment
    reason_code: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    hours_halves: Mapped[int] = mapped_column(Integer)  # confirmed half-hours this row counts
    explanation: Mapped[str] = mapped_column(String(300))
    # The explanation's meaning, {"key", "values"} as JSON, for other languages: outside the
    # hash chain (rows written before it was kept have none).
    explanation_message: Mapped[str | None] = mapped_column(Text)
    activity_id: Mapped[str | None] = mapped_column(String(64))
    attendance_id: Mapped[str | None] = mapped_column(String(64))
    entry_date: Mapped[date] = mapped_column(Date)
    rule_version: Mapped[int | None] = mapped_column(Integer)
    source_event_id: Mapped[str | None] = mapped_column(String(36))
    reverses_entry_id: Mapped[str | None] = mapped_column(String(36))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_ledger_entries_volunteer", "volunteer_id", "seq"),
        Index("ix_ledger_entries_date", "entry_date"),
    )


class LedgerImmutable(RuntimeError):
    """Someone tried to update or delete a ledger row."""


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
def _refuse_changes(_mapper, _connection, target):
    raise LedgerImmutable(f"ledger rows are never updated or deleted (entry {target.entry_id})")


class ChainHead(Base):
    """The end of the hash chain: the last row's sequence number and hash (one row, id 1).

    Every transaction that appends locks it first, so appends are serial and the chain linear.
    """

    __tablename__ = "ledger_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class PointsTotal(Base):
    """A volunteer's points in one day, month or year: derived from the ledger rows, kept in the
    same transaction as they are appended, so standings sum a few of these instead of the rows.

    ``period`` names the span by its digits: 2026 is the year, 202603 March 2026, 20260308 the
    8th of March (the three never overlap). ``entries`` counts the rows summed. ``home_unit_id``
    and ``team_id`` are the volunteer's as the ledger knows them now (NULL while it does not
    know the volunteer), so standings of a unit read only this table; they follow the volunteer
    when they move. Unlike ledger rows, totals are updated; ``shiliu ledger verify`` checks them
    against the rows and a rebuild writes them anew.
    """

    __tablename__ = "points_totals"

    volunteer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    points: Mapped[int] = mapped_column(Integer)
    entries: Mapped[int] = mapped_column(Integer)
    home_unit_id: Mapped[str | None] = mapped_column(String(64))
    team_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        # Standings of a unit read only this index on PostgreSQL (an index-only scan).
        Index(
            "ix_points_totals_scope",
            "period",
            "home_unit_id",
            postgresql_include=["volunteer_id", "points", "entries"],
        ),
        Index(
            "ix_points_totals_team",
            "team_id",
            "period",
            sqlite_where=text("team_id IS NOT NULL"),
            postgresql_where=text("team_id IS NOT NULL"),
        ),
        {"sqlite_with_rowid": False},
    )


class AttendanceState(Base):
    """The attendance the ledger currently counts for one attendance id: the confirmation or
    correction with the highest ``(confirmed_at, kind, event id)``, whatever the arrival order."""

    __tablename__ = "attendance_states"

    attendance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(64))
    activity_date: Mapped[date] = mapped_column(Date)
    version_key: Mapped[str] = mapped_column(String(120))
    source_event_id: Mapped[str] = mapped_column(String(36))
    half_hours: Mapped[int] = mapped_column(Integer)  # counted (after the rule's maximum)
    weight_percent: Mapped[int] = mapped_column(Integer)
    cross_group: Mapped[bool] = mapped_column(Boolean)
    rule_version: Mapped[int] = mapped_column(Integer)
    computed_points: Mapped[int] = mapped_column(Integer)  # before the daily cap
    award_entry_id: Mapped[str | None] = mapped_column(String(36))
    awarded_points: Mapped[int] = mapped_column(Integer, default=0)
    awarded_halves: Mapped[int] = mapped_column(Integer, default=0)
    award_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_attendance_states_day", "volunteer_id", "activity_date"),
        Index("ix_attendance_states_activity", "volunteer_id", "activity_id"),
    )


class NoShowState(Base):
    """A recorded no-show (one per sign-up) and the penalty row in force for it, if any."""

    __tablename__ = "no_show_states"

    signup_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(64))
    activity_date: Mapped[date] = mapped_column(Date)
    penalty_entry_id: Mapped[str | None] = mapped_column(String(36))
    penalty_points: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_no_show_states_activity", "volunteer_id", "activity_id"),)


class Adjustment(Base):
    """A manual adjustment: requested by one administrator, counted once a second approves
    (or never, once a second rejects it with a reason)."""

    __tablename__ = "adjustments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(64), index=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    entry_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)  # an AdjustmentStatus
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by: Mapped[str | None] = mapped_column(String(64))
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(String(200))
    entry_id: Mapped[str | None] = mapped_column(String(36))
    idempotency_key: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("requested_by", "idempotency_key"),)


class AuditEntry(Base):
    """The ledger's audit trail: who did what, to what, when."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(1000))
