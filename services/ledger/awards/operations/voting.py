"""The committee's votes, recusals, the standing and breaking a tie."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from events.envelope import utcnow
from services.common.auth import Forbidden, Principal
from services.common.errors import Conflict, Message, NotFound
from services.common.states import CandidateStatus, Outcome
from services.ledger.awards import tally
from services.ledger.awards.models import (
    AwardCycle,
    Candidate,
    CommitteeMember,
    Vote,
)
from services.ledger.awards.operations._common import (
    _event,
    _invalid,
    audit,
    check_move,
    cycle,
)
from services.ledger.awards.operations.access import _members, managed_cycle
from services.ledger.awards.operations.candidates import _candidates, candidate


def _member_for_vote(session: Session, who: Principal, found: AwardCycle) -> CommitteeMember:
    member = session.get(CommitteeMember, (found.id, who.account_id))
    if member is None:
        raise Forbidden("只有本评选的评审委员可以投票", code="not-a-member")
    if who.name and member.name != who.name[:50]:
        member.name = who.name[:50]
    check_move(found, "vote")
    return member


def _existing_vote(session: Session, found: AwardCycle, picked: Candidate, member_id: str):
    return session.scalar(
        select(Vote).where(
            Vote.cycle_id == found.id,
            Vote.candidate_id == picked.id,
            Vote.member_id == member_id,
        )
    )


def _refuse_if_recused(vote: Vote | None) -> None:
    if vote is not None and vote.decision == tally.RECUSED:
        raise Conflict(
            "你已回避这位候选人，不能投票（{why}）",
            code="recused",
            values={"why": vote.comment or Message("本人回避")},
        )


def cast_vote(session: Session, who: Principal, cycle_id: str, body: dict) -> Vote:
    """A member's first vote on a candidate; a second is refused (change it instead)."""
    found = cycle(session, cycle_id, lock=True)
    member = _member_for_vote(session, who, found)
    picked = candidate(session, found, body["candidate_id"])
    existing = _existing_vote(session, found, picked, member.account_id)
    _refuse_if_recused(existing)
    if existing is not None:
        raise Conflict("你已对这位候选人投过票；如需改票，请修改原来的投票", code="already-voted")
    vote = Vote(
        cycle_id=found.id,
        candidate_id=picked.id,
        member_id=member.account_id,
        member_name=member.name,
        decision=body["decision"],
        comment=body.get("comment", "").strip(),
        automatic=False,
        cast_at=utcnow(),
    )
    session.add(vote)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent first vote by the same member won
        raise Conflict("你已对这位候选人投过票", code="already-voted") from exc
    audit(session, who, "voted", found, candidate_id=picked.id, decision=vote.decision)
    _tell_of_tie(session, found)
    return vote


def change_vote(
    session: Session, who: Principal, cycle_id: str, candidate_id: str, body: dict
) -> Vote:
    """A member changes their vote while voting is open."""
    found = cycle(session, cycle_id, lock=True)
    member = _member_for_vote(session, who, found)
    picked = candidate(session, found, candidate_id)
    vote = _existing_vote(session, found, picked, member.account_id)
    _refuse_if_recused(vote)
    if vote is None:
        raise NotFound("你还没有对这位候选人投票", code="no-vote")
    before = vote.decision
    vote.decision, vote.comment = body["decision"], body.get("comment", "").strip()
    vote.changed_at = utcnow()
    audit(
        session,
        who,
        "vote_changed",
        found,
        candidate_id=picked.id,
        before=before,
        after=vote.decision,
    )
    session.flush()
    _tell_of_tie(session, found)
    return vote


def recuse(session: Session, who: Principal, cycle_id: str, candidate_id: str, reason: str) -> Vote:
    """A member steps aside from a candidate; a vote already cast is withdrawn."""
    found = cycle(session, cycle_id, lock=True)
    member = _member_for_vote(session, who, found)
    picked = candidate(session, found, candidate_id)
    vote = _existing_vote(session, found, picked, member.account_id)
    _refuse_if_recused(vote)
    now = utcnow()
    if vote is None:
        vote = Vote(
            cycle_id=found.id,
            candidate_id=picked.id,
            member_id=member.account_id,
            member_name=member.name,
            automatic=False,
            cast_at=now,
        )
        session.add(vote)
    else:
        vote.changed_at = now
    vote.decision, vote.comment = tally.RECUSED, reason.strip()
    session.flush()
    audit(session, who, "recused", found, candidate_id=picked.id, reason=vote.comment)
    _tell_of_tie(session, found)
    return vote


def _tell_of_tie(session: Session, found: AwardCycle) -> None:
    """After a vote, a tie at the quota line the committee has not decided is announced
    (``award.tie_found``; the same tie again is told once by its readers)."""
    if found.tie_break:
        return
    _tallies, selection = standing(session, found)
    if selection.tie:
        _event(
            session,
            "award.tie_found",
            {
                "cycle_id": found.id,
                "candidate_ids": sorted(selection.tie),
                "places": selection.tie_places,
            },
        )


def _votes(session: Session, cycle_id: str) -> list[Vote]:
    return list(
        session.scalars(
            select(Vote).where(Vote.cycle_id == cycle_id).order_by(Vote.cast_at, Vote.id)
        )
    )


def standing(session: Session, found: AwardCycle, candidates: list[Candidate] | None = None):
    """The tallies of every candidate and the selection they give (see ``tally``)."""
    candidates = candidates if candidates is not None else _candidates(session, found.id)
    members = len(_members(session, found.id))
    tallies = tally.count(
        [c.id for c in candidates],
        members,
        [(v.candidate_id, v.decision) for v in _votes(session, found.id)],
        found.quorum,
        found.majority_permille,
    )
    in_play = [(c.id, c.points) for c in candidates if c.status != CandidateStatus.REMOVED]
    approved = {cid for cid, t in tallies.items() if t.outcome == Outcome.APPROVED}
    tie_break = json.loads(found.tie_break) if found.tie_break else None
    return tallies, tally.select(in_play, approved, found.quota, tie_break)


def break_tie(session: Session, who: Principal, cycle_id: str, chosen: list[str], reason: str):
    """The committee decides which of the candidates tied at the quota line take the places."""
    found = managed_cycle(session, who, cycle_id, "break_tie")
    found.tie_break = None
    _tallies, selection = standing(session, found)
    if not selection.tie:
        raise Conflict("目前没有需要委员会决定的并列", code="no-tie")
    if len(set(chosen)) != selection.tie_places or not set(chosen) <= set(selection.tie):
        raise _invalid(
            "candidate_ids",
            "请从并列的 {count} 位候选人中选出 {places} 位",
            count=len(selection.tie),
            places=selection.tie_places,
        )
    found.tie_break = json.dumps(
        {
            "group": selection.tie,
            "chosen": sorted(set(chosen)),
            "reason": reason.strip(),
            "by": who.account_id,
            "by_name": who.name,
            "at": utcnow().isoformat(),
        },
        ensure_ascii=False,
    )
    audit(
        session,
        who,
        "tie_decided",
        found,
        group=selection.tie,
        chosen=sorted(set(chosen)),
        reason=reason,
    )
    return found
