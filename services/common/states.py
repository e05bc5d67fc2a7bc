"""Every status the platform stores, one enum per kind, with its Chinese label beside it.

The values are the strings the databases and the events have always held (a ``StrEnum``
member *is* its string, so ``status == SignupStatus.CONFIRMED`` and ``status == "confirmed"``
agree, and columns stay plain strings). The labels are the message ids web translates with
gettext (their English is in web/translations/en.po); where a page or a document words a
status its own way, that wording is here too, under its own name.

The award cycle's transitions are in ``CYCLE_TRANSITIONS``: the one table of which act moves a
cycle from which state to which.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Labelled(StrEnum):
    """A status: its value as stored, its Chinese label as shown (``member.label``)."""

    label: str

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Value → label, in the enum's order (for templates and select boxes)."""
        return {member.value: member.label for member in cls}

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The label of a stored value; an unknown value is shown as it is."""
        try:
            return cls(value).label
        except ValueError:
            return value or ""


# ---- activities --------------------------------------------------------------------------


class ActivityStatus(Labelled):
    """An activity's lifecycle: draft → published → completed → closed, or cancelled."""

    DRAFT = "draft", "草稿"
    PUBLISHED = "published", "已发布"
    COMPLETED = "completed", "已完成"
    CLOSED = "closed", "已关闭"
    CANCELLED = "cancelled", "已取消"


# How an activity reads on the volunteers' pages (where a published one is open for sign-ups).
ACTIVITY_FOR_VOLUNTEERS = {
    ActivityStatus.PUBLISHED: "报名中",
    ActivityStatus.CANCELLED: "活动已取消",
    ActivityStatus.COMPLETED: "已结束",
    ActivityStatus.CLOSED: "已关闭",
}


# ---- volunteers --------------------------------------------------------------------------


class SignupStatus(Labelled):
    """A sign-up holds a place, waits in the queue, or was cancelled."""

    CONFIRMED = "confirmed", "已获得名额"
    WAITLISTED = "waitlisted", "候补中"
    CANCELLED = "cancelled", "已取消"


LIVE_SIGNUP = (SignupStatus.CONFIRMED, SignupStatus.WAITLISTED)


class AttendanceStatus(Labelled):
    """Attendance is open until the organizer confirms its hours or records a no-show."""

    OPEN = "open", "待确认"
    CONFIRMED = "confirmed", "已确认"
    NO_SHOW = "no_show", "缺席"


# ---- ledger ------------------------------------------------------------------------------


class AdjustmentStatus(Labelled):
    """A manual adjustment waits for a second administrator, who approves or rejects it."""

    PENDING = "pending", "待审批"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "已驳回"


# ---- award cycles ------------------------------------------------------------------------


class CycleStatus(Labelled):
    """An award cycle: draft → open → notice → published (→ revoked), or cancelled."""

    DRAFT = "draft", "草稿"
    OPEN = "open", "评审中"
    NOTICE = "notice", "公示中"
    PUBLISHED = "published", "已发布"
    CANCELLED = "cancelled", "已取消"
    REVOKED = "revoked", "已撤销"


class CandidateStatus(Labelled):
    """A candidate: listed → proposed (on notice) → winner → revoked; or removed."""

    LISTED = "listed", "候选"
    PROPOSED = "proposed", "拟表彰"
    REMOVED = "removed", "已移除"
    WINNER = "winner", "获评"
    REVOKED = "revoked", "已撤销"


# How the committee's Excel file words a candidate's status.
CANDIDATE_IN_EXPORT = {
    **CandidateStatus.labels(),
    CandidateStatus.PROPOSED: "公示中",
    CandidateStatus.REMOVED: "异议成立，已移除",
}


class ObjectionStatus(Labelled):
    """An objection waits for the committee, which upholds or dismisses it."""

    PENDING = "pending", "待处理"
    UPHELD = "upheld", "成立"
    DISMISSED = "dismissed", "不成立"


class VoteDecision(Labelled):
    """A member's vote on a candidate."""

    APPROVE = "approve", "赞成"
    REJECT = "reject", "反对"
    ABSTAIN = "abstain", "弃权"
    RECUSED = "recused", "回避"


# How the committee's Excel file words a vote.
VOTE_IN_EXPORT = {
    **VoteDecision.labels(),
    VoteDecision.APPROVE: "同意",
    VoteDecision.REJECT: "不同意",
}


class Outcome(Labelled):
    """Where a candidate stands in the tally."""

    APPROVED = "approved", "通过"
    REJECTED = "rejected", "未通过"
    PENDING = "pending", "尚未决定"


# How the committee's Excel file words the tally (a pending tally lacks its quorum there).
OUTCOME_IN_EXPORT = {**Outcome.labels(), Outcome.PENDING: "未达法定人数"}


class Move(NamedTuple):
    """An act on a cycle: the states it may start from, the states it may leave the cycle in,
    and what a refusal says (followed by the current status)."""

    start: tuple[CycleStatus, ...]
    to: tuple[CycleStatus, ...]
    refusal: str


_DRAFT, _OPEN, _NOTICE = (CycleStatus.DRAFT,), (CycleStatus.OPEN,), (CycleStatus.NOTICE,)
_PUBLISHED, _CANCELLED = (CycleStatus.PUBLISHED,), (CycleStatus.CANCELLED,)

# Every act on a cycle that needs it in a given status, and where the act may leave it. Acts
# that leave it where it was (voting, a story, a tie, objections) are here too, so that the
# whole of what may happen in each status is read in one place.
CYCLE_TRANSITIONS: dict[str, Move] = {
    "open": Move(_DRAFT, _OPEN, "只有草稿状态的评选可以开始"),
    "tell_story": Move(_OPEN, _OPEN, "只有评审中的评选可以填写推荐事迹"),
    "vote": Move(_OPEN, _OPEN, "投票已结束"),
    "break_tie": Move(_OPEN, _OPEN, "只有评审中的评选需要处理并列"),
    "start_notice": Move(_OPEN, _NOTICE, "只有评审中的评选可以进入公示"),
    "lodge_objection": Move(_NOTICE, _NOTICE, "只有公示期内可以提出异议"),
    "decide_objection": Move(_NOTICE, _NOTICE, "只有公示期内可以处理异议"),
    "propose": Move(_NOTICE, _NOTICE, "只有公示期内可以递补"),
    "publish": Move(_NOTICE, _PUBLISHED, "只有公示结束的评选可以发布"),
    # Revoking one winner keeps the cycle published; revoking the last one revokes the cycle.
    "revoke": Move(
        _PUBLISHED, (CycleStatus.PUBLISHED, CycleStatus.REVOKED), "只有已发布的评选可以撤销"
    ),
    "cancel": Move(_DRAFT + _OPEN + _NOTICE, _CANCELLED, "已发布或已取消的评选不能取消"),
}


def allowed_moves(status: str) -> list[str]:
    """The acts a cycle in this status allows, in the table's order."""
    return [act for act, move in CYCLE_TRANSITIONS.items() if status in move.start]
