"""Accounts, profiles, staff and their roles."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import web.operations as ops  # HASHER is read there at call time (tests set it)
from events.envelope import utcnow
from services.common.auth import (
    STAFF_ROLES,
    Forbidden,
    Grant,
    Principal,
    issue_staff_statement,
)
from services.common.errors import Conflict, DomainError, NotFound
from services.common.fields import INT32_MAX
from web import services_client
from web.models import (
    Account,
    RoleGrant,
    UnitView,
)
from web.operations._common import _check_password_strength, audit, unit
from web.operations.signin import revoke_access

# ---- accounts ----------------------------------------------------------------------------


def principal_of(session: Session, account: Account) -> Principal:
    """Return the account with its current grants and their unit paths."""
    grants = []
    for grant in account.grants:
        seen = session.get(UnitView, grant.unit_id)
        if seen is not None:
            grants.append(Grant(grant.role, grant.unit_id, seen.path))
    return Principal(account.id, account.display_name, tuple(grants))


def staff_statement(session: Session, secret: str, account_ids: list[str]) -> dict:
    """web's signed word on the staff grants the named accounts hold now (for a service to
    check who may sit on a committee); accounts that do not exist are left out."""
    accounts = session.scalars(select(Account).where(Account.id.in_(list(account_ids)))).all()
    people = [principal_of(session, account) for account in accounts]
    return {
        "statement": issue_staff_statement(secret, people),
        "accounts": [
            {
                "id": who.account_id,
                "name": who.name,
                "roles": [
                    {"role": g.role, "unit_id": g.unit_id}
                    for g in who.grants
                    if g.role in STAFF_ROLES
                ],
            }
            for who in people
        ],
    }


def get_account(session: Session, account_id: str) -> Account:
    """Return an account or raise NotFound."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("账号不存在", code="unknown-account")
    return account


def _new_account(session: Session, **fields) -> Account:
    now = utcnow()
    account = Account(id=str(uuid.uuid4()), created_at=now, password_changed_at=now, **fields)
    session.add(account)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        field = "phone" if fields.get("phone") else "username"
        message = "该手机号已注册" if field == "phone" else "用户名已被使用"
        raise Conflict(message, code="duplicate-account", errors={field: [message]}) from exc
    return account


def registration_problems(session: Session, data: dict) -> list[DomainError]:
    """Everything the records say is wrong with a registration, all at once (a form names every
    mistake in one answer): the community and team, the password's strength, the consent an
    ethnicity needs and a number already registered. Fields that are missing are left to the
    schema."""
    checks = []
    if data.get("home_unit_id"):
        checks.append(lambda: unit(session, data["home_unit_id"], "home_unit_id", ("community",)))
    if data.get("team_id"):
        checks.append(lambda: unit(session, data["team_id"], "team_id", ("volunteer_team",)))
    if data.get("password"):
        checks.append(lambda: _check_password_strength(data["password"], data.get("phone") or ""))
    problems = []
    for check in checks:
        try:
            check()
        except DomainError as error:
            problems.append(error)
    if data.get("ethnicity") and not data.get("ethnicity_consent"):
        problems.append(
            DomainError(
                "填写民族须同意用于统计",
                code="consent-required",
                errors={"ethnicity_consent": ["填写民族须勾选同意（仅用于不少于 5 人的汇总统计）"]},
            )
        )
    if data.get("phone") and session.scalar(
        select(Account.id).where(Account.phone == data["phone"])
    ):
        problems.append(
            Conflict(
                "该手机号已注册", code="duplicate-account", errors={"phone": ["该手机号已注册"]}
            )
        )
    return problems


def register_volunteer(session: Session, data: dict) -> Account:
    """Create a volunteer's account and, in services/volunteers, their profile. One problem is
    refused as itself (its code and status); several together as one answer naming them all."""
    problems = registration_problems(session, data)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        errors: dict[str, list] = {}
        for problem in problems:
            for field, messages in problem.errors.items():
                errors.setdefault(field, []).extend(messages)
        raise DomainError("请检查填写的内容", code="validation", errors=errors, status=422)
    account = _new_account(
        session,
        username=data["phone"],
        phone=data["phone"],
        display_name=data["name"],
        kind="volunteer",
        home_unit_id=data["home_unit_id"],
        password_hash=ops.HASHER.hash(data["password"]),
    )
    save_profile(account, data)
    audit(
        session,
        account.id,
        "account.registered",
        account.id,
        session.get(UnitView, data["home_unit_id"]).path,
    )
    return account


PROFILE_FIELDS = ("home_unit_id", "team_id", "languages", "ethnicity", "ethnicity_consent")


def account_names(session: Session, account_ids) -> dict[str, str]:
    """Display names of accounts, by id (web knows every account)."""
    ids = [i for i in set(account_ids) if i]
    if not ids:
        return {}
    rows = session.execute(select(Account.id, Account.display_name).where(Account.id.in_(ids)))
    return {account_id: name for account_id, name in rows}


def contact_of(session: Session, account_id: str) -> str | None:
    """The mobile number of an enabled account, if it has one (for outside-channel deliveries)."""
    return session.scalar(
        select(Account.phone).where(Account.id == account_id, Account.disabled_at.is_(None))
    )


def volunteer_by_phone(session: Session, phone: str) -> Account | None:
    """The volunteer account registered with this mobile number, if any."""
    return session.scalar(
        select(Account).where(Account.phone == phone, Account.kind == "volunteer")
    )


def save_profile(account: Account, data: dict) -> dict:
    """Write the volunteer profile in services/volunteers (idempotent by account id)."""
    profile = {"display_name": data.get("name") or account.display_name}
    profile.update({name: data.get(name) for name in PROFILE_FIELDS if name in data})
    return services_client.call(
        "volunteers", "PUT", f"/api/v1/volunteers/{account.id}", json=profile
    )


def load_profile(account: Account) -> dict | None:
    """Return the account's volunteer profile, or None for staff without one."""
    if account.kind != "volunteer":
        return None
    return services_client.call("volunteers", "GET", f"/api/v1/volunteers/{account.id}")


def update_profile(session: Session, account: Account, changes: dict) -> dict:
    """Change a volunteer's own profile; the change is audited (without its values)."""
    current = load_profile(account)
    if current is None:
        raise DomainError("工作人员账号没有志愿者资料", code="no-profile")
    merged = {
        "name": changes.get("name", account.display_name),
        "home_unit_id": changes.get("home_unit_id", current["home_unit_id"]),
        "team_id": changes.get("team_id", current.get("team_id")),
        "languages": changes.get("languages", current.get("languages", [])),
        "ethnicity": changes.get("ethnicity", current.get("ethnicity")),
        "ethnicity_consent": changes.get(
            "ethnicity_consent", bool(current.get("ethnicity_consent_at"))
        ),
    }
    unit(session, merged["home_unit_id"], "home_unit_id", ("community",))
    if merged["team_id"]:
        unit(session, merged["team_id"], "team_id", ("volunteer_team",))
    profile = save_profile(account, merged)
    account.display_name = merged["name"]
    if merged["home_unit_id"] != account.home_unit_id:
        account.home_unit_id = merged["home_unit_id"]
    audit(
        session,
        account.id,
        "profile.changed",
        account.id,
        session.get(UnitView, merged["home_unit_id"]).path,
        fields=sorted(changes),
    )
    return profile


def create_staff(session: Session, actor: Principal, data: dict) -> Account:
    """An administrator creates a staff account holding one role at a unit in their scope."""
    place = unit(session, data["unit_id"])
    if not actor.can("admin", place.path):
        raise Forbidden("只能在自己管理的单位范围内创建工作人员", code="out-of-scope")
    return _create_staff(
        session,
        actor,
        data["username"],
        data["name"],
        data["password"],
        data["role"],
        place.unit_id,
    )


def create_staff_unchecked(
    session: Session, username: str, name: str, password: str, role: str, unit_id: str
) -> Account:
    """Create a staff account from the command line (the first administrator of a city)."""
    return _create_staff(session, None, username, name, password, role, unit_id)


def _create_staff(session, actor, username, name, password, role, unit_id) -> Account:
    _check_password_strength(password, username)
    account = _new_account(
        session,
        username=username,
        phone=None,
        display_name=name,
        kind="staff",
        home_unit_id=None,
        password_hash=ops.HASHER.hash(password),
    )
    grant_role(session, actor, account.id, role, unit_id)
    return account


def grant_role(
    session: Session, actor: Principal | None, account_id: str, role: str, unit_id: str
) -> RoleGrant:
    """Give an account a staff role at a unit (an administrator of that unit, or the CLI)."""
    if role not in STAFF_ROLES:
        raise DomainError(
            "角色须为 organizer、committee 或 admin",
            code="unknown-role",
            errors={"role": ["角色须为 organizer、committee 或 admin"]},
        )
    place = unit(session, unit_id)
    if actor is not None and not actor.can("admin", place.path):
        raise Forbidden("只能在自己管理的单位范围内授予角色", code="out-of-scope")
    account = get_account(session, account_id)
    existing = session.scalar(
        select(RoleGrant).where(
            RoleGrant.account_id == account.id,
            RoleGrant.role == role,
            RoleGrant.unit_id == unit_id,
            RoleGrant.revoked_at.is_(None),
        )
    )
    if existing is not None:
        return existing
    grant = RoleGrant(
        account_id=account.id,
        role=role,
        unit_id=place.unit_id,
        granted_by=actor.account_id if actor else None,
        granted_at=utcnow(),
    )
    session.add(grant)
    session.flush()
    audit(
        session,
        actor.account_id if actor else None,
        "role.granted",
        account.id,
        place.path,
        role=role,
        unit_id=place.unit_id,
        unit_name=place.name,
    )
    session.expire(account, ["grants"])
    return grant


def revoke_role(session: Session, actor: Principal, account_id: str, grant_id: int) -> None:
    """Take a role back; the grant stays as history."""
    # An id beyond the INTEGER column names no grant (and would overflow the query).
    grant = session.get(RoleGrant, grant_id) if 1 <= grant_id <= INT32_MAX else None
    if grant is None or grant.account_id != account_id or grant.revoked_at is not None:
        raise NotFound("该角色授予（grant_id）不存在", code="unknown-grant")
    place = unit(session, grant.unit_id)
    if not actor.can("admin", place.path):
        raise Forbidden("只能撤销自己管理的单位范围内的角色", code="out-of-scope")
    grant.revoked_at, grant.revoked_by = utcnow(), actor.account_id
    revoke_access(session, account_id, "role_revoked")
    audit(
        session,
        actor.account_id,
        "role.revoked",
        account_id,
        place.path,
        role=grant.role,
        unit_id=place.unit_id,
        unit_name=place.name,
    )


def _managed(actor: Principal):
    """The condition "an account the administrator manages": living in, or holding roles in,
    the administrator's units."""
    paths = actor.paths("admin")
    if not paths:
        raise Forbidden("只有管理员可以管理账号", code="admin-only")
    in_scope = select(UnitView.unit_id).where(or_(*[UnitView.path.startswith(p) for p in paths]))
    return or_(
        Account.home_unit_id.in_(in_scope),
        Account.id.in_(select(RoleGrant.account_id).where(RoleGrant.unit_id.in_(in_scope))),
    )


def find_accounts(session: Session, actor: Principal, query: str) -> list[Account]:
    """Accounts an administrator manages, by mobile number, username or part of the name."""
    statement = select(Account).where(_managed(actor))
    query = (query or "").strip()
    if query:
        statement = statement.where(
            or_(
                Account.phone == query,
                Account.username == query,
                Account.display_name.contains(query),
            )
        )
    return list(session.scalars(statement.order_by(Account.created_at.desc()).limit(50)))


def ensure_in_scope(session: Session, actor: Principal, account: Account) -> None:
    """Refuse when the account is outside every unit the administrator manages."""
    managed = session.scalar(select(Account.id).where(Account.id == account.id, _managed(actor)))
    if managed is None:
        raise Forbidden("该账号不在你管理的单位范围内", code="out-of-scope")
