"""Counting a committee's votes (pure): quorum, majority, recusals, the quota and its ties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.ledger.awards.tally import approving_permille, count, select


def test_two_of_three_meets_a_two_thirds_majority_written_as_0_667():
    assert approving_permille(2, 3) == 667
    assert approving_permille(4, 6) == 667
    assert approving_permille(1, 2) == 500
    tallies = count(["c"], 3, [("c", "approve"), ("c", "approve"), ("c", "reject")], 2, 667)
    assert tallies["c"].outcome == "approved"


def test_an_abstention_counts_for_the_quorum_and_against_the_majority():
    tallies = count(["c"], 3, [("c", "approve"), ("c", "abstain")], 2, 667)
    assert tallies["c"].cast == 2 and tallies["c"].outcome == "rejected"


def test_without_the_quorum_nothing_is_decided_yet():
    tallies = count(["c"], 5, [("c", "approve"), ("c", "approve")], 3, 667)
    assert tallies["c"].outcome == "pending" and tallies["c"].quorum_needed == 3


def test_recusals_lower_the_quorum_to_the_members_who_may_vote():
    votes = [("c", "recused"), ("c", "recused"), ("c", "approve")]
    tallies = count(["c"], 3, votes, 2, 667)
    assert tallies["c"].eligible == 1 and tallies["c"].quorum_needed == 1
    assert tallies["c"].outcome == "approved"
    everyone_recused = count(["c"], 1, [("c", "recused")], 1, 667)
    assert everyone_recused["c"].outcome == "pending"


def test_winners_are_the_approved_in_rank_order_within_the_quota():
    ranked = [("a", 90), ("b", 80), ("c", 70), ("d", 60)]
    chosen = select(ranked, {"a", "c", "d"}, 2)
    assert chosen.winners == ["a", "c"] and chosen.tie == []


def test_a_tie_at_the_line_waits_for_the_committee_and_its_decision_holds_for_that_group():
    ranked = [("a", 90), ("b", 70), ("c", 70), ("d", 70), ("e", 60)]
    approved = {"a", "b", "c", "d", "e"}
    open_tie = select(ranked, approved, 2)
    assert (
        open_tie.winners == ["a"] and open_tie.tie == ["b", "c", "d"] and open_tie.tie_places == 1
    )
    decided = {"group": ["b", "c", "d"], "chosen": ["c"]}
    assert select(ranked, approved, 2, decided).winners == ["a", "c"]
    # When votes change the tied group, the old decision no longer applies.
    assert select(ranked, approved - {"d"}, 2, decided).tie == ["b", "c"]
    # A tie below the line is no tie for the committee.
    assert select(ranked, approved, 4).winners == ["a", "b", "c", "d"]


@given(
    points=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=12),
    approved_mask=st.lists(st.booleans(), min_size=12, max_size=12),
    quota=st.integers(min_value=1, max_value=6),
)
def test_the_selection_never_exceeds_the_quota_and_never_skips_a_better_approved_candidate(
    points, approved_mask, quota
):
    ranked = sorted(((f"c{n}", p) for n, p in enumerate(points)), key=lambda c: -c[1])
    approved = {cid for (cid, _), ok in zip(ranked, approved_mask, strict=False) if ok}
    chosen = select(ranked, approved, quota)
    assert len(chosen.winners) + chosen.tie_places <= quota
    assert set(chosen.winners) <= approved and set(chosen.tie) <= approved
    best = {cid: p for cid, p in ranked}
    if chosen.winners:
        line = min(best[w] for w in chosen.winners)
        assert all(best[c] < line or c in chosen.winners or c in chosen.tie for c in approved)
    if not chosen.tie:
        assert len(chosen.winners) == min(quota, len(approved))
