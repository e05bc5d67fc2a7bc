"""Signing in (slowed down after wrong passwords), passwords, access versions and refresh
tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

import web.operations as ops  # HASHER, ALERT_EVERY are read there at call time (tests set them)
from events import catalog
from events.envelope import utcnow
from events.outbox import emit
from services.common.auth import (
    Unauthenticated,
)
from services.common.errors import DomainError
from web.models import (
    Account,
    RefreshToken,
    SignInFailure,
    UnitView,
)
from web.operations._common import (
    ADDRESS_FREE_ATTEMPTS,
    ADDRESS_MEMORY,
    FIRST_WAIT,
    FREE_ATTEMPTS,
    LONGEST_WAIT,
    AccountDisabled,
    InvalidCredentials,
    TooManyAttempts,
    _check_password_strength,
    audit,
)

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
    if account is not None and failures % ops.ALERT_EVERY == 0:
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
            valid = ops.HASHER.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            valid = False
    else:
        ops.HASHER.hash(password)  # the same work either way: do not reveal which accounts exist
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
        ops.HASHER.verify(account.password_hash, current)
    except (VerificationError, InvalidHashError) as exc:
        raise DomainError(
            "当前密码不正确", code="wrong-password", errors={"current_password": ["当前密码不正确"]}
        ) from exc
    try:
        _check_password_strength(new, account.username, account.phone or "")
    except DomainError as exc:
        exc.errors = {"new_password": exc.errors["password"]}
        raise
    account.password_hash = ops.HASHER.hash(new)
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
