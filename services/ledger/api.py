"""HTTP handlers of services/ledger: parse, check scope, call one operation, shape the answer."""

from __future__ import annotations

from datetime import date

from services.common.api import Blueprint, one_page, public, roles
from services.common.app import db, service_context, transaction
from services.common.auth import (
    STAFF_ROLES,
    Forbidden,
    Principal,
    principal,
    require_principal,
    require_scope,
)
from services.common.errors import DomainError, NotFound
from services.common.idempotency import idempotent
from services.ledger import chain, operations
from services.ledger.models import UnitView
from services.ledger.schemas import (
    AdjustmentArgs,
    AdjustmentIn,
    AdjustmentOut,
    AdjustmentPage,
    AdjustmentRejectIn,
    CommunityStandingsArgs,
    CommunityStandingsOut,
    LedgerPageArgs,
    RuleIn,
    RuleList,
    RuleOut,
    StandingsArgs,
    StandingsOut,
    VerifyOut,
    VolunteerLedgerOut,
)

blp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger", description="积分账本")


def _require_admin_somewhere() -> Principal:
    who = require_principal()
    if not who.system and not who.paths("admin"):
        raise Forbidden("只有管理员可以执行此操作", code="admin-only")
    return who


@blp.get("/volunteers/<volunteer_id>")
@blp.arguments(LedgerPageArgs, location="query")
@blp.response(200, VolunteerLedgerOut)
def volunteer_ledger(args, volunteer_id):
    """A volunteer's balance, hours, stars and rows: for themselves and staff of their units."""
    who = require_principal()
    session = db()
    if not (who.system or who.account_id == volunteer_id):
        place = operations.volunteer_place(session, volunteer_id)
        if place is None:
            raise NotFound("账本里没有这位志愿者", code="unknown-volunteer")
        if not who.can(STAFF_ROLES, place[1]):
            raise Forbidden("只能查看自己或本辖区志愿者的积分", code="out-of-scope")
    stars = service_context().settings.star_hours
    return operations.volunteer_ledger(session, volunteer_id, args["page"], args["per_page"], stars)


def _unit(session, unit_id: str, field: str, kinds: tuple[str, ...] | None = None) -> UnitView:
    unit = session.get(UnitView, unit_id)
    if unit is None or (kinds and unit.kind not in kinds):
        label = "志愿服务队" if field == "team_id" else "单位"
        raise DomainError(
            f"{label}不存在", code="unknown-unit", errors={field: [f"{label}不存在"]}, status=422
        )
    return unit


def _period(args) -> tuple[date, date]:
    """The period asked for: ``from`` and ``to``, by default this year so far."""
    end = args["to"] or operations.today()
    start = args["from_"] or date(end.year, 1, 1)
    if start > end:
        raise DomainError(
            "结束日期不能早于开始日期",
            code="validation",
            errors={"to": ["结束日期不能早于开始日期"]},
            status=422,
        )
    return start, end


@blp.get("/standings")
@roles("organizer", "committee", "admin")
@blp.arguments(StandingsArgs, location="query")
@blp.response(200, StandingsOut)
def standings(args):
    """Points per volunteer for a period within a unit subtree or a team, with ranks."""
    require_principal()
    session = db()
    path = None
    if args["unit_id"]:
        path = _unit(session, args["unit_id"], "unit_id").path
        require_scope(STAFF_ROLES, path)
    if args["team_id"]:
        team = _unit(session, args["team_id"], "team_id", ("volunteer_team",))
        require_scope(STAFF_ROLES, team.path)
    start, end = _period(args)
    items, total = operations.standings(
        session,
        path=path,
        team_id=args["team_id"],
        start=start,
        end=end,
        page=args["page"],
        per_page=args["per_page"],
    )
    return {
        **one_page(items, total, args),
        "unit_id": args["unit_id"],
        "team_id": args["team_id"],
        "from_": start,
        "to": end,
    }


@blp.get("/standings/community")
@blp.arguments(CommunityStandingsArgs, location="query")
@blp.response(200, CommunityStandingsOut)
def community_standings(args):
    """The signed-in volunteer's own rank and their home unit's standings (names only)."""
    who = require_principal()
    start, end = _period(args)
    answer = operations.community_standings(
        db(), who.account_id, start=start, end=end, page=args["page"], per_page=args["per_page"]
    )
    return {**answer, "from_": start, "to": end}


@blp.get("/verify")
@roles("admin")
@blp.response(200, VerifyOut)
def verify():
    """Walk the hash chain (administrators): the first altered, removed or inserted row."""
    _require_admin_somewhere()
    session = db()
    found = chain.verify(session)
    return {
        "ok": found.ok,
        "rows": found.rows,
        "problem": found.problem.as_dict() if found.problem else None,
        "checksum": chain.checksum(session),
    }


@blp.get("/adjustments")
@roles("admin")
@blp.arguments(AdjustmentArgs, location="query")
@blp.response(200, AdjustmentPage)
def list_adjustments(args):
    """Adjustments of volunteers within the administrator's units (``status=pending`` to approve)."""
    who = _require_admin_somewhere()
    items, total = operations.list_adjustments(
        db(), who, args["status"], args["page"], args["per_page"]
    )
    return one_page(items, total, args)


@blp.post("/adjustments")
@roles("admin")
@idempotent
@blp.arguments(AdjustmentIn)
@blp.response(201, AdjustmentOut)
def request_adjustment(body):
    """Ask for a manual adjustment with a reason; a second administrator must approve it."""
    who = _require_admin_somewhere()
    with transaction() as session:
        adjustment, _created = operations.request_adjustment(session, who, body)
        return operations.adjustment_dict(adjustment)


@blp.post("/adjustments/<adjustment_id>/approve")
@roles("admin")
@blp.response(200, AdjustmentOut)
def approve_adjustment(adjustment_id):
    """Approve another administrator's adjustment: only now does it count."""
    who = _require_admin_somewhere()
    with transaction() as session:
        adjustment = operations.approve_adjustment(session, who, adjustment_id)
        return operations.adjustment_dict(adjustment)


@blp.post("/adjustments/<adjustment_id>/reject")
@roles("admin")
@blp.arguments(AdjustmentRejectIn)
@blp.response(200, AdjustmentOut)
def reject_adjustment(body, adjustment_id):
    """Reject another administrator's adjustment with a reason: it never counts."""
    who = _require_admin_somewhere()
    with transaction() as session:
        adjustment = operations.reject_adjustment(session, who, adjustment_id, body["reason"])
        return operations.adjustment_dict(adjustment)


@blp.get("/rules")
@public
@blp.response(200, RuleList)
def list_rules():
    """Every version of the points rule (public: everyone may know how points are earned)."""
    principal()  # a bad token is still refused
    session = db()
    items = operations.rules(session)
    current = operations.rule_for(session, operations.today(), operations.utcnow())
    return {
        "items": [operations.rule_dict(rule) for rule in reversed(items)],
        "current_version": current.version,
    }


@blp.post("/rules")
@roles("admin")
@idempotent
@blp.arguments(RuleIn)
@blp.response(201, RuleOut)
def create_rule(body):
    """A new version of the points rule from a future date (administrators of a whole city)."""
    who = require_principal()
    if not (who.system or any(path.count("/") == 2 for path in who.paths("admin"))):
        raise Forbidden("只有市级管理员可以修改积分规则", code="city-admin-only")
    with transaction() as session:
        rule, _created = operations.create_rule(session, who.account_id, body)
        return operations.rule_dict(rule)
