"""What the award operations share: today, a cycle read under its lock, its moves through the
transition table (services/common/states.py), its audit trail and its events.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from events import catalog
from events.outbox import emit
from services.common.auth import Principal
from services.common.errors import Conflict, DomainError, Message, NotFound
from services.common.states import CYCLE_TRANSITIONS, CycleStatus, Move
from services.ledger import operations as ledger
from services.ledger.awards.models import AwardCycle

PRODUCER = "ledger"
MANAGERS = ("committee", "admin")
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed by hand
CHUNK = 500


def today() -> date:
    """Today in China: notice periods are counted in the city's calendar days."""
    return ledger.today()


def _invalid(field: str, message: str, status: int = 422, code: str = "validation", **values):
    message = Message(message, values)
    return DomainError(message, code=code, errors={field: [message]}, status=status)


RECUSAL_COMMENT = "自动回避：{why}"  # an automatic recusal's comment
RECUSAL_REASONS = {"self": "本人", "team": "同一志愿服务队"}
UPHELD_WITH = "同一候选人的异议已成立：{reason}"  # an objection decided with another one


def recusal_comment(member_id: str, volunteer_id: str) -> Message:
    """The comment of a member's automatic recusal from a candidate (themself or their team)."""
    why = RECUSAL_REASONS["self" if member_id == volunteer_id else "team"]
    return Message(RECUSAL_COMMENT, {"why": Message(why)})


def comment_meaning(vote, volunteer_id: str) -> dict | None:
    """An automatic recusal's comment as its meaning, derived from the vote and the candidate
    (the stored comment is that message filled in); None for a member's own words."""
    if not vote.automatic:
        return None
    found = recusal_comment(vote.member_id, volunteer_id)
    return found.meaning() if found == vote.comment else None


def cycle(session: Session, cycle_id: str, lock: bool = False) -> AwardCycle:
    """The cycle, locked for the rest of the transaction when about to change it."""
    found = session.get(AwardCycle, cycle_id, with_for_update=lock or None, populate_existing=lock)
    if found is None:
        raise NotFound("没有这个评选周期", code="unknown-cycle")
    return found


def check_move(found: AwardCycle, act: str) -> Move:
    """The act's row of the transition table, when the cycle's status allows the act; else 409
    with the act's refusal and the current status."""
    move = CYCLE_TRANSITIONS[act]
    if found.status not in move.start:
        raise Conflict(
            "{what}（当前状态：{status}）",
            code="wrong-status",
            values={
                "what": Message(move.refusal),
                "status": Message(CycleStatus.label_of(found.status)),
            },
        )
    return move


def move_cycle(found: AwardCycle, act: str, to: CycleStatus) -> None:
    """Put the cycle in ``to`` by the act, as the transition table allows (checked again here,
    so no operation can move a cycle where the table does not lead)."""
    if to not in check_move(found, act).to:
        raise ValueError(f"the act {act!r} does not lead from {found.status!r} to {to!r}")
    found.status = to


def audit(session: Session, who: Principal, action: str, found: AwardCycle, **detail) -> None:
    """Record an act on the cycle in the ledger's audit trail (subject: the cycle)."""
    ledger.audit(session, who.account_id, f"award.{action}", found.id, {"by": who.name, **detail})


def _event(session: Session, name: str, payload: dict) -> None:
    emit(session, catalog.make_event(name, payload, producer=PRODUCER))
