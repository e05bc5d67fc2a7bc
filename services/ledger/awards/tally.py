"""Counting a committee's votes: quorum, majority, the quota and ties at its line (pure).

Rules (DESIGN §7, recorded here because the issue leaves the arithmetic open):
- Votes cast are approve + reject + abstain; an abstention counts towards the quorum and
  against the majority (it is a vote that does not approve).
- A recused member is not counted for that candidate: the quorum needed is the cycle's quorum,
  or every member who may vote when recusals leave fewer than that.
- A candidate is approved when the votes cast reach the quorum and the approving share, rounded
  half up to thousandths, is at least the majority (2 of 3 is 0.667, so "0.667" means two thirds).
- Winners are the approved candidates in rank order, within the quota. When candidates with the
  same points straddle the quota line, the committee decides which of them take the places left;
  its decision holds while the tied group stays the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.common.states import Outcome, VoteDecision

DECISIONS = (VoteDecision.APPROVE, VoteDecision.REJECT, VoteDecision.ABSTAIN)
RECUSED = VoteDecision.RECUSED


@dataclass
class CandidateTally:
    """The votes on one candidate and what they amount to."""

    approve: int = 0
    reject: int = 0
    abstain: int = 0
    recused: int = 0
    eligible: int = 0
    quorum_needed: int = 0
    outcome: str = Outcome.PENDING

    @property
    def cast(self) -> int:
        """Votes cast (recusals are not votes)."""
        return self.approve + self.reject + self.abstain


def approving_permille(approve: int, cast: int) -> int:
    """The approving share of the votes cast in thousandths, rounded half up."""
    return (2 * approve * 1000 + cast) // (2 * cast)


def count(
    candidate_ids: Iterable[str],
    members: int,
    votes: Iterable[tuple[str, str]],
    quorum: int,
    majority_permille: int,
) -> dict[str, CandidateTally]:
    """Tally ``(candidate_id, decision)`` votes of a committee of ``members`` people."""
    tallies = {candidate_id: CandidateTally() for candidate_id in candidate_ids}
    for candidate_id, decision in votes:
        tally = tallies.get(candidate_id)
        if tally is not None:
            setattr(tally, decision, getattr(tally, decision) + 1)
    for tally in tallies.values():
        tally.eligible = members - tally.recused
        tally.quorum_needed = min(quorum, tally.eligible)
        if tally.eligible == 0 or tally.cast < tally.quorum_needed or tally.cast == 0:
            tally.outcome = Outcome.PENDING
        elif approving_permille(tally.approve, tally.cast) >= majority_permille:
            tally.outcome = Outcome.APPROVED
        else:
            tally.outcome = Outcome.REJECTED
    return tallies


@dataclass
class Selection:
    """Who would win now; ``tie`` names the tied candidates and the places left when the
    committee still has to decide between them."""

    winners: list[str] = field(default_factory=list)
    tie: list[str] = field(default_factory=list)
    tie_places: int = 0


def select(
    ranked: list[tuple[str, int]],
    approved: set[str],
    quota: int,
    tie_break: dict | None = None,
) -> Selection:
    """Winners among ``ranked`` ``(candidate_id, points)`` (best first) that were approved."""
    passing = [(cid, points) for cid, points in ranked if cid in approved]
    if len(passing) <= quota or passing[quota - 1][1] != passing[quota][1]:
        return Selection(winners=[cid for cid, _ in passing[:quota]])
    line = passing[quota - 1][1]
    above = [cid for cid, points in passing if points > line]
    group = [cid for cid, points in passing if points == line]
    places = quota - len(above)
    chosen = set((tie_break or {}).get("chosen", []))
    if (
        tie_break
        and sorted(tie_break.get("group", [])) == sorted(group)
        and len(chosen) == places
        and chosen <= set(group)
    ):
        return Selection(winners=above + [cid for cid in group if cid in chosen])
    return Selection(winners=above, tie=group, tie_places=places)
