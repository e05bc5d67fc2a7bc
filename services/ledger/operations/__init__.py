"""Domain operations of services/ledger. Each runs inside the caller's transaction.

Every transaction that writes ledger rows locks the chain head first (``_Writer``), so rows are
appended one transaction at a time and the hash chain stays linear; the standings totals are
added to in the same transaction, under the same lock.
"""

from events.envelope import utcnow  # callers read the clock here (operations.utcnow)
from services.ledger.operations._common import (
    ENTRY_NAMESPACE,
    PRODUCER,
    REVERSAL_REASONS,
    audit,
    entry_uuid,
    moment_ms,
    star_thresholds,
    today,
)
from services.ledger.operations.adjustments import (
    adjustment_dict,
    approve_adjustment,
    list_adjustments,
    post_adjustment,
    reject_adjustment,
    request_adjustment,
    volunteer_place,
)
from services.ledger.operations.attendance import (
    apply_attendance,
)
from services.ledger.operations.chain import (
    version_key,
)
from services.ledger.operations.rules import (
    RULE_FIELDS,
    create_rule,
    rule_dict,
    rule_for,
    rule_version,
    rules,
)
from services.ledger.operations.standings import (
    community_standings,
    shown_explanation,
    standings,
    volunteer_ledger,
)
from services.ledger.operations.totals import (
    add_to_totals,
    follow_volunteer,
    periods_between,
    periods_of,
)

__all__ = [
    "community_standings",
    "ENTRY_NAMESPACE",
    "PRODUCER",
    "REVERSAL_REASONS",
    "RULE_FIELDS",
    "add_to_totals",
    "adjustment_dict",
    "apply_attendance",
    "approve_adjustment",
    "audit",
    "create_rule",
    "entry_uuid",
    "follow_volunteer",
    "list_adjustments",
    "moment_ms",
    "periods_between",
    "periods_of",
    "post_adjustment",
    "reject_adjustment",
    "request_adjustment",
    "rule_dict",
    "rule_for",
    "rule_version",
    "rules",
    "shown_explanation",
    "standings",
    "star_thresholds",
    "today",
    "utcnow",
    "version_key",
    "volunteer_ledger",
    "volunteer_place",
]
