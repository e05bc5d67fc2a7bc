"""Account care: disabling, reset codes, forgotten passwords; and award committees."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

import web.operations as ops  # HASHER is read there at call time (tests set it)
from events.envelope import utcnow
from services.common.auth import (
    STAFF_ROLES,
    Forbidden,
    Grant,
    Principal,
)
from services.common.errors import Conflict, DomainError
from web.models import (
    Account,
    PasswordReset,
    RoleGrant,
    SmsMessage,
    UnitView,
)
from web.operations._common import AccountDisabled, TooManyCodes, _check_password_strength, audit
from web.operations.accounts import ensure_in_scope, get_account
from web.operations.signin import revoke_access

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


def _mark_disabled(
    session: Session, account: Account, at: datetime | None, reason: str | None
) -> bool:
    """Disable an account (``at``, with the reason) or enable it (None), in one statement that
    takes only where the account is not so already: of two administrators acting at once, one
    changes it and the other is told (False)."""
    not_yet = Account.disabled_at.is_(None) if at else Account.disabled_at.is_not(None)
    changed = session.execute(
        update(Account)
        .where(Account.id == account.id, not_yet)
        .values(disabled_at=at, disabled_reason=reason)
    )
    return bool(changed.rowcount)


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
    if not _mark_disabled(session, account, now, reason):
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
    if not _mark_disabled(session, account, None, None):
        raise Conflict("该账号未停用", code="not-disabled")
    session.expire(account)
    audit(session, actor.account_id, "account.enabled", account.id, _account_path(session, account))
    return account


def _usable(now: datetime) -> tuple:
    """The conditions of a reset code that can still be spent at ``now``: not used, not voided,
    not expired. Finding the live code and spending it test the same, so that a code racing
    another use or its expiry is spent at most once."""
    return (
        PasswordReset.used_at.is_(None),
        PasswordReset.voided_at.is_(None),
        PasswordReset.expires_at > now,
    )


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
            .where(PasswordReset.account_id == account.id, *_usable(now))
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
        .where(PasswordReset.id == live.id, *_usable(now))
        .values(used_at=now)
        .returning(PasswordReset.id)
    ).first()
    if spent is None:
        return None
    account.password_hash = ops.HASHER.hash(new_password)
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
