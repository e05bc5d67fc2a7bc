"""Accounts, roles and sign-in: web's domain operations. Each runs inside the caller's transaction."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from events import catalog
from events.envelope import utcnow
from events.outbox import emit
from services.common.auth import (
    STAFF_ROLES,
    Forbidden,
    Grant,
    Principal,
    Unauthenticated,
    issue_staff_statement,
)
from services.common.errors import Conflict, DomainError, NotFound
from services.common.fields import INT32_MAX
from web import services_client
from web.models import (
    Account,
    AuditEntry,
    PasswordReset,
    RefreshToken,
    RoleGrant,
    SignInFailure,
    SmsMessage,
    UnitView,
)

HASHER = PasswordHasher()  # argon2id, memory-hard
FREE_ATTEMPTS = 10  # per account from one address, or from one known browser
ADDRESS_FREE_ATTEMPTS = 30  # per address, every account together (a venue's Wi-Fi is shared)
ADDRESS_MEMORY = timedelta(hours=1)  # an address's count is forgotten after a quiet hour
ALERT_EVERY = 50  # failures for one account, from anywhere, between notes in the audit trail
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=15)


class TooManyAttempts(DomainError):
    """Sign-in slowed down after consecutive wrong passwords."""

    status = 429
    code = "too-many-attempts"
    title = "尝试次数过多"

    def __init__(self, wait: timedelta, network: bool = False):
        seconds = max(1, math.ceil(wait.total_seconds()))
        super().__init__(
            "从此网络输错密码的次数过多，为保护账号安全，请在 {seconds} 秒后再试"
            if network
            else "连续输错密码次数过多，为保护账号安全，请在 {seconds} 秒后再试",
            values={"seconds": seconds},
        )
        self.retry_after = seconds


class InvalidCredentials(DomainError):
    """Wrong username or password (never saying which)."""

    status = 401
    code = "invalid-credentials"
    title = "登录失败"


class AccountDisabled(DomainError):
    """The account was disabled by an administrator: it cannot sign in until re-enabled."""

    status = 403
    code = "account-disabled"
    title = "账号已停用"

    def __init__(self):
        super().__init__("账号已停用，请联系管理员")


class TooManyCodes(DomainError):
    """Too many password reset codes sent by SMS to one account, or asked for from one address."""

    status = 429
    code = "too-many-codes"
    title = "验证码发送过于频繁"

    def __init__(self, wait: timedelta):
        seconds = max(1, math.ceil(wait.total_seconds()))
        super().__init__(
            "验证码发送过于频繁，请在 {minutes} 分钟后再试",
            values={"minutes": max(1, math.ceil(seconds / 60))},
        )
        self.retry_after = seconds


# ---- audit -------------------------------------------------------------------------------


def audit(
    session: Session,
    actor_id: str | None,
    action: str,
    subject_id: str | None,
    unit_path: str | None = None,
    **detail,
) -> None:
    """Record a sensitive act in the audit trail."""
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=actor_id,
            action=action,
            subject_id=subject_id,
            unit_path=unit_path,
            detail=detail,
        )
    )


def audit_entries(session: Session, who: Principal, page: int, per_page: int):
    """Return the audit entries of the administrator's units, newest first."""
    paths = who.paths("admin")
    if not paths:
        raise Forbidden("只有管理员可以查看审计记录", code="admin-only")
    condition = or_(*[AuditEntry.unit_path.startswith(path) for path in paths])
    query = select(AuditEntry).where(condition).order_by(AuditEntry.id.desc())
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(condition))
    return session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all(), total


# ---- units -------------------------------------------------------------------------------


def unit(
    session: Session, unit_id: str, field: str = "unit_id", kinds: tuple[str, ...] = ()
) -> UnitView:
    """Return a known unit (of one of the kinds), or refuse with a per-field message."""
    found = session.get(UnitView, unit_id) if unit_id else None
    if found is None or (kinds and found.kind not in kinds):
        raise DomainError("单位不存在", code="unknown-unit", errors={field: ["单位不存在"]})
    return found


def units_by_id(session: Session) -> dict[str, UnitView]:
    """Every known unit by id."""
    return {u.unit_id: u for u in units(session)}


def units(session: Session, kinds: tuple[str, ...] = ()) -> list[UnitView]:
    """Return the known units in tree order."""
    query = select(UnitView).order_by(UnitView.path)
    if kinds:
        query = query.where(UnitView.kind.in_(kinds))
    return list(session.scalars(query))


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


def _check_password_strength(password: str, *avoid: str) -> None:
    problems = []
    if len(password) < 8:
        problems.append("密码至少 8 位")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append("密码须同时包含字母和数字")
    if any(part and part in password for part in avoid):
        problems.append("密码不能包含手机号或用户名")
    if problems:
        raise DomainError("密码太弱", code="weak-password", errors={"password": problems})


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


def register_volunteer(session: Session, data: dict) -> Account:
    """Create a volunteer's account and, in services/volunteers, their profile."""
    unit(session, data["home_unit_id"], "home_unit_id", ("community",))
    if data.get("team_id"):
        unit(session, data["team_id"], "team_id", ("volunteer_team",))
    _check_password_strength(data["password"], data["phone"])
    if data.get("ethnicity") and not data.get("ethnicity_consent"):
        raise DomainError(
            "填写民族须同意用于统计",
            code="consent-required",
            errors={"ethnicity_consent": ["填写民族须勾选同意（仅用于不少于 5 人的汇总统计）"]},
        )
    if session.scalar(select(Account.id).where(Account.phone == data["phone"])):
        raise Conflict(
            "该手机号已注册", code="duplicate-account", errors={"phone": ["该手机号已注册"]}
        )
    account = _new_account(
        session,
        username=data["phone"],
        phone=data["phone"],
        display_name=data["name"],
        kind="volunteer",
        home_unit_id=data["home_unit_id"],
        password_hash=HASHER.hash(data["password"]),
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
        password_hash=HASHER.hash(password),
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


# ---- signing in --------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownDevice:
    """A browser that has signed in to an account before (its signed device cookie)."""

    account_id: str
    device_id: str


def _key(kind: str, *parts: str) -> str:
    """A throttle key; hashed when it would not fit the column (addresses from a proxy)."""
    key = f"{kind}:{'|'.join(parts)}"
    if len(key) > 128:
        key = f"{kind}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def _locked(session: Session, keys: list[str], now: datetime) -> dict[str, SignInFailure]:
    """The counts under these keys, made when missing and locked until the commit.

    Always taken in the keys' order, so two attempts never wait for each other in a circle; a
    row deleted by a concurrent success is made again.
    """
    keys = sorted(set(keys))
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    rows: dict[str, SignInFailure] = {}
    while len(rows) < len(keys):
        missing = [key for key in keys if key not in rows]
        session.execute(
            dialect_insert(SignInFailure)
            .values([{"key": key, "failures": 0, "last_failure_at": now} for key in missing])
            .on_conflict_do_nothing(index_elements=["key"])
        )
        found = session.scalars(
            select(SignInFailure)
            .where(SignInFailure.key.in_(keys))
            .order_by(SignInFailure.key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        rows = {row.key: row for row in found}
    return rows


def _wait(failures: int, free: int) -> timedelta:
    """How long to wait after this many failures, when ``free`` of them cost nothing."""
    doublings = min(failures - free, 10)  # 30 s * 2**10 is past the longest wait already
    return min(LONGEST_WAIT, FIRST_WAIT * 2**doublings)


def _unit_path_of(session: Session, account: Account) -> str | None:
    """Where an account's audit entries are seen: its home unit, else its first role's unit."""
    unit_ids = [account.home_unit_id] if account.home_unit_id else []
    unit_ids += [grant.unit_id for grant in account.grants]
    for unit_id in unit_ids:
        found = session.get(UnitView, unit_id)
        if found is not None:
            return found.path
    return None


def _count_against_account(
    session: Session, account: Account | None, name: str, now: datetime
) -> None:
    """Count a failure against the account wherever it came from; never slows anyone down,
    but every ``ALERT_EVERY`` failures since its last sign-in leave a note in the audit trail."""
    key = _key("account", name)
    failures = session.scalar(
        _upsert_returning(
            session,
            SignInFailure,
            {"key": key, "failures": 1, "last_failure_at": now},
            {"failures": SignInFailure.failures + 1, "last_failure_at": now},
            SignInFailure.failures,
        )
    )
    if account is not None and failures % ALERT_EVERY == 0:
        audit(
            session,
            None,
            "sign-in.failures",
            account.id,
            _unit_path_of(session, account),
            failures=failures,
        )


def _upsert_returning(session: Session, model, values: dict, changes: dict, returning):
    """``INSERT … ON CONFLICT (primary key) DO UPDATE … RETURNING`` for this session's
    database."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    key = [column.name for column in model.__table__.primary_key.columns]
    return (
        dialect_insert(model)
        .values(values)
        .on_conflict_do_update(index_elements=key, set_=changes)
        .returning(returning)
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    address: str,
    now: datetime | None = None,
    device: KnownDevice | None = None,
) -> Account | None:
    """Check a password; None when wrong (the failure is recorded: commit it, then refuse).

    Wrong passwords are counted per address (every account: 30 free) and per account from that
    address (10 free), or, from a browser that has signed in to that account before, per that
    browser (10 free) instead; past the free ones the next attempt waits 30 seconds, twice as
    long after each further failure, up to 15 minutes. Nothing is counted per account alone,
    so a stranger cannot lock the owner out.
    """
    now = now or utcnow()
    name = username.strip().lower()
    account = session.scalar(select(Account).where(Account.username == username.strip()))
    if device is not None and account is not None and device.account_id == account.id:
        free = {_key("device", name, device.device_id): FREE_ATTEMPTS}
    else:
        free = {
            _key("address", address): ADDRESS_FREE_ATTEMPTS,
            _key("pair", name, address): FREE_ATTEMPTS,
        }
    rows = _locked(session, list(free), now)
    for key, row in rows.items():
        if key.startswith("address:") and row.last_failure_at < now - ADDRESS_MEMORY:
            row.failures, row.blocked_until = 0, None  # an address is forgiven after a quiet hour
    waits = {
        key: row.blocked_until - now
        for key, row in rows.items()
        if row.blocked_until and row.blocked_until > now
    }
    if waits:
        longest = max(waits, key=waits.get)
        raise TooManyAttempts(waits[longest], network=longest.startswith("address:"))
    valid = False
    if account is not None:
        try:
            valid = HASHER.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            valid = False
    else:
        HASHER.hash(password)  # the same work either way: do not reveal which accounts exist
    if valid and account.disabled_at is not None:
        raise AccountDisabled()
    if valid:
        for key, row in rows.items():
            # An address is not cleared by a success: anyone can sign in to an account of
            # their own there. It is forgiven after a quiet hour instead.
            if not key.startswith("address:") or row.failures == 0:
                session.delete(row)
        session.execute(delete(SignInFailure).where(SignInFailure.key == _key("account", name)))
        return account
    for key, row in rows.items():
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= free[key]:
            row.blocked_until = now + _wait(row.failures, free[key])
    _count_against_account(session, account, name, now)
    session.flush()
    return None


def wrong_credentials() -> InvalidCredentials:
    """The refusal for a wrong username or password."""
    return InvalidCredentials("用户名（手机号）或密码不正确")


def change_password(session: Session, account: Account, current: str, new: str) -> int:
    """Change one's own password, given the current one; every other session and token of the
    account ends. Return the new access version (the caller's own session keeps it)."""
    try:
        HASHER.verify(account.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise DomainError(
            "当前密码不正确", code="wrong-password", errors={"current_password": ["当前密码不正确"]}
        ) from exc
    try:
        _check_password_strength(new, account.username, account.phone or "")
    except DomainError as exc:
        exc.errors = {"new_password": exc.errors["password"]}
        raise
    account.password_hash = HASHER.hash(new)
    account.password_changed_at = utcnow()
    audit(session, account.id, "password.changed", account.id, None)
    return revoke_access(session, account.id, "password_changed")


# ---- access: versions and refresh tokens -------------------------------------------------------

REFRESH_LIFETIME = timedelta(days=30)


def revoke_access(session: Session, account_id: str, reason: str) -> int:
    """End every token and browser session of the account: raise its access version (one
    conditional update, so concurrent revocations each count) and tell every part. Return the
    new version."""
    version = session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(access_version=Account.access_version + 1)
        .returning(Account.access_version)
    ).scalar_one()
    session.expire_all()
    emit(
        session,
        catalog.make_event(
            "account.access_revoked",
            {"account_id": account_id, "access_version": version, "reason": reason},
            producer="web",
        ),
    )
    return version


def issue_refresh_token(session: Session, account: Account) -> str:
    """A new refresh token for the account at its current access version (kept as SHA-256)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        RefreshToken(
            token_hash=_refresh_hash(token),
            account_id=account.id,
            access_version=account.access_version,
            issued_at=now,
            expires_at=now + REFRESH_LIFETIME,
        )
    )
    return token


def use_refresh_token(session: Session, token: str) -> Account:
    """Spend a refresh token (once: a conditional update, so two uses race and one loses) and
    return its account; refused when expired, used, or older than the account's access."""
    now = utcnow()
    spent = session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.token_hash == _refresh_hash(token),
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(RefreshToken.account_id, RefreshToken.access_version)
    ).first()
    if spent is None:
        raise Unauthenticated(
            "刷新令牌无效、已使用或已过期，请重新登录", code="refresh-token-invalid"
        )
    account = session.get(Account, spent.account_id)
    if account is None or account.access_version != spent.access_version:
        raise Unauthenticated("账号的角色或密码已变更，请重新登录", code="refresh-token-revoked")
    if account.disabled_at is not None:
        raise AccountDisabled()
    return account


def _refresh_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- account care: disabling, reset codes, forgotten passwords ------------------------------

RESET_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
RESET_LENGTH = 10
RESET_LIFETIME = timedelta(hours=24)
RESET_WRONG_CODES = 5  # the fifth wrong code voids the code
SMS_WINDOW = timedelta(hours=1)
SMS_CODES_PER_ACCOUNT = 3
SMS_CODES_PER_ADDRESS = 20
SMS_TEXT = "【石榴】密码重置验证码：{code}"  # the code and the platform's name, nothing else
FORGOT_ANSWER = "如果该手机号已注册，验证码已发送"


def _account_path(session: Session, account: Account) -> str | None:
    """Where an act on the account is filed: its home unit, else its highest role's unit."""
    if account.home_unit_id:
        home = session.get(UnitView, account.home_unit_id)
        if home is not None:
            return home.path
    paths = [session.get(UnitView, g.unit_id) for g in account.grants]
    paths = sorted((p.path for p in paths if p is not None), key=len)
    return paths[0] if paths else None


def ensure_manages_account(session: Session, actor: Principal, account: Account) -> None:
    """Refuse an act on the whole account (disabling it, resetting its password) unless every
    unit it belongs to — its home and where it holds roles — is one the administrator manages."""
    ensure_in_scope(session, actor, account)
    unit_ids = [account.home_unit_id] if account.home_unit_id else []
    unit_ids += [grant.unit_id for grant in account.grants]
    for unit_id in unit_ids:
        seen = session.get(UnitView, unit_id)
        if seen is None or not actor.can("admin", seen.path):
            raise Forbidden(
                "该账号还属于你管理范围以外的单位，请由上级管理员操作", code="out-of-scope"
            )


def disable_account(session: Session, actor: Principal, account_id: str, reason: str) -> Account:
    """An administrator disables an account (with a reason): it cannot sign in, and its tokens,
    refresh tokens, sessions and reset codes end."""
    account = get_account(session, account_id)
    ensure_manages_account(session, actor, account)
    if account.id == actor.account_id:
        raise DomainError("不能停用自己的账号", code="cannot-disable-self")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写停用原因", code="reason-required", errors={"reason": ["必填"]})
    now = utcnow()
    done = session.execute(
        update(Account)
        .where(Account.id == account.id, Account.disabled_at.is_(None))
        .values(disabled_at=now, disabled_reason=reason)
    ).rowcount
    if not done:
        raise Conflict("该账号已停用", code="already-disabled")
    _void_reset_codes(session, account.id, now)
    revoke_access(session, account.id, "disabled")
    audit(
        session,
        actor.account_id,
        "account.disabled",
        account.id,
        _account_path(session, account),
        reason=reason,
    )
    return get_account(session, account.id)


def enable_account(session: Session, actor: Principal, account_id: str) -> Account:
    """An administrator enables a disabled account again (it signs in anew)."""
    account = get_account(session, account_id)
    ensure_manages_account(session, actor, account)
    done = session.execute(
        update(Account)
        .where(Account.id == account.id, Account.disabled_at.is_not(None))
        .values(disabled_at=None, disabled_reason=None)
    ).rowcount
    if not done:
        raise Conflict("该账号未停用", code="not-disabled")
    session.expire(account)
    audit(session, actor.account_id, "account.enabled", account.id, _account_path(session, account))
    return account


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _typed_code(code: str) -> str:
    """A code as people type it: any case, with or without the dash and spaces."""
    return "".join(ch for ch in (code or "").upper() if ch not in " -")


def _void_reset_codes(session: Session, account_id: str, now: datetime) -> None:
    session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.account_id == account_id,
            PasswordReset.used_at.is_(None),
            PasswordReset.voided_at.is_(None),
        )
        .values(voided_at=now)
    )


def _new_reset_code(
    session: Session,
    account: Account,
    channel: str,
    issued_by: str | None = None,
    address: str | None = None,
) -> tuple[str, datetime]:
    """A new one-time code for the account (older ones are void); only its SHA-256 is kept.
    Return the code as shown (``ABCDE-FGHJK``) and when it expires."""
    now = utcnow()
    _void_reset_codes(session, account.id, now)
    code = "".join(secrets.choice(RESET_ALPHABET) for _ in range(RESET_LENGTH))
    session.add(
        PasswordReset(
            account_id=account.id,
            code_hash=_code_hash(code),
            channel=channel,
            issued_by=issued_by,
            requested_from=address,
            issued_at=now,
            expires_at=now + RESET_LIFETIME,
            failures=0,
        )
    )
    audit(
        session,
        issued_by,
        "password.reset_issued",
        account.id,
        _account_path(session, account),
        channel=channel,
    )
    return f"{code[:5]}-{code[5:]}", now + RESET_LIFETIME


def issue_password_reset(session: Session, actor: Principal, account_id: str) -> dict:
    """An administrator gets a one-time code (24 hours) that lets the account's owner set a new
    password; it is shown once and never stored."""
    account = get_account(session, account_id)
    ensure_manages_account(session, actor, account)
    code, expires_at = _new_reset_code(session, account, "admin", issued_by=actor.account_id)
    return {"account_id": account.id, "code": code, "expires_at": expires_at}


def request_password_reset(session: Session, phone: str, address: str) -> tuple[str, str] | None:
    """A volunteer who forgot their password asks for a code by SMS: return the message to send
    (phone, text), or None when there is nobody to send it to (never said to the caller).

    At most 3 codes an hour per account and 20 per asking address (429 beyond)."""
    account = session.scalar(
        select(Account)
        .where(Account.phone == phone.strip(), Account.kind == "volunteer")
        .with_for_update()
    )
    if account is None or account.disabled_at is not None:
        return None
    now = utcnow()
    for condition, limit in (
        (PasswordReset.account_id == account.id, SMS_CODES_PER_ACCOUNT),
        (PasswordReset.requested_from == address, SMS_CODES_PER_ADDRESS),
    ):
        recent = session.scalars(
            select(PasswordReset.issued_at)
            .where(
                condition,
                PasswordReset.channel == "sms",
                PasswordReset.issued_at > now - SMS_WINDOW,
            )
            .order_by(PasswordReset.issued_at.desc())
            .limit(limit)
        ).all()
        if len(recent) >= limit:
            raise TooManyCodes(recent[-1] + SMS_WINDOW - now)
    code, _expires_at = _new_reset_code(session, account, "sms", address=address)
    return account.phone, SMS_TEXT.format(code=code)


def redeem_password_reset(
    session: Session, username: str, code: str, new_password: str
) -> Account | None:
    """Set a new password with a one-time code: the code is spent (a conditional update: of two
    racing uses one wins), every token and session of the account ends. None when the code is
    wrong, spent, void or expired (a wrong one is counted: commit it, then refuse)."""
    now = utcnow()
    name = (username or "").strip()
    account = session.scalar(
        select(Account).where(or_(Account.username == name, Account.phone == name))
    )
    live = None
    if account is not None:
        live = session.scalar(
            select(PasswordReset)
            .where(
                PasswordReset.account_id == account.id,
                PasswordReset.used_at.is_(None),
                PasswordReset.voided_at.is_(None),
                PasswordReset.expires_at > now,
            )
            .order_by(PasswordReset.id.desc())
        )
    if live is None or not hmac.compare_digest(live.code_hash, _code_hash(_typed_code(code))):
        if live is not None:
            session.execute(
                update(PasswordReset)
                .where(PasswordReset.id == live.id)
                .values(
                    failures=PasswordReset.failures + 1,
                    voided_at=case(
                        (PasswordReset.failures + 1 >= RESET_WRONG_CODES, now),
                        else_=PasswordReset.voided_at,
                    ),
                )
            )
        return None
    if account.disabled_at is not None:
        raise AccountDisabled()
    try:
        _check_password_strength(new_password, account.username, account.phone or "")
    except DomainError as exc:
        exc.errors = {"new_password": exc.errors["password"]}
        raise
    spent = session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.id == live.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.voided_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
        .returning(PasswordReset.id)
    ).first()
    if spent is None:
        return None
    account.password_hash = HASHER.hash(new_password)
    account.password_changed_at = now
    audit(session, account.id, "password.reset", account.id, _account_path(session, account))
    revoke_access(session, account.id, "password_changed")
    return account


def wrong_reset_code() -> DomainError:
    """The refusal for a wrong, spent, void or expired code (never saying which)."""
    return DomainError(
        "验证码不正确、已使用或已过期",
        code="reset-code-invalid",
        errors={"code": ["验证码不正确、已使用或已过期"]},
    )


def sms_outbox(session: Session, actor: Principal) -> list[tuple[SmsMessage, str | None]]:
    """Messages the development adapter kept in the last 24 hours for residents of the
    administrator's units, newest first, with the resident's name."""
    paths = actor.paths("admin")
    if not paths:
        raise Forbidden("只有管理员可以访问此页面", code="admin-only")
    rows = session.execute(
        select(SmsMessage, Account.display_name)
        .outerjoin(Account, Account.id == SmsMessage.account_id)
        .where(
            or_(*[SmsMessage.unit_path.startswith(path) for path in paths]),
            SmsMessage.at > utcnow() - RESET_LIFETIME,
        )
        .order_by(SmsMessage.id.desc())
        .limit(200)
    ).all()
    return [(message, name) for message, name in rows]


# ---- award committees ----------------------------------------------------------------------


def staff_in_branch(
    session: Session, paths: list[str], roles: tuple[str, ...] = STAFF_ROLES
) -> list[tuple[Account, list[Grant]]]:
    """Accounts holding one of ``roles`` at a unit inside, or above, one of the given units (who
    may sit on a committee there), committee members first, each with those grants."""
    rows = session.execute(
        select(RoleGrant, UnitView)
        .join(UnitView, UnitView.unit_id == RoleGrant.unit_id)
        .where(RoleGrant.revoked_at.is_(None), RoleGrant.role.in_(roles))
        .order_by(RoleGrant.id)
    ).all()
    found: dict[str, list[Grant]] = {}
    for grant, unit_seen in rows:
        if any(unit_seen.path.startswith(p) or p.startswith(unit_seen.path) for p in paths):
            found.setdefault(grant.account_id, []).append(
                Grant(grant.role, unit_seen.unit_id, unit_seen.path)
            )
    accounts = session.scalars(select(Account).where(Account.id.in_(list(found)))).all()
    order = {role: position for position, role in enumerate(("committee", "admin", "organizer"))}
    return sorted(
        ((account, found[account.id]) for account in accounts),
        key=lambda pair: (min(order[g.role] for g in pair[1]), pair[0].display_name),
    )
