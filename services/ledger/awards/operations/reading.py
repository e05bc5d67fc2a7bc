"""Cycles as their committee and unit read them: the list, one cycle, its candidates, its
audit trail.
"""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.common.auth import STAFF_ROLES, Principal
from services.common.states import CandidateStatus, CycleStatus
from services.ledger.awards.models import (
    AwardCycle,
    Certificate,
    CommitteeMember,
)
from services.ledger.awards.operations._common import comment_meaning
from services.ledger.awards.operations.access import _members, can_manage, is_member
from services.ledger.awards.operations.candidates import _candidates, _hours
from services.ledger.awards.operations.notice import next_in_rank
from services.ledger.awards.operations.voting import _votes, standing
from services.ledger.models import (
    AuditEntry,
)

# ---- reading -----------------------------------------------------------------------------


def cycles_for(session: Session, who: Principal, status: str | None, page: int, per_page: int):
    """Cycles the caller sits on, or of a unit in the branch of their staff roles (the units
    they cover, and the units above them: an organizer of a community finds the district's
    cycle, as ``can_view`` lets them see it), newest first."""
    conditions = [
        AwardCycle.id.in_(
            select(CommitteeMember.cycle_id).where(CommitteeMember.account_id == who.account_id)
        )
    ]
    paths = who.paths(STAFF_ROLES)
    conditions += [AwardCycle.unit_path.startswith(path, autoescape=True) for path in paths]
    above = {path[: i + 1] for path in paths for i, c in enumerate(path) if c == "/" and i}
    if above:
        conditions.append(AwardCycle.unit_path.in_(sorted(above)))
    query = select(AwardCycle)
    if not who.system:
        query = query.where(or_(*conditions))
    if status:
        query = query.where(AwardCycle.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(
        query.order_by(AwardCycle.created_at.desc(), AwardCycle.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return rows, total


def cycle_dict(session: Session, found: AwardCycle, who: Principal | None = None) -> dict:
    """A cycle with its rules, committee and, when voting, where the tally stands."""
    members = _members(session, found.id)
    answer = {
        "id": found.id,
        "title": found.title,
        "unit_id": found.unit_id,
        "unit_name": found.unit_name,
        "period_start": found.period_start,
        "period_end": found.period_end,
        "criteria": {
            "min_points": found.min_points,
            "min_activities": found.min_activities,
            "min_dimensions": found.min_dimensions,
            "max_no_shows": found.max_no_shows,
        },
        "quota": found.quota,
        "committee": list(members),
        "committee_members": [
            {"account_id": m.account_id, "name": m.name} for m in members.values()
        ],
        "quorum": found.quorum,
        "majority": found.majority_permille / 1000,
        "notice_days": found.notice_days,
        "status": found.status,
        "status_label": CycleStatus.label_of(found.status),
        "created_at": found.created_at,
        "opened_at": found.opened_at,
        "notice_started_on": found.notice_started_on,
        "notice_ends_on": found.notice_ends_on,
        "published_at": found.published_at,
        "closed_at": found.closed_at,
        "closed_reason": found.closed_reason,
        "tie_break": json.loads(found.tie_break) if found.tie_break else None,
        "winners": [],
        "tie": [],
        "tie_places": 0,
        "next_in_rank": None,
        "can_manage": bool(who and can_manage(session, who, found)),
        "is_member": bool(who and who.account_id in members),
    }
    if found.status == CycleStatus.OPEN:
        _tallies, selection = standing(session, found)
        answer.update(winners=selection.winners, tie=selection.tie, tie_places=selection.tie_places)
    elif found.status != CycleStatus.DRAFT:
        answer["winners"] = [
            c.id
            for c in _candidates(session, found.id)
            if c.status in (CandidateStatus.PROPOSED, CandidateStatus.WINNER)
        ]
    if found.status == CycleStatus.NOTICE:
        following = next_in_rank(session, found)
        answer["next_in_rank"] = following.id if following else None
    return answer


def candidates_page(session: Session, found: AwardCycle, who: Principal) -> list[dict]:
    """Every candidate with evidence, story, tally and the caller's own vote; who voted what
    only for the cycle's committee (others with access read the tally and the outcome)."""
    candidates = _candidates(session, found.id)
    tallies, selection = standing(session, found, candidates)
    votes = defaultdict(list)
    named = is_member(session, who, found)
    for vote in _votes(session, found.id):
        if named or vote.member_id == who.account_id:
            votes[vote.candidate_id].append(vote)
    certificates = {
        c.candidate_id: c
        for c in session.scalars(select(Certificate).where(Certificate.cycle_id == found.id))
    }
    winners = set(selection.winners)
    items = []
    for c in candidates:
        counted = tallies[c.id]
        mine = next((v for v in votes[c.id] if v.member_id == who.account_id), None)
        certificate = certificates.get(c.id)
        items.append(
            {
                "candidate_id": c.id,
                "volunteer_id": c.volunteer_id,
                "name": c.name,
                "unit_id": c.home_unit_id,
                "unit_name": c.home_unit_name,
                "points": c.points,
                "rank": c.rank,
                "hours": _hours(c.hours_halves),
                "activities": c.activities,
                "dimensions": c.dimensions,
                "no_shows": c.no_shows,
                "evidence": json.loads(c.evidence),
                "story": c.story,
                "nominated_by_name": c.nominated_by_name,
                "status": c.status,
                "would_win": c.id in winners if found.status == CycleStatus.OPEN else None,
                "tied": c.id in selection.tie if found.status == CycleStatus.OPEN else False,
                "tally": {
                    "approve": counted.approve,
                    "reject": counted.reject,
                    "abstain": counted.abstain,
                    "recused": counted.recused,
                    "eligible": counted.eligible,
                    "quorum_needed": counted.quorum_needed,
                    "outcome": counted.outcome,
                },
                "votes": [
                    {
                        "member_id": v.member_id,
                        "member_name": v.member_name,
                        "decision": v.decision,
                        "comment": v.comment,
                        "comment_message": comment_meaning(v, c.volunteer_id),
                        "automatic": v.automatic,
                        "cast_at": v.cast_at,
                        "changed_at": v.changed_at,
                    }
                    for v in votes[c.id]
                ],
                "my_vote": mine.decision if mine else None,
                "certificate_code": certificate.code if certificate else None,
            }
        )
    return items


# Acts whose author only the cycle's committee may know, and who they are to everyone else.
CONFIDENTIAL_ACTS = {
    "voted": "committee_member",
    "vote_changed": "committee_member",
    "recused": "committee_member",
    "objection_lodged": "resident",
}


def audit_trail(session: Session, found: AwardCycle, who: Principal) -> list[dict]:
    """Every recorded act on the cycle, oldest first; for anyone outside its committee a vote is
    a committee member's and an objection a resident's (no name, id, decision or reason)."""
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_id == found.id, AuditEntry.action.startswith("award."))
        .order_by(AuditEntry.id)
    )
    named = is_member(session, who, found)
    trail = []
    for row in rows:
        action, detail = row.action.removeprefix("award."), json.loads(row.detail)
        hidden = None if named or row.actor_id == who.account_id else CONFIDENTIAL_ACTS.get(action)
        if hidden:
            detail = {key: detail[key] for key in ("candidate_id",) if key in detail}
        trail.append(
            {
                "at": row.at,
                "actor_id": None if hidden else row.actor_id,
                "anonymous_as": hidden,
                "action": action,
                "detail": detail,
            }
        )
    return trail
