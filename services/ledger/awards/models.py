"""Tables of the award cycles (in the ledger's database, on the ledger's metadata)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.types import UTCDateTime
from services.ledger.models import Base


class AwardCycle(Base):
    """One round of selection for a unit and a period, with its criteria and committee rules.

    ``status``: draft → open (candidates listed, voting) → notice (公示) → published, or
    cancelled; a published cycle whose every award was revoked is ``revoked`` (the moves are
    ``CYCLE_TRANSITIONS`` of services/common/states.py).
    ``majority_permille`` is the approving share of the votes cast, in thousandths (667 = 2/3).
    """

    __tablename__ = "award_cycles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    unit_path: Mapped[str] = mapped_column(String(512), index=True)
    unit_name: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    min_points: Mapped[int] = mapped_column(Integer)
    min_activities: Mapped[int] = mapped_column(Integer)
    min_dimensions: Mapped[int] = mapped_column(Integer)
    max_no_shows: Mapped[int] = mapped_column(Integer)
    quota: Mapped[int] = mapped_column(Integer)
    quorum: Mapped[int] = mapped_column(Integer)
    majority_permille: Mapped[int] = mapped_column(Integer)
    notice_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # a CycleStatus
    tie_break: Mapped[str | None] = mapped_column(Text)  # JSON: the committee's decision
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_started_on: Mapped[date | None] = mapped_column(Date)
    notice_ends_on: Mapped[date | None] = mapped_column(Date)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # cancelled or revoked
    closed_reason: Mapped[str | None] = mapped_column(String(500))


class CommitteeMember(Base):
    """A member of a cycle's committee (an account id; the name is learnt when they act)."""

    __tablename__ = "award_committee_members"

    cycle_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("award_cycles.id"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    name: Mapped[str] = mapped_column(String(50), default="")
    team_id: Mapped[str | None] = mapped_column(String(64))  # their volunteer team, if any


class Candidate(Base):
    """A volunteer who met the cycle's criteria when it opened, with the evidence (JSON, frozen
    then so that what the committee reviews cannot shift under it).

    ``status``: listed → proposed (on notice) → winner → revoked; or removed (objection upheld).
    """

    __tablename__ = "award_candidates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(36), ForeignKey("award_cycles.id"))
    volunteer_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(50))
    home_unit_id: Mapped[str] = mapped_column(String(64))
    home_unit_name: Mapped[str] = mapped_column(String(100))
    team_id: Mapped[str | None] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # order within the ranking (ties by id)
    hours_halves: Mapped[int] = mapped_column(Integer)
    activities: Mapped[int] = mapped_column(Integer)
    dimensions: Mapped[int] = mapped_column(Integer)
    no_shows: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[str] = mapped_column(Text)
    story: Mapped[str | None] = mapped_column(Text)
    nominated_by: Mapped[str | None] = mapped_column(String(64))
    nominated_by_name: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16))  # a CandidateStatus

    __table_args__ = (
        UniqueConstraint("cycle_id", "volunteer_id", name="uq_award_candidates_volunteer"),
        Index("ix_award_candidates_cycle", "cycle_id", "position"),
    )


class Vote(Base):
    """A member's vote on a candidate: approve, reject, abstain, or recused (automatically for
    themselves and their own team, or by their own word). One per member and candidate."""

    __tablename__ = "award_votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = mapped_column(String(36), ForeignKey("award_cycles.id"))
    candidate_id: Mapped[str] = mapped_column(String(36), ForeignKey("award_candidates.id"))
    member_id: Mapped[str] = mapped_column(String(64))
    member_name: Mapped[str] = mapped_column(String(50), default="")
    decision: Mapped[str] = mapped_column(String(16))  # a VoteDecision
    comment: Mapped[str] = mapped_column(String(500), default="")
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("cycle_id", "candidate_id", "member_id", name="uq_award_votes_once"),
    )


class Objection(Base):
    """An objection (异议) lodged during the notice, and the committee's decision on it."""

    __tablename__ = "award_objections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(36), ForeignKey("award_cycles.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(String(36), ForeignKey("award_candidates.id"))
    lodged_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(1000))
    lodged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # an ObjectionStatus
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_by_name: Mapped[str | None] = mapped_column(String(50))
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("candidate_id", "lodged_by", name="uq_award_objections_once"),
    )


class Certificate(Base):
    """A winner's certificate: the public verification code and whether it still stands."""

    __tablename__ = "award_certificates"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    cycle_id: Mapped[str] = mapped_column(String(36), ForeignKey("award_cycles.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(String(36), ForeignKey("award_candidates.id"))
    volunteer_id: Mapped[str] = mapped_column(String(64), index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (UniqueConstraint("candidate_id", name="uq_award_certificates_candidate"),)
