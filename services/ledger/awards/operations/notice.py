"""The public notice: starting it, objections and their decisions, proposing the next in
rank, and the notices the public reads.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from events.envelope import utcnow
from services.common.auth import Principal
from services.common.errors import Conflict, Message, NotFound
from services.common.states import CandidateStatus, CycleStatus, ObjectionStatus, Outcome
from services.ledger.awards.models import (
    AwardCycle,
    Candidate,
    Objection,
)
from services.ledger.awards.operations._common import (
    UPHELD_WITH,
    _event,
    _invalid,
    audit,
    check_move,
    cycle,
    move_cycle,
    today,
)
from services.ledger.awards.operations.access import is_member, managed_cycle
from services.ledger.awards.operations.candidates import _candidates, _hours, candidate
from services.ledger.awards.operations.voting import standing

# ---- notice, objections, publication -----------------------------------------------------


def _notice_end(found: AwardCycle) -> date:
    return today() + timedelta(days=found.notice_days - 1)


def start_notice(session: Session, who: Principal, cycle_id: str) -> AwardCycle:
    """Close the vote and put the winners it gives on public notice (公示)."""
    found = managed_cycle(session, who, cycle_id, "start_notice")
    candidates = _candidates(session, found.id)
    _tallies, selection = standing(session, found, candidates)
    if selection.tie:
        raise Conflict(
            "有 {count} 位候选人积分相同、并列在名额线上，请委员会先决定由谁入选",
            code="tie-undecided",
            values={"count": len(selection.tie)},
        )
    if not selection.winners:
        raise Conflict("还没有获得通过的候选人，不能进入公示", code="no-winners")
    winners = set(selection.winners)
    for c in candidates:
        if c.id in winners:
            c.status = CandidateStatus.PROPOSED
    move_cycle(found, "start_notice", CycleStatus.NOTICE)
    found.notice_started_on, found.notice_ends_on = today(), _notice_end(found)
    audit(
        session,
        who,
        "notice_started",
        found,
        proposed=selection.winners,
        ends_on=found.notice_ends_on,
    )
    _event(
        session,
        "award.notice_started",
        {
            "cycle_id": found.id,
            "notice_ends_on": found.notice_ends_on,
            "proposed_volunteer_ids": [c.volunteer_id for c in candidates if c.id in winners],
        },
    )
    return found


def lodge_objection(session: Session, who: Principal, cycle_id: str, body: dict) -> Objection:
    """Anyone signed in objects to a proposed winner during the notice, with a reason."""
    found = cycle(session, cycle_id, lock=True)
    check_move(found, "lodge_objection")
    if today() > found.notice_ends_on:
        raise Conflict(
            "公示期已于 {day} 结束",
            code="notice-over",
            values={"day": found.notice_ends_on.isoformat()},
        )
    picked = candidate(session, found, body["candidate_id"])
    if picked.status != CandidateStatus.PROPOSED:
        raise _invalid("candidate_id", "这位候选人不在公示名单中", code="not-proposed")
    objection = Objection(
        id=str(uuid.uuid4()),
        cycle_id=found.id,
        candidate_id=picked.id,
        lodged_by=who.account_id,
        reason=body["reason"].strip(),
        lodged_at=utcnow(),
        status=ObjectionStatus.PENDING,
    )
    session.add(objection)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "你已对这位候选人提出过异议，委员会将一并处理", code="already-objected"
        ) from exc
    audit(
        session, who, "objection_lodged", found, objection_id=objection.id, candidate_id=picked.id
    )
    _event(
        session,
        "award.objection_lodged",
        {"cycle_id": found.id, "objection_id": objection.id, "lodged_at": objection.lodged_at},
    )
    return objection


def decide_objection(
    session: Session, who: Principal, cycle_id: str, objection_id: str, body: dict
) -> Objection:
    """The committee upholds (the candidate is removed) or dismisses an objection, with a reason."""
    found = managed_cycle(session, who, cycle_id, "decide_objection")
    objection = session.get(Objection, objection_id)
    if objection is None or objection.cycle_id != found.id:
        raise NotFound("没有这条异议", code="unknown-objection")
    if objection.status != ObjectionStatus.PENDING:
        raise Conflict("这条异议已经处理过了", code="already-decided")
    upheld = body["decision"] == "uphold"
    objection.status = ObjectionStatus.UPHELD if upheld else ObjectionStatus.DISMISSED
    objection.decided_by, objection.decided_by_name = who.account_id, who.name[:50]
    objection.decision_reason, objection.decided_at = body["reason"].strip(), utcnow()
    decided = [objection]
    if upheld:
        picked = session.get(Candidate, objection.candidate_id)
        picked.status = CandidateStatus.REMOVED
        for other in session.scalars(
            select(Objection).where(
                Objection.candidate_id == picked.id, Objection.status == ObjectionStatus.PENDING
            )
        ):
            other.status, other.decided_by = ObjectionStatus.UPHELD, who.account_id
            other.decided_at = utcnow()
            other.decided_by_name = who.name[:50]
            other.decision_reason = UPHELD_WITH.format(reason=objection.decision_reason)
            decided.append(other)
    audit(
        session,
        who,
        f"objection_{objection.status}",
        found,
        objection_id=objection.id,
        candidate_id=objection.candidate_id,
        reason=objection.decision_reason,
    )
    for each in decided:  # each objector is told (those upheld with it too)
        _event(
            session,
            "award.objection_decided",
            {
                "cycle_id": found.id,
                "objection_id": each.id,
                "objector_id": each.lodged_by,
                "decision": str(each.status),
                "decided_at": each.decided_at,
            },
        )
    return objection


def next_in_rank(session: Session, found: AwardCycle) -> Candidate | None:
    """The best approved candidate not yet proposed, while places are free."""
    candidates = _candidates(session, found.id)
    if sum(c.status == CandidateStatus.PROPOSED for c in candidates) >= found.quota:
        return None
    tallies, _selection = standing(session, found, candidates)
    for c in candidates:
        if c.status == CandidateStatus.LISTED and tallies[c.id].outcome == Outcome.APPROVED:
            return c
    return None


def propose(session: Session, who: Principal, cycle_id: str, candidate_id: str) -> AwardCycle:
    """After an upheld objection, propose the next approved candidate in rank; the notice runs
    its full length again from today so that the public can object to them too."""
    found = managed_cycle(session, who, cycle_id, "propose")
    picked = candidate(session, found, candidate_id)
    following = next_in_rank(session, found)
    if following is None:
        raise Conflict("没有空出的名额，或没有可递补的候选人", code="nothing-to-propose")
    if following.id != picked.id:
        raise _invalid(
            "candidate_id", "应按名次递补：下一位是 {name}", code="not-next", name=following.name
        )
    picked.status = CandidateStatus.PROPOSED
    found.notice_ends_on = max(found.notice_ends_on, _notice_end(found))
    audit(
        session, who, "proposed", found, candidate_id=picked.id, notice_ends_on=found.notice_ends_on
    )
    proposed = [
        c.volunteer_id
        for c in _candidates(session, found.id)
        if c.status == CandidateStatus.PROPOSED
    ]
    _event(
        session,
        "award.notice_started",
        {
            "cycle_id": found.id,
            "notice_ends_on": found.notice_ends_on,
            "proposed_volunteer_ids": proposed,
        },
    )
    return found


def objections(session: Session, found: AwardCycle, who: Principal | None = None) -> list[dict]:
    """The objections of a cycle with the decisions; who lodged each only for the committee
    (and for the objector themself)."""
    names = {c.id: c.name for c in _candidates(session, found.id)}
    named = who is not None and is_member(session, who, found)
    rows = session.scalars(
        select(Objection).where(Objection.cycle_id == found.id).order_by(Objection.lodged_at)
    ).all()
    return [
        {
            "id": o.id,
            "candidate_id": o.candidate_id,
            "candidate_name": names.get(o.candidate_id, ""),
            "reason": o.reason,
            "lodged_by": o.lodged_by if named or (who and o.lodged_by == who.account_id) else None,
            "lodged_at": o.lodged_at,
            "status": o.status,
            "decided_by_name": o.decided_by_name,
            "decision_reason": o.decision_reason,
            "decision_message": _decision_meaning(o, rows),
            "decided_at": o.decided_at,
        }
        for o in rows
    ]


def my_objections(session: Session, account_id: str) -> list[dict]:
    """The caller's own objections, newest first, with the committee's decision on each (as the
    committee's, not a member's) and where the cycle stands."""
    rows = session.execute(
        select(Objection, AwardCycle, Candidate)
        .join(AwardCycle, AwardCycle.id == Objection.cycle_id)
        .join(Candidate, Candidate.id == Objection.candidate_id)
        .where(Objection.lodged_by == account_id)
        .order_by(Objection.lodged_at.desc(), Objection.id)
    ).all()
    answer = []
    for objection, found, picked in rows:
        same = session.scalars(select(Objection).where(Objection.candidate_id == picked.id))
        answer.append(
            {
                "id": objection.id,
                "cycle_id": found.id,
                "cycle_title": found.title,
                "cycle_status": found.status,
                "unit_name": found.unit_name,
                "candidate_id": picked.id,
                "candidate_name": picked.name,
                "reason": objection.reason,
                "lodged_at": objection.lodged_at,
                "status": objection.status,
                "decision_reason": objection.decision_reason,
                "decision_message": _decision_meaning(objection, list(same)),
                "decided_at": objection.decided_at,
            }
        )
    return answer


def _decision_meaning(objection: Objection, rows) -> dict | None:
    """The decision of an objection upheld with another of the same candidate, as its meaning
    (the stored reason is that message filled with the other's reason); None for one decided
    in the committee's own words."""
    if objection.status != "upheld":
        return None
    for other in rows:
        if other.candidate_id == objection.candidate_id and other.id != objection.id:
            found = Message(UPHELD_WITH, {"reason": other.decision_reason or ""})
            if found == objection.decision_reason:
                return found.meaning()
    return None


def public_notice(session: Session, found: AwardCycle) -> dict:
    """What the public sees during (and after) the notice: names, units and stories only."""
    if found.status not in (CycleStatus.NOTICE, CycleStatus.PUBLISHED, CycleStatus.REVOKED):
        raise NotFound("这个评选没有在公示", code="not-on-notice")
    on_notice = found.status == CycleStatus.NOTICE
    shown = CandidateStatus.PROPOSED if on_notice else CandidateStatus.WINNER
    return {
        "cycle_id": found.id,
        "title": found.title,
        "unit_name": found.unit_name,
        "status": found.status,
        "notice_started_on": found.notice_started_on,
        "notice_ends_on": found.notice_ends_on,
        "open_for_objections": on_notice and today() <= found.notice_ends_on,
        "items": [
            {
                "candidate_id": c.id,
                "name": c.name,
                "unit_name": c.home_unit_name,
                "story": c.story,
                "points": c.points,
                "activities": c.activities,
                "hours": _hours(c.hours_halves),
            }
            for c in _candidates(session, found.id)
            if c.status == shown
        ],
    }


def notices(session: Session) -> list[dict]:
    """Cycles on public notice now (public)."""
    rows = session.scalars(
        select(AwardCycle)
        .where(AwardCycle.status == CycleStatus.NOTICE)
        .order_by(AwardCycle.notice_ends_on, AwardCycle.id)
    )
    return [
        {
            "cycle_id": c.id,
            "title": c.title,
            "unit_name": c.unit_name,
            "notice_ends_on": c.notice_ends_on,
        }
        for c in rows
    ]
