"""Tables owned by web: accounts, role grants, the audit trail, sign-in throttling, units seen,
password reset codes and the development SMS outbox."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.projections import UnitViewMixin
from services.common.types import UTCDateTime


class Base(DeclarativeBase):
    """Declarative base of web."""


class UnitView(UnitViewMixin, Base):
    """web's copy of the unit tree (for forms and for the unit paths in tokens)."""


class Account(UserMixin, Base):
    """Someone who can sign in: a volunteer (login is the mobile number) or a staff member."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(16))  # volunteer | staff
    home_unit_id: Mapped[str | None] = mapped_column(String(64), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Raised whenever access is taken back (a role revoked, the password changed): tokens and
    # browser sessions of an older version are refused (services/common/access.py).
    access_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Set while an administrator has disabled the account: it cannot sign in (account care).
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="account",
        primaryjoin="and_(Account.id == RoleGrant.account_id, RoleGrant.revoked_at.is_(None))",
        viewonly=True,
        lazy="selectin",
    )

    @property
    def disabled(self) -> bool:
        """Whether an administrator has disabled the account."""
        return self.disabled_at is not None

    @property
    def masked_phone(self) -> str:
        """The phone number with its middle four digits hidden."""
        return mask_phone(self.phone)


def mask_phone(phone: str | None) -> str:
    """Hide the middle of a mobile number: 138****5678."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


class RoleGrant(Base):
    """A staff role held at a unit, covering its subtree; revoked grants stay as history."""

    __tablename__ = "role_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str] = mapped_column(String(64))
    granted_by: Mapped[str | None] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(foreign_keys=[account_id], viewonly=True)


class AuditEntry(Base):
    """One sensitive act: who did what to whom, and when."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    unit_path: Mapped[str | None] = mapped_column(String(512), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class SignInFailure(Base):
    """Consecutive wrong passwords for one account or one address, and how long to wait."""

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """A refresh token of an API client: good once, for a new access token at the account's
    access version it was issued at; only its SHA-256 is kept."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    access_version: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Base):
    """A one-time code that sets a new password: handed out by an administrator or sent by SMS
    to a volunteer who forgot theirs. Only its SHA-256 is kept; a newer code voids it, and so do
    five wrong guesses."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # admin | sms
    issued_by: Mapped[str | None] = mapped_column(String(64))  # the administrator, if any
    requested_from: Mapped[str | None] = mapped_column(String(64), index=True)  # sms: address
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SmsMessage(Base):
    """A text message the development adapter (``log``) did not send: administrators of the
    account's units read it on /admin/sms and pass the code on by phone."""

    __tablename__ = "sms_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    phone: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500))
    account_id: Mapped[str | None] = mapped_column(String(64))
    unit_path: Mapped[str | None] = mapped_column(String(512), index=True)
