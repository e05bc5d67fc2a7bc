"""Who may see and run a cycle; seating its committee and creating the cycle."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from events.envelope import utcnow
from services.common.auth import STAFF_ROLES, Forbidden, Principal
from services.common.errors import DomainError, Message, NotFound
from services.common.states import CycleStatus
from services.ledger.awards.models import (
    AwardCycle,
    CommitteeMember,
)
from services.ledger.awards.operations._common import MANAGERS, _invalid, audit, check_move, cycle
from services.ledger.models import (
    UnitView,
)

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
    nominates its volunteers for the district's cycle) see candidates, evidence and tallies."""
    return (
        who.can(STAFF_ROLES, cycle.unit_path)
        or any(path.startswith(cycle.unit_path) for path in who.paths(STAFF_ROLES))
        or is_member(session, who, cycle)
    )


def require_manage(session: Session, who: Principal, cycle: AwardCycle) -> None:
    """Refuse with 403 unless the caller may run the cycle."""
    if not can_manage(session, who, cycle):
        raise Forbidden("只有本评选的评审委员可以执行此操作", code="committee-only")


def managed_cycle(session: Session, who: Principal, cycle_id: str, act: str) -> AwardCycle:
    """The cycle a committee act is about to change, after the checks every such act starts with:
    locked for the rest of the transaction, the caller one who may run it (403), the act one
    its status allows (409)."""
    found = cycle(session, cycle_id, lock=True)
    require_manage(session, who, found)
    check_move(found, act)
    return found


def require_view(session: Session, who: Principal, cycle: AwardCycle) -> None:
    """Refuse with 404 unless the caller may see the cycle (its existence is not leaked)."""
    if not can_view(session, who, cycle):
        raise NotFound("没有这个评选周期", code="unknown-cycle")


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
        message = Message(
            "评审委员须是本单位或上级单位的评审委员或管理员：{names}", {"names": names}
        )
        raise DomainError(
            message, code="committee-not-eligible", status=422, errors={"committee": [message]}
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
        status=CycleStatus.DRAFT,
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
