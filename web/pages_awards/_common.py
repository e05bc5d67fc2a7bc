"""What the committee's and the public award pages share: the blueprint, the labels (of the
statuses: from services/common/states.py), the ledger's award API, the template helpers.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask import (
    Blueprint,
)
from flask_login import current_user

from services.common.errors import DomainError, Message
from services.common.states import (
    CandidateStatus,
    CycleStatus,
    ObjectionStatus,
    Outcome,
    VoteDecision,
)
from web import services_client
from web.i18n import current_locale, explain, render
from web.identity import access_token_for, current_account
from web.pages_activities import zone

bp = Blueprint("awards", __name__)
MANAGING = ("committee", "admin")

CANDIDATE_STATUS = CandidateStatus.labels()
OUTCOMES = Outcome.labels()
DECISIONS = VoteDecision.labels()
OBJECTION_STATUS = ObjectionStatus.labels()
AUDIT_ACTIONS = {
    "created": "发起评选",
    "opened": "开始评审",
    "nominated": "推荐并填写事迹",
    "voted": "投票",
    "vote_changed": "改票",
    "recused": "回避",
    "tie_decided": "决定并列人选",
    "notice_started": "进入公示",
    "objection_lodged": "提出异议",
    "objection_upheld": "异议成立",
    "objection_dismissed": "异议不成立",
    "proposed": "递补",
    "published": "发布光荣榜",
    "revoked": "撤销表彰",
    "cancelled": "取消评选",
}
# who did an act whose author only the cycle's committee may know (the ledger withholds it)
ANONYMOUS = {"committee_member": "一位评审委员", "resident": "一位居民"}
CYCLE_STATUS = CycleStatus.labels()
STEPS = ("open", "notice", "publish", "cancel", "revoke", "tie-break", "propose")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _token() -> str | None:
    account = current_account()
    return access_token_for(account)["access_token"] if account else None


def _ledger(method: str, path: str, **kwargs):
    """Call the ledger's API as the signed-in person (as web itself for anonymous visitors)."""
    return services_client.call("ledger", method, "/api/v1" + path, token=_token(), **kwargs)


def _raw(path: str) -> tuple[int, bytes, str]:
    """Call the ledger API for a file (status, bytes, content type)."""
    return services_client.fetch("ledger", path, token=_token())


def _messages(error: DomainError) -> list[str]:
    """What a person can act on: the per-field messages of a 422, else the detail."""
    errors = error.errors or {}
    if isinstance(errors, dict) and "json" in errors:
        errors = errors["json"]
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            found.append(render(value))

    walk(errors)
    return list(dict.fromkeys(found)) or [explain(error)]


def _safe(name: str) -> str:
    """A name fit for a file name in a header (what came in the URL, typed by anyone)."""
    return re.sub(r"[^A-Za-z0-9-]", "", name)[:64] or "file"


def _this_year() -> int:
    return datetime.now(zone()).year


def punctuation() -> dict[str, str]:
    """How lists, clauses and remarks are joined in the page's language."""
    if current_locale() == "zh":
        return {"list": "、", "clause": "；", "colon": "：", "open": "（", "close": "）"}
    return {"list": ", ", "clause": "; ", "colon": ": ", "open": " (", "close": ")"}


@bp.app_template_filter("message")
def _message(found: dict | None, text: str | None = None) -> str:
    """A message the ledger wrote (an automatic recusal's comment, an objection decided with
    another), given as its meaning (``{"key", "values"}``), in the page's language; ``text`` when
    there is no meaning."""
    if isinstance(found, dict) and isinstance(found.get("key"), str):
        return render(Message.from_meaning(found))
    return text or ""


@bp.app_context_processor
def _award_helpers():
    def my_award_certificates() -> list[dict]:
        """The signed-in person's 民族团结之星 certificates (none when the ledger is away)."""
        if not current_user.is_authenticated:
            return []
        try:
            return _ledger("GET", "/award-certificates/mine")["items"]
        except DomainError:
            return []

    def my_award_objections(cycle_id: str | None = None) -> list[dict]:
        """The signed-in person's own objections with the committee's decisions (of one cycle
        when ``cycle_id`` is given; none when the ledger is away)."""
        if not current_user.is_authenticated:
            return []
        try:
            items = _ledger("GET", "/award-objections/mine")["items"]
        except DomainError:
            return []
        return [o for o in items if cycle_id in (None, o["cycle_id"])]

    return {
        "my_award_certificates": my_award_certificates,
        "my_award_objections": my_award_objections,
        "AWARD_CYCLE_STATUS": CYCLE_STATUS,
        "AWARD_CANDIDATE_STATUS": CANDIDATE_STATUS,
        "AWARD_OUTCOMES": OUTCOMES,
        "AWARD_DECISIONS": DECISIONS,
        "AWARD_OBJECTION_STATUS": OBJECTION_STATUS,
        "AWARD_ACTIONS": AUDIT_ACTIONS,
        "award_punctuation": punctuation,
    }
