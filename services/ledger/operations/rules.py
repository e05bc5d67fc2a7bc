"""Points rules: the versions in force, creating one, and their serialized form."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from events.envelope import utcnow
from services.common.errors import DomainError, NotFound
from services.ledger import rules as r
from services.ledger.models import (
    PointsRule,
)
from services.ledger.operations._common import audit, today

# ---- rules -------------------------------------------------------------------------------


def rules(session: Session) -> list[SimpleNamespace]:
    """Every rule version, oldest first, as plain values (cached for the session: rules change
    rarely, and the points of every event are computed from them)."""
    cached = session.info.get("ledger_rules")
    if cached is None:
        rows = session.execute(select(PointsRule.__table__).order_by(PointsRule.version))
        cached = [SimpleNamespace(**row._mapping) for row in rows]
        session.info["ledger_rules"] = cached
    return cached


def rule_version(session: Session, version: int) -> SimpleNamespace:
    """One rule version."""
    for rule in rules(session):
        if rule.version == version:
            return rule
    raise NotFound(f"积分规则第 {version} 版不存在", code="unknown-rule")


def rule_for(session: Session, day: date, known_at: datetime) -> SimpleNamespace:
    """The rule in force for attendance on ``day`` as it was known at ``known_at``.

    The latest effective date on or before the day wins (the newer version on a tie), among
    the rules recorded before the event happened: a rule never reaches back to events that
    were already there, so a rebuild from the event history computes exactly what the live
    ledger did.
    """
    candidates = [
        rule
        for rule in rules(session)
        if rule.effective_from <= day and rule.created_at <= known_at
    ]
    if not candidates:
        candidates = rules(session)[:1]
    if not candidates:
        raise RuntimeError("no points rule: the ledger's migrations create the default one")
    return max(candidates, key=lambda rule: (rule.effective_from, rule.version))


RULE_FIELDS = (
    "attendance_base",
    "points_per_hour",
    "max_half_hours",
    "cross_group_bonus_percent",
    "no_show_penalty",
    "daily_cap",
)


def create_rule(session: Session, actor_id: str, body: dict, idempotency_key: str | None = None):
    """Record a new rule version from its effective date (tomorrow at the earliest)."""
    if idempotency_key:
        known = session.scalar(
            select(PointsRule).where(PointsRule.idempotency_key == idempotency_key)
        )
        if known is not None:
            return known, False
    if body["effective_from"] <= today():
        raise DomainError(
            "新规则只能从明天或以后生效，已发生的积分不会被改写",
            code="effective-date-past",
            errors={"effective_from": ["生效日期必须晚于今天"]},
            status=422,
        )
    latest = session.scalar(select(PointsRule).order_by(PointsRule.version.desc()).limit(1))
    values = {name: getattr(latest, name) for name in RULE_FIELDS}
    if body.get("max_hours") is not None:
        values["max_half_hours"] = r.half_hours(body["max_hours"])
    values.update({name: body[name] for name in RULE_FIELDS if body.get(name) is not None})
    rule = PointsRule(
        version=(latest.version if latest else 0) + 1,
        effective_from=body["effective_from"],
        note=body.get("note") or "",
        created_by=actor_id,
        created_at=utcnow(),
        idempotency_key=idempotency_key,
        **values,
    )
    session.add(rule)
    session.flush()
    session.info.pop("ledger_rules", None)
    audit(session, actor_id, "rule.created", str(rule.version), rule_dict(rule))
    return rule, True


def rule_dict(rule) -> dict:
    """A rule as the API shows it."""
    return {
        "version": rule.version,
        "effective_from": rule.effective_from,
        "attendance_base": rule.attendance_base,
        "points_per_hour": rule.points_per_hour,
        "max_hours": r.format_hours(rule.max_half_hours),
        "cross_group_bonus_percent": rule.cross_group_bonus_percent,
        "no_show_penalty": rule.no_show_penalty,
        "daily_cap": rule.daily_cap,
        "note": rule.note,
        "created_by": rule.created_by,
        "created_at": rule.created_at,
    }
