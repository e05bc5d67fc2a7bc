"""The rules of a 民族团结之星 cycle. Each operation runs inside the caller's transaction and
locks the cycle's row first, so acts on one cycle (votes, closing the vote, publishing) are
serial on PostgreSQL as on SQLite, and a vote can never slip in after voting closed.

Who may do what:
- create a cycle: a committee member or administrator whose units cover the cycle's unit;
- run it (open, put on notice, decide objections and ties, publish, cancel, revoke): a member of
  its committee, or an administrator covering its unit;
- read it with the candidates' evidence: its members and the staff of its unit's whole branch
  (units covering it and units inside it);
- tell a candidate's story (事迹): an organizer (or other staff) whose units cover the
  candidate's home unit;
- vote: members of its committee only;
- object during the public notice: any signed-in person.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit, emit_many
from events.vocabulary import DIMENSIONS
from services.common.auth import STAFF_ROLES, Forbidden, Principal
from services.common.errors import Conflict, DomainError, NotFound
from services.ledger import operations as ledger
from services.ledger.awards import tally
from services.ledger.awards.models import (
    AwardCycle,
    Candidate,
    Certificate,
    CommitteeMember,
    Objection,
    Vote,
)
from services.ledger.models import (
    ActivityView,
    AttendanceState,
    AuditEntry,
    LedgerEntry,
    NoShowState,
    UnitView,
    VolunteerView,
)

PRODUCER = "ledger"
MANAGERS = ("committee", "admin")
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed by hand
CHUNK = 500


def today() -> date:
    """Today in China: notice periods are counted in the city's calendar days."""
    return ledger.today()


def _invalid(field: str, message: str, status: int = 422, code: str = "validation"):
    return DomainError(message, code=code, errors={field: [message]}, status=status)


# ---- access ------------------------------------------------------------------------------


def _members(session: Session, cycle_id: str) -> dict[str, CommitteeMember]:
    rows = session.scalars(select(CommitteeMember).where(CommitteeMember.cycle_id == cycle_id))
    return {member.account_id: member for member in rows}


def is_member(session: Session, who: Principal, cycle: AwardCycle) -> bool:
    """Tell whether the caller sits on the cycle's committee."""
    return session.get(CommitteeMember, (cycle.id, who.account_id)) is not None


def can_manage(session: Session, who: Principal, cycle: AwardCycle) -> bool:
    """Members run their cycle; administrators covering its unit may too."""
    return who.system or who.can("admin", cycle.unit_path) or is_member(session, who, cycle)


def can_view(session: Session, who: Principal, cycle: AwardCycle) -> bool:
    """Members and staff of the cycle's unit, above it or below it (an organizer of a community
    nominates its volunteers for the district's cycle) see candidates, evidence and votes."""
    return (
        who.can(STAFF_ROLES, cycle.unit_path)
        or any(path.startswith(cycle.unit_path) for path in who.paths(STAFF_ROLES))
        or is_member(session, who, cycle)
    )


def require_manage(session: Session, who: Principal, cycle: AwardCycle) -> None:
    """Refuse with 403 unless the caller may run the cycle."""
    if not can_manage(session, who, cycle):
        raise Forbidden("只有本评选的评审委员可以执行此操作", code="committee-only")


def require_view(session: Session, who: Principal, cycle: AwardCycle) -> None:
    """Refuse with 404 unless the caller may see the cycle (its existence is not leaked)."""
    if not can_view(session, who, cycle):
        raise NotFound("没有这个评选周期", code="unknown-cycle")


def cycle(session: Session, cycle_id: str, lock: bool = False) -> AwardCycle:
    """The cycle, locked for the rest of the transaction when about to change it."""
    found = session.get(AwardCycle, cycle_id, with_for_update=lock or None, populate_existing=lock)
    if found is None:
        raise NotFound("没有这个评选周期", code="unknown-cycle")
    return found


def _require_status(found: AwardCycle, *allowed: str, message: str) -> None:
    if found.status not in allowed:
        label = STATUS_LABELS.get(found.status, found.status)
        raise Conflict(
            message + "（当前状态：{status}）", code="wrong-status", values={"status": label}
        )


STATUS_LABELS = {
    "draft": "草稿",
    "open": "评审中",
    "notice": "公示中",
    "published": "已发布",
    "cancelled": "已取消",
    "revoked": "已撤销",
}


def audit(session: Session, who: Principal, action: str, found: AwardCycle, **detail) -> None:
    """Record an act on the cycle in the ledger's audit trail (subject: the cycle)."""
    ledger.audit(session, who.account_id, f"award.{action}", found.id, {"by": who.name, **detail})


def _event(session: Session, name: str, payload: dict) -> None:
    emit(session, catalog.make_event(name, payload, producer=PRODUCER))


# ---- creating and opening ----------------------------------------------------------------


def seat_committee(
    who: Principal, unit_path: str, account_ids: list[str], vouched: dict[str, Principal]
) -> dict[str, str]:
    """The members' names, when each holds the committee or administrator role at the cycle's
    unit or above, by the caller's own token or web's signed statement; else 422 naming them."""
    known = {**vouched, who.account_id: who}
    refused = [
        account_id
        for account_id in account_ids
        if account_id not in known or not known[account_id].can(MANAGERS, unit_path)
    ]
    if refused:
        names = "、".join(
            f"{known[a].name}（{a}）" if a in known and known[a].name else a for a in refused
        )
        message = "评审委员须是本单位或上级单位的评审委员或管理员：{names}"
        raise DomainError(
            message,
            code="committee-not-eligible",
            status=422,
            values={"names": names},
            errors={"committee": [message.format(names=names)]},
        )
    return {account_id: known[account_id].name for account_id in account_ids}


def create_cycle(
    session: Session, who: Principal, body: dict, vouched: dict[str, Principal] | None = None
) -> AwardCycle:
    """A new cycle in draft, for a unit the caller serves as committee member or administrator;
    ``vouched`` is what web's staff statement says of the members' roles."""
    unit = session.get(UnitView, body["unit_id"])
    if unit is None:
        raise _invalid("unit_id", "单位不存在")
    if not who.can(MANAGERS, unit.path):
        raise Forbidden("只有覆盖该单位的评审委员或管理员可以发起评选", code="out-of-scope")
    names = seat_committee(who, unit.path, body["committee"], vouched or {})
    criteria = body["criteria"]
    found = AwardCycle(
        id=str(uuid.uuid4()),
        title=body["title"].strip(),
        unit_id=unit.unit_id,
        unit_path=unit.path,
        unit_name=unit.name,
        period_start=body["period_start"],
        period_end=body["period_end"],
        min_points=criteria["min_points"],
        min_activities=criteria["min_activities"],
        min_dimensions=criteria["min_dimensions"],
        max_no_shows=criteria["max_no_shows"],
        quota=body["quota"],
        quorum=body["quorum"],
        majority_permille=body["majority_permille"],
        notice_days=body["notice_days"],
        status="draft",
        created_by=who.account_id,
        created_at=utcnow(),
    )
    session.add(found)
    session.flush()
    for account_id in body["committee"]:
        session.add(
            CommitteeMember(cycle_id=found.id, account_id=account_id, name=names[account_id])
        )
    audit(session, who, "created", found, title=found.title, committee=body["committee"])
    return found


def open_cycle(session: Session, who: Principal, cycle_id: str) -> AwardCycle:
    """List the candidates from the ledger, recuse members from their own and their team's
    candidacies, and open the vote."""
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    _require_status(found, "draft", message="只有草稿状态的评选可以开始")
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
            status="listed",
            **item,
        )
        session.add(candidate)
        for member in members.values():
            if member.account_id == candidate.volunteer_id or (
                member.team_id and member.team_id == candidate.team_id
            ):
                why = "本人" if member.account_id == candidate.volunteer_id else "同一志愿服务队"
                session.add(
                    Vote(
                        cycle_id=found.id,
                        candidate_id=candidate.id,
                        member_id=member.account_id,
                        member_name=member.name,
                        decision=tally.RECUSED,
                        comment=f"自动回避：{why}",
                        automatic=True,
                        cast_at=now,
                    )
                )
    found.status, found.opened_at = "open", now
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
                or_(ActivityView.status.is_(None), ActivityView.status != "cancelled"),
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
    _require_status(found, "open", message="只有评审中的评选可以填写推荐事迹")
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


def _member_for_vote(session: Session, who: Principal, found: AwardCycle) -> CommitteeMember:
    member = session.get(CommitteeMember, (found.id, who.account_id))
    if member is None:
        raise Forbidden("只有本评选的评审委员可以投票", code="not-a-member")
    if who.name and member.name != who.name[:50]:
        member.name = who.name[:50]
    if found.status != "open":
        _require_status(found, "open", message="投票已结束")
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
            values={"why": vote.comment or "本人回避"},
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
    return vote


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
    in_play = [(c.id, c.points) for c in candidates if c.status != "removed"]
    approved = {cid for cid, t in tallies.items() if t.outcome == "approved"}
    tie_break = json.loads(found.tie_break) if found.tie_break else None
    return tallies, tally.select(in_play, approved, found.quota, tie_break)


def break_tie(session: Session, who: Principal, cycle_id: str, chosen: list[str], reason: str):
    """The committee decides which of the candidates tied at the quota line take the places."""
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    _require_status(found, "open", message="只有评审中的评选需要处理并列")
    found.tie_break = None
    _tallies, selection = standing(session, found)
    if not selection.tie:
        raise Conflict("目前没有需要委员会决定的并列", code="no-tie")
    if len(set(chosen)) != selection.tie_places or not set(chosen) <= set(selection.tie):
        raise _invalid(
            "candidate_ids",
            f"请从并列的 {len(selection.tie)} 位候选人中选出 {selection.tie_places} 位",
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


# ---- notice, objections, publication -----------------------------------------------------


def _notice_end(found: AwardCycle) -> date:
    return today() + timedelta(days=found.notice_days - 1)


def start_notice(session: Session, who: Principal, cycle_id: str) -> AwardCycle:
    """Close the vote and put the winners it gives on public notice (公示)."""
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    _require_status(found, "open", message="只有评审中的评选可以进入公示")
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
            c.status = "proposed"
    found.status = "notice"
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
    _require_status(found, "notice", message="只有公示期内可以提出异议")
    if today() > found.notice_ends_on:
        raise Conflict(
            "公示期已于 {day} 结束",
            code="notice-over",
            values={"day": found.notice_ends_on.isoformat()},
        )
    picked = candidate(session, found, body["candidate_id"])
    if picked.status != "proposed":
        raise _invalid("candidate_id", "这位候选人不在公示名单中", code="not-proposed")
    objection = Objection(
        id=str(uuid.uuid4()),
        cycle_id=found.id,
        candidate_id=picked.id,
        lodged_by=who.account_id,
        reason=body["reason"].strip(),
        lodged_at=utcnow(),
        status="pending",
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
    return objection


def decide_objection(
    session: Session, who: Principal, cycle_id: str, objection_id: str, body: dict
) -> Objection:
    """The committee upholds (the candidate is removed) or dismisses an objection, with a reason."""
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    _require_status(found, "notice", message="只有公示期内可以处理异议")
    objection = session.get(Objection, objection_id)
    if objection is None or objection.cycle_id != found.id:
        raise NotFound("没有这条异议", code="unknown-objection")
    if objection.status != "pending":
        raise Conflict("这条异议已经处理过了", code="already-decided")
    objection.status = "upheld" if body["decision"] == "uphold" else "dismissed"
    objection.decided_by, objection.decided_by_name = who.account_id, who.name[:50]
    objection.decision_reason, objection.decided_at = body["reason"].strip(), utcnow()
    if objection.status == "upheld":
        picked = session.get(Candidate, objection.candidate_id)
        picked.status = "removed"
        for other in session.scalars(
            select(Objection).where(
                Objection.candidate_id == picked.id, Objection.status == "pending"
            )
        ):
            other.status, other.decided_by, other.decided_at = "upheld", who.account_id, utcnow()
            other.decided_by_name = who.name[:50]
            other.decision_reason = "同一候选人的异议已成立：" + objection.decision_reason
    audit(
        session,
        who,
        f"objection_{objection.status}",
        found,
        objection_id=objection.id,
        candidate_id=objection.candidate_id,
        reason=objection.decision_reason,
    )
    return objection


def next_in_rank(session: Session, found: AwardCycle) -> Candidate | None:
    """The best approved candidate not yet proposed, while places are free."""
    candidates = _candidates(session, found.id)
    if sum(c.status == "proposed" for c in candidates) >= found.quota:
        return None
    tallies, _selection = standing(session, found, candidates)
    for c in candidates:
        if c.status == "listed" and tallies[c.id].outcome == "approved":
            return c
    return None


def propose(session: Session, who: Principal, cycle_id: str, candidate_id: str) -> AwardCycle:
    """After an upheld objection, propose the next approved candidate in rank; the notice runs
    its full length again from today so that the public can object to them too."""
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    _require_status(found, "notice", message="只有公示期内可以递补")
    picked = candidate(session, found, candidate_id)
    following = next_in_rank(session, found)
    if following is None:
        raise Conflict("没有空出的名额，或没有可递补的候选人", code="nothing-to-propose")
    if following.id != picked.id:
        raise _invalid("candidate_id", f"应按名次递补：下一位是 {following.name}", code="not-next")
    picked.status = "proposed"
    found.notice_ends_on = max(found.notice_ends_on, _notice_end(found))
    audit(
        session, who, "proposed", found, candidate_id=picked.id, notice_ends_on=found.notice_ends_on
    )
    proposed = [c.volunteer_id for c in _candidates(session, found.id) if c.status == "proposed"]
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


def _new_code(session: Session, year: int) -> str:
    while True:
        code = f"SL-{year}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if session.get(Certificate, code) is None:
            return code


def publish(session: Session, who: Principal, cycle_id: str) -> AwardCycle:
    """After the notice, publish the honor roll and issue each winner's certificate."""
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    _require_status(found, "notice", message="只有公示结束的评选可以发布")
    if today() <= found.notice_ends_on:
        raise Conflict(
            "公示期至 {day} 结束，之后才能发布",
            code="notice-not-over",
            values={"day": found.notice_ends_on.isoformat()},
        )
    pending = session.scalar(
        select(func.count()).where(Objection.cycle_id == found.id, Objection.status == "pending")
    )
    if pending:
        raise Conflict(
            "还有 {count} 条异议没有处理，处理后才能发布",
            code="objections-pending",
            values={"count": pending},
        )
    winners = [c for c in _candidates(session, found.id) if c.status == "proposed"]
    if not winners:
        raise Conflict("公示名单为空，不能发布", code="no-winners")
    now, year = utcnow(), found.period_end.year
    issued = []
    for winner in winners:
        winner.status = "winner"
        certificate = Certificate(
            code=_new_code(session, year),
            cycle_id=found.id,
            candidate_id=winner.id,
            volunteer_id=winner.volunteer_id,
            issued_on=today(),
        )
        session.add(certificate)
        issued.append({"volunteer_id": winner.volunteer_id, "certificate_code": certificate.code})
    found.status, found.published_at = "published", now
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
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    _require_status(found, "published", message="只有已发布的评选可以撤销")
    winners = [c for c in _candidates(session, found.id) if c.status == "winner"]
    if candidate_id is not None:
        picked = candidate(session, found, candidate_id)
        if picked.status != "winner":
            raise _invalid("candidate_id", "这位候选人没有获评或已被撤销", code="not-a-winner")
        winners = [picked]
    now, events = utcnow(), []
    for winner in winners:
        winner.status = "revoked"
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
        select(func.count()).where(Candidate.cycle_id == found.id, Candidate.status == "winner")
    )
    if not remaining:
        found.status, found.closed_at, found.closed_reason = "revoked", now, reason.strip()
    audit(session, who, "revoked", found, candidates=[w.id for w in winners], reason=reason)
    emit_many(session, events)
    return found


def cancel(session: Session, who: Principal, cycle_id: str, reason: str) -> AwardCycle:
    """Stop a cycle before publication, with a reason."""
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    _require_status(found, "draft", "open", "notice", message="已发布或已取消的评选不能取消")
    found.status, found.closed_at, found.closed_reason = "cancelled", utcnow(), reason.strip()
    audit(session, who, "cancelled", found, reason=reason)
    return found


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
        "status_label": STATUS_LABELS[found.status],
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
    if found.status == "open":
        _tallies, selection = standing(session, found)
        answer.update(winners=selection.winners, tie=selection.tie, tie_places=selection.tie_places)
    elif found.status != "draft":
        answer["winners"] = [
            c.id for c in _candidates(session, found.id) if c.status in ("proposed", "winner")
        ]
    if found.status == "notice":
        following = next_in_rank(session, found)
        answer["next_in_rank"] = following.id if following else None
    return answer


def candidates_page(session: Session, found: AwardCycle, who: Principal) -> list[dict]:
    """Every candidate with evidence, story, tally, the votes and the caller's own vote."""
    candidates = _candidates(session, found.id)
    tallies, selection = standing(session, found, candidates)
    votes = defaultdict(list)
    for vote in _votes(session, found.id):
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
                "would_win": c.id in winners if found.status == "open" else None,
                "tied": c.id in selection.tie if found.status == "open" else False,
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


def objections(session: Session, found: AwardCycle) -> list[dict]:
    """The objections of a cycle with the decisions (for the committee)."""
    names = {c.id: c.name for c in _candidates(session, found.id)}
    rows = session.scalars(
        select(Objection).where(Objection.cycle_id == found.id).order_by(Objection.lodged_at)
    )
    return [
        {
            "id": o.id,
            "candidate_id": o.candidate_id,
            "candidate_name": names.get(o.candidate_id, ""),
            "reason": o.reason,
            "lodged_at": o.lodged_at,
            "status": o.status,
            "decided_by_name": o.decided_by_name,
            "decision_reason": o.decision_reason,
            "decided_at": o.decided_at,
        }
        for o in rows
    ]


def audit_trail(session: Session, found: AwardCycle) -> list[dict]:
    """Every recorded act on the cycle, oldest first."""
    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_id == found.id, AuditEntry.action.startswith("award."))
        .order_by(AuditEntry.id)
    )
    return [
        {
            "at": row.at,
            "actor_id": row.actor_id,
            "action": row.action.removeprefix("award."),
            "detail": json.loads(row.detail),
        }
        for row in rows
    ]


def public_notice(session: Session, found: AwardCycle) -> dict:
    """What the public sees during (and after) the notice: names, units and stories only."""
    if found.status not in ("notice", "published", "revoked"):
        raise NotFound("这个评选没有在公示", code="not-on-notice")
    shown = ("proposed",) if found.status == "notice" else ("winner",)
    return {
        "cycle_id": found.id,
        "title": found.title,
        "unit_name": found.unit_name,
        "status": found.status,
        "notice_started_on": found.notice_started_on,
        "notice_ends_on": found.notice_ends_on,
        "open_for_objections": found.status == "notice" and today() <= found.notice_ends_on,
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
            if c.status in shown
        ],
    }


def notices(session: Session) -> list[dict]:
    """Cycles on public notice now (public)."""
    rows = session.scalars(
        select(AwardCycle)
        .where(AwardCycle.status == "notice")
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


def honor_roll(session: Session, unit_id: str, year: int) -> dict:
    """The published winners of a unit and the units below it, for a year (public)."""
    unit = session.get(UnitView, unit_id)
    if unit is None:
        raise _invalid("unit_id", "单位不存在", code="unknown-unit")
    cycles = session.scalars(
        select(AwardCycle)
        .where(
            AwardCycle.unit_path.startswith(unit.path, autoescape=True),
            AwardCycle.status == "published",
            AwardCycle.period_end.between(date(year, 1, 1), date(year, 12, 31)),
        )
        .order_by(AwardCycle.unit_path, AwardCycle.published_at)
    ).all()
    answer = []
    for c in cycles:
        winners = session.scalars(
            select(Candidate)
            .where(Candidate.cycle_id == c.id, Candidate.status == "winner")
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
