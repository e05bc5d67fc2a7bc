"""Tables owned by services/notifications: each person's inbox, the reminders it will send, the
deliveries on outside channels with every attempt, preferences, and what it learns from the
topics to word its messages (activities, sign-ups, volunteers' names and hours, award cycles).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.projections import UnitViewMixin
from services.common.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of services/notifications."""


class UnitView(UnitViewMixin, Base):
    """The unit tree, for administrators' scope over deliveries."""


class Notification(Base):
    """One message in one person's inbox. ``dedupe_key`` names what it tells of (the event and
    kind, or the reminder): a second delivery of the same event finds it there and adds nothing."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("recipient_id", "dedupe_key", name="uq_notifications_dedupe"),
        Index("ix_notifications_inbox", "recipient_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    # What fills the kind's template (the activity's or cycle's title, time and place are
    # added when it is read: telling.message).
    values: Mapped[dict] = mapped_column(JSON)
    link: Mapped[str] = mapped_column(String(300))
    urgent: Mapped[bool] = mapped_column(Boolean)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    activity_id: Mapped[str | None] = mapped_column(String(64))
    signup_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(16))  # a reminder's: coming, not_coming
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Reminder(Base):
    """A reminder to send at ``due_at``, one per held sign-up and kind; sent once (the row is
    claimed with a conditional update), withdrawn when the sign-up or activity is cancelled and
    moved when the activity's time changes."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "state", "due_at"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # signup id / kind
    signup_id: Mapped[str] = mapped_column(String(64), index=True)
    volunteer_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))  # pending, sent, withdrawn
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Delivery(Base):
    """A message on an outside channel (SMS, WeChat): attempts, the next one, and the outcome."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    notification_id: Mapped[str] = mapped_column(String(36), unique=True)
    recipient_id: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))  # the adapter's, when first tried
    text: Mapped[str | None] = mapped_column(Text)  # what was (or would be) sent
    state: Mapped[str] = mapped_column(String(16))  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryAttempt(Base):
    """One try of a delivery and what came of it."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(36), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)


class Preference(Base):
    """A person's choices: kinds they do not want, and quiet hours for outside channels."""

    __tablename__ = "preferences"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    muted_kinds: Mapped[list] = mapped_column(JSON)
    quiet_at_night: Mapped[bool] = mapped_column(Boolean)
    outside_channels: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActivityView(Base):
    """What a message says of an activity, learnt from ``activity.*``."""

    __tablename__ = "activity_views"

    activity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(300))
    organizer_id: Mapped[str | None] = mapped_column(String(64))
    shifts: Mapped[list] = mapped_column(JSON)  # [{"shift_id", "name", "capacity"}]
    status: Mapped[str] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignupView(Base):
    """A sign-up as ``signup.*`` tell it: who holds a place (or waits) on which shift."""

    __tablename__ = "signup_views"

    signup_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(String(64))
    activity_id: Mapped[str] = mapped_column(String(64), index=True)
    shift_id: Mapped[str] = mapped_column(String(64))
    party_size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # confirmed, waitlisted, cancelled
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VolunteerView(Base):
    """A volunteer's name and home unit (``volunteer.*``), their confirmed hours (``points.*``)
    and the stars they were told of."""

    __tablename__ = "volunteer_views"

    volunteer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    home_unit_id: Mapped[str | None] = mapped_column(String(64))
    hours_halves: Mapped[int] = mapped_column(Integer)
    stars_told: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CycleView(Base):
    """An award cycle's title and committee (``award.cycle_opened``)."""

    __tablename__ = "cycle_views"

    cycle_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    committee: Mapped[list] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
