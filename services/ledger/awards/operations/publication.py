"""Publishing the stars with their certificates, revoking, cancelling, the honor roll."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit_many
from services.common.auth import Principal
from services.common.errors import Conflict, NotFound
from services.common.states import CandidateStatus, CycleStatus, ObjectionStatus
from services.ledger.awards.models import (
    AwardCycle,
    Candidate,
    Certificate,
    Objection,
)
from services.ledger.awards.operations._common import (
    CODE_ALPHABET,
    PRODUCER,
    _event,
    _invalid,
    audit,
    cycle,
    move_cycle,
    today,
)
from services.ledger.awards.operations.access import managed_cycle, require_manage
from services.ledger.awards.operations.candidates import _candidates, candidate
from services.ledger.models import (
    UnitView,
)


def _new_code(session: Session, year: int) -> str:
    while True:
        code = f"SL-{year}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if session.get(Certificate, code) is None:
            return code


def publish(session: Session, who: Principal, cycle_id: str) -> AwardCycle:
    """After the notice, publish the honor roll and issue each winner's certificate."""
    found = managed_cycle(session, who, cycle_id, "publish")
    if today() <= found.notice_ends_on:
        raise Conflict(
            "公示期至 {day} 结束，之后才能发布",
            code="notice-not-over",
            values={"day": found.notice_ends_on.isoformat()},
        )
    pending = session.scalar(
        select(func.count()).where(
            Objection.cycle_id == found.id, Objection.status == ObjectionStatus.PENDING
        )
    )
    if pending:
        raise Conflict(
            "还有 {count} 条异议没有处理，处理后才能发布",
            code="objections-pending",
            values={"count": pending},
        )
    winners = [c for c in _candidates(session, found.id) if c.status == CandidateStatus.PROPOSED]
    if not winners:
        raise Conflict("公示名单为空，不能发布", code="no-winners")
    now, year = utcnow(), found.period_end.year
    issued = []
    for winner in winners:
        winner.status = CandidateStatus.WINNER
        certificate = Certificate(
            code=_new_code(session, year),
            cycle_id=found.id,
            candidate_id=winner.id,
            volunteer_id=winner.volunteer_id,
            issued_on=today(),
        )
        session.add(certificate)
        issued.append({"volunteer_id": winner.volunteer_id, "certificate_code": certificate.code})
    move_cycle(found, "publish", CycleStatus.PUBLISHED)
    found.published_at = now
    session.flush()
    audit(session, who, "published", found, winners=[w.id for w in winners])
    _event(
        session,
        "award.published",
        {
            "cycle_id": found.id,
            "unit_id": found.unit_id,
            "year": year,
            "winners": issued,
            "published_at": now,
        },
    )
    return found


def revoke(
    session: Session, who: Principal, cycle_id: str, candidate_id: str | None, reason: str
) -> AwardCycle:
    """Take back one winner's award, or (without a candidate) every award of the cycle."""
    found = managed_cycle(session, who, cycle_id, "revoke")
    winners = [c for c in _candidates(session, found.id) if c.status == CandidateStatus.WINNER]
    if candidate_id is not None:
        picked = candidate(session, found, candidate_id)
        if picked.status != CandidateStatus.WINNER:
            raise _invalid("candidate_id", "这位候选人没有获评或已被撤销", code="not-a-winner")
        winners = [picked]
    now, events = utcnow(), []
    for winner in winners:
        winner.status = CandidateStatus.REVOKED
        certificate = session.scalar(
            select(Certificate).where(Certificate.candidate_id == winner.id)
        )
        certificate.revoked_at, certificate.revoked_reason = now, reason.strip()
        events.append(
            catalog.make_event(
                "award.revoked",
                {
                    "cycle_id": found.id,
                    "volunteer_id": winner.volunteer_id,
                    "certificate_code": certificate.code,
                    "reason": certificate.revoked_reason,
                },
                producer=PRODUCER,
            )
        )
    remaining = session.scalar(
        select(func.count()).where(
            Candidate.cycle_id == found.id, Candidate.status == CandidateStatus.WINNER
        )
    )
    if not remaining:
        move_cycle(found, "revoke", CycleStatus.REVOKED)
        found.closed_at, found.closed_reason = now, reason.strip()
    audit(session, who, "revoked", found, candidates=[w.id for w in winners], reason=reason)
    emit_many(session, events)
    return found


def cancel(session: Session, who: Principal, cycle_id: str, reason: str) -> AwardCycle:
    """Stop a cycle before publication, with a reason."""
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    move_cycle(found, "cancel", CycleStatus.CANCELLED)
    found.closed_at, found.closed_reason = utcnow(), reason.strip()
    audit(session, who, "cancelled", found, reason=reason)
    return found


def honor_roll(session: Session, unit_id: str, year: int) -> dict:
    """The published winners of a unit and the units below it, for a year (public)."""
    unit = session.get(UnitView, unit_id)
    if unit is None:
        raise _invalid("unit_id", "单位不存在", code="unknown-unit")
    cycles = session.scalars(
        select(AwardCycle)
        .where(
            AwardCycle.unit_path.startswith(unit.path, autoescape=True),
            AwardCycle.status == CycleStatus.PUBLISHED,
            AwardCycle.period_end.between(date(year, 1, 1), date(year, 12, 31)),
        )
        .order_by(AwardCycle.unit_path, AwardCycle.published_at)
    ).all()
    answer = []
    for c in cycles:
        winners = session.scalars(
            select(Candidate)
            .where(Candidate.cycle_id == c.id, Candidate.status == CandidateStatus.WINNER)
            .order_by(Candidate.position)
        )
        answer.append(
            {
                "cycle_id": c.id,
                "title": c.title,
                "unit_name": c.unit_name,
                "published_at": c.published_at,
                "winners": [
                    {
                        "name": w.name,
                        "unit_name": w.home_unit_name,
                        "story": w.story,
                        "points": w.points,
                    }
                    for w in winners
                ],
            }
        )
    return {"unit_id": unit.unit_id, "unit_name": unit.name, "year": year, "cycles": answer}


def certificate_check(session: Session, code: str) -> dict:
    """What anyone may know of a certificate by its code, revoked or not."""
    found = session.get(Certificate, code.strip().upper())
    if found is None:
        raise NotFound("没有这个编号的证书，请核对后再试", code="unknown-certificate")
    award = session.get(AwardCycle, found.cycle_id)
    winner = session.get(Candidate, found.candidate_id)
    return {
        "code": found.code,
        "valid": found.revoked_at is None,
        "status": "revoked" if found.revoked_at else "valid",
        "name": winner.name,
        "unit_name": winner.home_unit_name,
        "title": award.title,
        "cycle_id": award.id,
        "awarding_unit": award.unit_name,
        "issued_on": found.issued_on,
        "revoked_at": found.revoked_at,
        "revoked_reason": found.revoked_reason,
    }


def my_certificates(session: Session, volunteer_id: str) -> list[dict]:
    """A volunteer's own certificates."""
    codes = session.scalars(
        select(Certificate.code)
        .where(Certificate.volunteer_id == volunteer_id)
        .order_by(Certificate.issued_on.desc())
    )
    return [certificate_check(session, code) for code in codes]
