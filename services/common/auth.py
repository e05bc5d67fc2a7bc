"""Access tokens and scopes. web signs tokens; every service verifies them and checks scope itself.

A token carries the account id and its role grants, each held at a unit and covering the unit's
whole subtree (the unit's materialised path is in the grant, so a scope check is a prefix test).
Tokens are HS256 JWTs signed with SHILIU_SECRET_KEY, audience ``shiliu``, issuer ``shiliu-web``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import jwt
from flask import current_app, g, request

from events.envelope import utcnow
from services.common.errors import DomainError

AUDIENCE = "shiliu"
ISSUER = "shiliu-web"
ALGORITHM = "HS256"
TOKEN_LIFETIME = timedelta(minutes=15)
STAFF_ROLES = ("organizer", "committee", "admin")
SYSTEM = "system"  # web's own calls into the services (e.g. creating a volunteer profile)


class Unauthenticated(DomainError, status=401, code="unauthenticated", title="请先登录"):
    """No valid token: missing, tampered, expired or meant for someone else."""


class Forbidden(DomainError, status=403, code="forbidden", title="没有权限"):
    """A valid token whose roles do not reach what was asked."""


@dataclass(frozen=True)
class Grant:
    """A role held at a unit; it covers the unit's subtree."""

    role: str
    unit_id: str
    unit_path: str

    def covers(self, path: str | None) -> bool:
        """Tell whether this grant reaches a unit with the given path."""
        return path is not None and path.startswith(self.unit_path)


@dataclass(frozen=True)
class Principal:
    """Who is calling, and with which grants."""

    account_id: str
    name: str = ""
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    system: bool = False
    address: str | None = None  # the person's address, when web calls on their behalf
    access_version: int = 0  # the account's access version when the token was signed

    def has_role(self, role: str) -> bool:
        """Tell whether any grant is of this role."""
        return any(grant.role == role for grant in self.grants)

    def can(self, role: str, path: str | None) -> bool:
        """Tell whether the principal holds ``role`` (or a role in a tuple) at a unit covering path."""
        roles = (role,) if isinstance(role, str) else role
        return self.system or any(g.role in roles and g.covers(path) for g in self.grants)

    def paths(self, role: str | tuple[str, ...]) -> list[str]:
        """Return the unit paths where the principal holds the role(s)."""
        roles = (role,) if isinstance(role, str) else role
        return [grant.unit_path for grant in self.grants if grant.role in roles]


def _signed(secret: str, audience: str, lifetime: timedelta, claims: dict) -> str:
    """A JWT of the platform: ``claims`` for ``audience`` from its issuer, good from now for
    ``lifetime`` (an access token and a staff statement differ only in audience and claims)."""
    now = utcnow()
    return jwt.encode(
        {
            **claims,
            "aud": audience,
            "iss": ISSUER,
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
        },
        secret,
        algorithm=ALGORITHM,
    )


def _claims(secret: str, token: str, audience: str, required: list[str]) -> dict:
    """The claims of a JWT of the platform for ``audience``, with the ``required`` ones, after
    checking its signature, expiry and issuer (PyJWT's errors say what is wrong)."""
    return jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=ISSUER,
        options={"require": required},
    )


def _grant_claims(grants) -> list[dict]:
    return [{"role": g.role, "unit_id": g.unit_id, "unit_path": g.unit_path} for g in grants]


def _grants_of(items) -> tuple[Grant, ...]:
    """The grants a token or statement lists (KeyError or TypeError if they are malformed)."""
    return tuple(Grant(str(g["role"]), str(g["unit_id"]), str(g["unit_path"])) for g in items)


def issue_token(
    secret: str,
    account_id: str,
    grants: list[Grant] | tuple[Grant, ...] = (),
    name: str = "",
    lifetime: timedelta = TOKEN_LIFETIME,
    audience: str = AUDIENCE,
    system: bool = False,
    address: str | None = None,
    access_version: int = 0,
) -> str:
    """Sign an access token for an account and its grants at its access version (and, for web's
    calls on behalf of a person in a browser, the address web saw them at)."""
    claims = {"sub": account_id, "name": name, "grants": _grant_claims(grants)}
    if system:
        claims["system"] = True
    if address:
        claims["addr"] = address
    if access_version:
        claims["ver"] = access_version
    return _signed(secret, audience, lifetime, claims)


def verify_token(secret: str, token: str) -> Principal:
    """Check a token's signature, expiry, audience and issuer; return its principal."""
    try:
        claims = _claims(secret, token, AUDIENCE, ["exp", "iat", "sub", "aud", "iss"])
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("登录已过期，请重新获取令牌", code="token-expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise Unauthenticated("令牌不是签发给本平台的", code="token-wrong-audience") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("令牌无效", code="token-invalid") from exc
    try:
        grants = _grants_of(claims.get("grants", []))
    except (KeyError, TypeError) as exc:
        raise Unauthenticated("令牌无效", code="token-invalid") from exc
    address = claims.get("addr")
    version = claims.get("ver", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise Unauthenticated("令牌无效", code="token-invalid")
    return Principal(
        str(claims["sub"]),
        str(claims.get("name", "")),
        grants,
        bool(claims.get("system")),
        str(address) if address else None,
        version,
    )


# ---- staff statements: web's word on other accounts' roles ------------------------------------
#
# A service knows the caller's grants from the token, but not those of the other people a request
# names (the members of an award committee). web, the identity authority, signs a short-lived
# statement of the staff grants those accounts hold; the service verifies it as it verifies a
# token, so it never takes the caller's word for who holds which role. Its own audience keeps it
# from ever passing as an access token.
STAFF_STATEMENT_AUDIENCE = "shiliu-staff-statement"


def issue_staff_statement(
    secret: str, accounts: list[Principal], lifetime: timedelta = TOKEN_LIFETIME
) -> str:
    """Sign web's statement of the staff grants the given accounts hold now."""
    vouched = [
        {
            "id": who.account_id,
            "name": who.name,
            "grants": _grant_claims(g for g in who.grants if g.role in STAFF_ROLES),
        }
        for who in accounts
    ]
    return _signed(secret, STAFF_STATEMENT_AUDIENCE, lifetime, {"accounts": vouched})


def verify_staff_statement(secret: str, statement: str) -> dict[str, Principal]:
    """Check a staff statement's signature and expiry; return the accounts it vouches for."""
    try:
        required = ["exp", "iat", "aud", "iss"]
        claims = _claims(secret, statement, STAFF_STATEMENT_AUDIENCE, required)
        return {
            str(item["id"]): Principal(
                str(item["id"]), str(item.get("name", "")), _grants_of(item.get("grants", []))
            )
            for item in claims.get("accounts", [])
        }
    except jwt.ExpiredSignatureError as exc:
        raise DomainError(
            "评审委员名单的身份证明已过期，请重新提交", code="statement-expired", status=422
        ) from exc
    except (jwt.PyJWTError, KeyError, TypeError) as exc:
        raise DomainError(
            "评审委员名单的身份证明无效", code="statement-invalid", status=422
        ) from exc


def principal() -> Principal | None:
    """Return the caller of this request, from its bearer token, or None when anonymous."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        if not header:
            g.principal = None
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthenticated("Authorization 头必须是 “Bearer 令牌”", code="token-invalid")
            who = verify_token(current_app.config["SECRET_KEY"], token.strip())
            versions = current_app.extensions.get("shiliu_access")
            if (
                not who.system
                and versions is not None
                and who.access_version < versions.current(who.account_id)
            ):
                raise Unauthenticated(
                    "令牌已失效：账号的角色、密码或状态已变更，请重新登录", code="token-revoked"
                )
            g.principal = who
    return g.principal


def require_principal() -> Principal:
    """Return the caller, or refuse with 401."""
    who = principal()
    if who is None:
        raise Unauthenticated("需要登录后才能操作", code="unauthenticated")
    return who


def require_scope(role: str | tuple[str, ...], path: str | None) -> Principal:
    """Return the caller if they hold the role at a unit covering path; 401/403 otherwise."""
    who = require_principal()
    if not who.can(role, path):
        raise Forbidden("你的角色不覆盖这个单位", code="out-of-scope")
    return who


def require_system() -> Principal:
    """Only web's own service calls may pass."""
    who = require_principal()
    if not who.system:
        raise Forbidden("只有平台内部调用可以执行此操作", code="system-only")
    return who
