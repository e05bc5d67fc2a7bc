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
- know who voted what and who objected: members of its committee only (everyone else reads the
  tallies, and the audit trail with those acts' authors withheld);
- object during the public notice: any signed-in person.
"""

from services.ledger.awards.operations._common import (
    CHUNK,
    CODE_ALPHABET,
    MANAGERS,
    PRODUCER,
    audit,
    cycle,
    today,
)
from services.ledger.awards.operations.access import (
    can_manage,
    can_view,
    create_cycle,
    is_member,
    require_manage,
    require_view,
    seat_committee,
)
from services.ledger.awards.operations.candidates import (
    candidate,
    compute_candidates,
    open_cycle,
    tell_story,
)
from services.ledger.awards.operations.notice import (
    decide_objection,
    lodge_objection,
    my_objections,
    next_in_rank,
    notices,
    objections,
    propose,
    public_notice,
    start_notice,
)
from services.ledger.awards.operations.publication import (
    cancel,
    certificate_check,
    honor_roll,
    my_certificates,
    publish,
    revoke,
)
from services.ledger.awards.operations.reading import (
    audit_trail,
    candidates_page,
    cycle_dict,
    cycles_for,
)
from services.ledger.awards.operations.voting import (
    break_tie,
    cast_vote,
    change_vote,
    recuse,
    standing,
)

__all__ = [
    "CHUNK",
    "CODE_ALPHABET",
    "MANAGERS",
    "PRODUCER",
    "audit",
    "audit_trail",
    "break_tie",
    "can_manage",
    "can_view",
    "cancel",
    "candidate",
    "candidates_page",
    "cast_vote",
    "certificate_check",
    "change_vote",
    "compute_candidates",
    "create_cycle",
    "cycle",
    "cycle_dict",
    "cycles_for",
    "decide_objection",
    "honor_roll",
    "is_member",
    "lodge_objection",
    "my_certificates",
    "my_objections",
    "next_in_rank",
    "notices",
    "objections",
    "open_cycle",
    "propose",
    "public_notice",
    "publish",
    "recuse",
    "require_manage",
    "require_view",
    "revoke",
    "seat_committee",
    "standing",
    "start_notice",
    "tell_story",
    "today",
]
