"""Opening a cycle: its candidates computed from the ledger, and their stories."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from events.envelope import utcnow
from events.vocabulary import DIMENSIONS
from services.common.auth import STAFF_ROLES, Forbidden, Principal
from services.common.states import ActivityStatus, CandidateStatus, CycleStatus
from services.ledger.awards import tally
from services.ledger.awards.models import (
    AwardCycle,
    Candidate,
    Vote,
)
from services.ledger.awards.operations._common import (
    CHUNK,
    _event,
    _invalid,
    audit,
    check_move,
    cycle,
    move_cycle,
    recusal_comment,
)
from services.ledger.awards.operations.access import _members, managed_cycle, require_view
from services.ledger.models import (
    ActivityView,
    AttendanceState,
    LedgerEntry,
    NoShowState,
    UnitView,
    VolunteerView,
)


def open_cycle(session: Session, who: Principal, cycle_id: str) -> AwardCycle:
    """List the candidates from the ledger, recuse members from their own and their team's
    candidacies, and open the vote."""
    found = managed_cycle(session, who, cycle_id, "open")
    members = _members(session, found.id)
    for member in members.values():
        view = session.get(VolunteerView, member.account_id)
        member.team_id = view.team_id if view else None
        if view and not member.name:
            member.name = view.display_name
    now = utcnow()
    listed = compute_candidates(session, found)
    for item in listed:
        candidate = Candidate(
            id=str(uuid.uuid4()),
            cycle_id=found.id,
            evidence=json.dumps(item.pop("evidence"), ensure_ascii=False),
            status=CandidateStatus.LISTED,
            **item,
        )
        session.add(candidate)
        for member in members.values():
            if member.account_id == candidate.volunteer_id or (
                member.team_id and member.team_id == candidate.team_id
            ):
                session.add(
                    Vote(
                        cycle_id=found.id,
                        candidate_id=candidate.id,
                        member_id=member.account_id,
                        member_name=member.name,
                        decision=tally.RECUSED,
                        comment=str(recusal_comment(member.account_id, candidate.volunteer_id)),
                        automatic=True,
                        cast_at=now,
                    )
                )
    move_cycle(found, "open", CycleStatus.OPEN)
    found.opened_at = now
    session.flush()
    audit(session, who, "opened", found, candidates=len(listed))
    _event(
        session,
        "award.cycle_opened",
        {
            "cycle_id": found.id,
            "title": found.title,
            "unit_id": found.unit_id,
            "period_start": found.period_start,
            "period_end": found.period_end,
            "committee_member_ids": sorted(_members(session, found.id)),
        },
    )
    candidates = _candidates(session, found.id)
    _event(
        session,
        "award.candidates_listed",
        {
            "cycle_id": found.id,
            "candidates": [
                {
                    "candidate_id": c.id,
                    "volunteer_id": c.volunteer_id,
                    "rank": c.rank,
                    "points": c.points,
                }
                for c in candidates
            ],
        },
    )
    return found


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _hours(halves: int) -> str:
    return str(Decimal(halves) / 2)


def compute_candidates(session: Session, found: AwardCycle) -> list[dict]:
    """Volunteers of the cycle's unit (and below) who meet its criteria in its period, ranked by
    points, each with the evidence: points by month, activities attended with dates and hours,
    dimensions covered, no-shows. Cancelled activities count for nothing."""
    start, end = found.period_start, found.period_end
    in_scope = (
        select(VolunteerView.volunteer_id)
        .join(UnitView, UnitView.unit_id == VolunteerView.home_unit_id)
        .where(UnitView.path.startswith(found.unit_path, autoescape=True))
    )
    totals = dict(
        session.execute(
            select(LedgerEntry.volunteer_id, func.sum(LedgerEntry.points))
            .where(
                LedgerEntry.volunteer_id.in_(in_scope),
                LedgerEntry.entry_date.between(start, end),
            )
            .group_by(LedgerEntry.volunteer_id)
            .having(func.sum(LedgerEntry.points) >= found.min_points)
        ).all()
    )
    months: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    attended: dict[str, dict[str, dict]] = defaultdict(dict)
    missed: dict[str, list[dict]] = defaultdict(list)
    for chunk in _chunks(sorted(totals)):
        for volunteer_id, day, points in session.execute(
            select(LedgerEntry.volunteer_id, LedgerEntry.entry_date, func.sum(LedgerEntry.points))
            .where(LedgerEntry.volunteer_id.in_(chunk), LedgerEntry.entry_date.between(start, end))
            .group_by(LedgerEntry.volunteer_id, LedgerEntry.entry_date)
        ):
            months[volunteer_id][day.strftime("%Y-%m")] += int(points)
        for state, title, dimensions in session.execute(
            select(AttendanceState, ActivityView.title, ActivityView.dimensions)
            .join(
                ActivityView, ActivityView.activity_id == AttendanceState.activity_id, isouter=True
            )
            .where(
                AttendanceState.volunteer_id.in_(chunk),
                AttendanceState.activity_date.between(start, end),
                AttendanceState.half_hours > 0,
                or_(ActivityView.status.is_(None), ActivityView.status != ActivityStatus.CANCELLED),
            )
        ):
            seen = attended[state.volunteer_id].setdefault(
                state.activity_id,
                {
                    "activity_id": state.activity_id,
                    "title": title or state.activity_id,
                    "date": state.activity_date.isoformat(),
                    "halves": 0,
                    "dimensions": [d for d in (dimensions or "").split(",") if d],
                },
            )
            seen["halves"] += state.half_hours
        attendance_there = exists().where(
            AttendanceState.volunteer_id == NoShowState.volunteer_id,
            AttendanceState.activity_id == NoShowState.activity_id,
        )
        for state, title in session.execute(
            select(NoShowState, ActivityView.title)
            .join(ActivityView, ActivityView.activity_id == NoShowState.activity_id, isouter=True)
            .where(
                NoShowState.volunteer_id.in_(chunk),
                NoShowState.activity_date.between(start, end),
                ~attendance_there,
            )
        ):
            missed[state.volunteer_id].append(
                {
                    "activity_id": state.activity_id,
                    "title": title or state.activity_id,
                    "date": state.activity_date.isoformat(),
                }
            )
    eligible = []
    order = list(DIMENSIONS)
    for volunteer_id, points in totals.items():
        activities = sorted(attended[volunteer_id].values(), key=lambda a: (a["date"], a["title"]))
        covered = sorted(
            {d for a in activities for d in a["dimensions"]},
            key=lambda d: (order.index(d) if d in order else len(order), d),
        )
        no_shows = sorted(missed[volunteer_id], key=lambda m: m["date"])
        if (
            len(activities) < found.min_activities
            or len(covered) < found.min_dimensions
            or len(no_shows) > found.max_no_shows
        ):
            continue
        halves = sum(a["halves"] for a in activities)
        eligible.append(
            {
                "volunteer_id": volunteer_id,
                "points": int(points),
                "hours_halves": halves,
                "activities": len(activities),
                "dimensions": len(covered),
                "no_shows": len(no_shows),
                "evidence": {
                    "points_by_month": [
                        {"month": month, "points": value}
                        for month, value in sorted(months[volunteer_id].items())
                    ],
                    "activities": [
                        {
                            "activity_id": a["activity_id"],
                            "title": a["title"],
                            "date": a["date"],
                            "hours": _hours(a["halves"]),
                            "dimensions": a["dimensions"],
                        }
                        for a in activities
                    ],
                    "hours": _hours(halves),
                    "dimensions": covered,
                    "no_shows": no_shows,
                },
            }
        )
    eligible.sort(key=lambda c: (-c["points"], -c["hours_halves"], c["volunteer_id"]))
    names = _people(session, [c["volunteer_id"] for c in eligible])
    rank = 0
    for position, item in enumerate(eligible):
        if position == 0 or item["points"] != eligible[position - 1]["points"]:
            rank = position + 1
        person = names.get(item["volunteer_id"])
        item.update(
            rank=rank,
            position=position,
            name=person[0] if person else item["volunteer_id"],
            home_unit_id=person[1] if person else "",
            home_unit_name=person[2] if person else "",
            team_id=person[3] if person else None,
        )
    return eligible


def _people(session: Session, volunteer_ids: list[str]) -> dict[str, tuple]:
    people = {}
    for chunk in _chunks(volunteer_ids):
        for row in session.execute(
            select(
                VolunteerView.volunteer_id,
                VolunteerView.display_name,
                VolunteerView.home_unit_id,
                UnitView.name,
                VolunteerView.team_id,
            )
            .join(UnitView, UnitView.unit_id == VolunteerView.home_unit_id, isouter=True)
            .where(VolunteerView.volunteer_id.in_(chunk))
        ):
            people[row[0]] = (row[1], row[2], row[3] or "", row[4])
    return people


# ---- candidates, stories, votes ----------------------------------------------------------


def _candidates(session: Session, cycle_id: str) -> list[Candidate]:
    return list(
        session.scalars(
            select(Candidate).where(Candidate.cycle_id == cycle_id).order_by(Candidate.position)
        )
    )


def candidate(session: Session, found: AwardCycle, candidate_id: str) -> Candidate:
    """A candidate of this cycle, or 422 naming the field."""
    picked = session.get(Candidate, candidate_id) if candidate_id else None
    if picked is None or picked.cycle_id != found.id:
        raise _invalid("candidate_id", "这位不是本次评选的候选人", code="unknown-candidate")
    return picked


def tell_story(
    session: Session, who: Principal, cycle_id: str, volunteer_id: str, story: str
) -> Candidate:
    """An organizer of the candidate's unit nominates an eligible volunteer with their story."""
    found = cycle(session, cycle_id, lock=True)
    require_view(session, who, found)
    check_move(found, "tell_story")
    picked = session.scalar(
        select(Candidate).where(
            Candidate.cycle_id == found.id, Candidate.volunteer_id == volunteer_id
        )
    )
    if picked is None:
        raise _invalid("volunteer_id", "这位志愿者不符合本次评选的条件", code="not-eligible")
    home = session.get(UnitView, picked.home_unit_id)
    if not who.can(STAFF_ROLES, home.path if home else None):
        raise Forbidden("只有候选人所在单位的组织者可以推荐并填写事迹", code="out-of-scope")
    picked.story = story.strip()
    picked.nominated_by, picked.nominated_by_name = who.account_id, who.name[:50]
    audit(session, who, "nominated", found, candidate_id=picked.id, volunteer=picked.name)
    return picked
