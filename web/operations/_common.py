"""What web's operations share: tunables, refusals, the audit trail and the unit tree."""

from __future__ import annotations

import math
from datetime import timedelta

from argon2 import PasswordHasher
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from events.envelope import utcnow
from services.common.auth import (
    Forbidden,
    Principal,
)
from services.common.errors import DomainError
from web.models import (
    AuditEntry,
    UnitView,
)

HASHER = PasswordHasher()  # argon2id, memory-hard
FREE_ATTEMPTS = 10  # per account from one address, or from one known browser
ADDRESS_FREE_ATTEMPTS = 30  # per address, every account together (a venue's Wi-Fi is shared)
ADDRESS_MEMORY = timedelta(hours=1)  # an address's count is forgotten after a quiet hour
ALERT_EVERY = 50  # failures for one account, from anywhere, between notes in the audit trail
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(minutes=15)


class TooManyAttempts(DomainError, status=429, code="too-many-attempts", title="尝试次数过多"):
    """Sign-in slowed down after consecutive wrong passwords."""

    def __init__(self, wait: timedelta, network: bool = False):
        seconds = max(1, math.ceil(wait.total_seconds()))
        super().__init__(
            "从此网络输错密码的次数过多，为保护账号安全，请在 {seconds} 秒后再试"
            if network
            else "连续输错密码次数过多，为保护账号安全，请在 {seconds} 秒后再试",
            values={"seconds": seconds},
        )
        self.retry_after = seconds


class InvalidCredentials(DomainError, status=401, code="invalid-credentials", title="登录失败"):
    """Wrong username or password (never saying which)."""


class AccountDisabled(DomainError, status=403, code="account-disabled", title="账号已停用"):
    """The account was disabled by an administrator: it cannot sign in until re-enabled."""

    def __init__(self):
        super().__init__("账号已停用，请联系管理员")


class TooManyCodes(DomainError, status=429, code="too-many-codes", title="验证码发送过于频繁"):
    """Too many password reset codes sent by SMS to one account, or asked for from one address."""

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
