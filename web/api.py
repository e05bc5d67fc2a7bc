"""web's JSON API: tokens, registration, the signed-in account, staff and roles, the audit trail."""

from __future__ import annotations

import structlog
from flask import current_app, request

from services.common.api import Blueprint, PageArgs, public, roles
from services.common.app import db, transaction
from services.common.auth import Forbidden, principal, require_system
from services.common.errors import NotFound
from services.common.idempotency import idempotent
from web import operations
from web.i18n import _
from web.identity import caller, current_principal, require_account, tokens_for
from web.schemas import (
    AccountList,
    AccountOut,
    AccountQuery,
    AuditPage,
    ContactOut,
    DisableIn,
    GrantOut,
    MeOut,
    PasswordChange,
    PasswordForgotIn,
    PasswordForgotOut,
    PasswordResetIn,
    ProfileChange,
    RefreshRequest,
    Registration,
    ResetCodeOut,
    RoleGrantIn,
    StaffCreate,
    StaffStatementIn,
    StaffStatementOut,
    TokenOut,
    TokenRequest,
)

log = structlog.get_logger(__name__)

blp = Blueprint(
    "identity",
    __name__,
    url_prefix="/api/v1",
    description="账号与权限 Accounts and access",
    caller=caller,
)


def client_address() -> str:
    """The caller's address (X-Forwarded-For counts only with SHILIU_TRUSTED_PROXIES set)."""
    return request.remote_addr or "unknown"


@blp.post("/auth/token")
@public
@blp.arguments(TokenRequest)
@blp.response(200, TokenOut)
def token(body):
    """Exchange a username (a volunteer's mobile number) and password for a bearer token."""
    with transaction() as session:
        account = operations.authenticate(
            session, body["username"], body["password"], client_address()
        )
        if account is not None:
            return tokens_for(session, account)
    raise operations.wrong_credentials()


@blp.post("/auth/refresh")
@public
@blp.arguments(RefreshRequest)
@blp.response(200, TokenOut)
def refresh(body):
    """Exchange a refresh token (good once) for a new access token and a new refresh token."""
    with transaction() as session:
        account = operations.use_refresh_token(session, body["refresh_token"])
        return tokens_for(session, account)


@blp.post("/auth/password-reset")
@public
@blp.arguments(PasswordResetIn)
@blp.response(204)
def reset_password(body):
    """Set a new password with a one-time code (from an administrator, or by SMS); every token
    and session of the account ends. Five wrong codes void the code."""
    with transaction() as session:
        account = operations.redeem_password_reset(
            session, body["username"], body["code"], body["new_password"]
        )
    if account is None:
        raise operations.wrong_reset_code()


@blp.post("/auth/password-forgot")
@public
@blp.arguments(PasswordForgotIn)
@blp.response(202, PasswordForgotOut)
def forgot_password(body):
    """A volunteer who forgot their password asks for a code by SMS (the same answer whether or
    not the number is registered); at most 3 codes an hour per account, 20 per address."""
    send_reset_code(body["username"], client_address())
    return {"detail": _(operations.FORGOT_ANSWER)}


def send_reset_code(phone: str, address: str) -> None:
    """Make a code for the volunteer with this number, if any, and send it once it is stored
    (a provider's failure is logged, never told: the answer must not depend on the number)."""
    with transaction() as session:
        message = operations.request_password_reset(session, phone, address)
    if message is not None:
        try:
            current_app.extensions["shiliu_sms"].send(*message)
        except Exception:  # noqa: BLE001 - whatever the provider raises, the answer is the same
            log.exception("sms.failed")


@blp.post("/auth/staff-statement")
@roles(
    "committee",
    "admin",
    detail="只有评审委员或管理员可以查询评审委员的角色",
    code="committee-only",
)
@blp.arguments(StaffStatementIn)
@blp.response(200, StaffStatementOut)
def staff_statement(body):
    """web's signed word on the staff roles of the named accounts, for ``committee_statement``
    when starting an award cycle (committee members and administrators only)."""
    who = current_principal()
    if not who.paths(("committee", "admin")):
        raise Forbidden("只有评审委员或管理员可以查询评审委员的角色", code="committee-only")
    return operations.staff_statement(db(), current_app.config["SECRET_KEY"], body["account_ids"])


@blp.post("/accounts")
@public
@idempotent
@blp.arguments(Registration)
@blp.response(201, AccountOut)
def register(body):
    """A resident registers as a volunteer."""
    with transaction() as session:
        return operations.register_volunteer(session, body)


def me_document(account) -> dict:
    """The signed-in account as its owner sees it: the full phone number, roles, profile."""
    who = operations.principal_of(db(), account)
    return {
        "id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "kind": account.kind,
        "phone": account.phone,
        "roles": [
            {"role": g.role, "unit_id": g.unit_id, "unit_path": g.unit_path} for g in who.grants
        ],
        "profile": operations.load_profile(account),
    }


@blp.get("/me")
@blp.response(200, MeOut)
def me():
    """The signed-in account, its roles and its volunteer profile."""
    return me_document(require_account())


@blp.patch("/me")
@blp.arguments(ProfileChange)
@blp.response(200, MeOut)
def change_me(body):
    """Change one's own volunteer profile."""
    account = require_account()
    with transaction() as session:
        operations.update_profile(session, account, body)
    return me_document(account)


@blp.post("/me/password")
@blp.arguments(PasswordChange)
@blp.response(204)
def change_password(body):
    """Change one's own password."""
    account = require_account()
    with transaction() as session:
        operations.change_password(session, account, body["current_password"], body["new_password"])
    # The token of this request is older than the account's access now: the client signs in
    # again (or spends a refresh token issued after this change).


def _as_administrator(operation, *args):
    """Run an administrator's operation (``operation(session, principal, *args)``) in its own
    transaction, as the signed-in caller: every account and role change below is one."""
    with transaction() as session:
        return operation(session, current_principal(), *args)


@blp.post("/staff")
@roles("admin")
@idempotent
@blp.arguments(StaffCreate)
@blp.response(201, AccountOut)
def create_staff(body):
    """An administrator creates a staff account with a role at a unit in their scope."""
    return _as_administrator(operations.create_staff, body)


@blp.get("/accounts")
@roles("admin")
@blp.arguments(AccountQuery, location="query")
@blp.response(200, AccountList)
def find_accounts(args):
    """Accounts an administrator manages, by mobile number, username or name."""
    found = operations.find_accounts(db(), current_principal(), args["q"])
    return {"items": found, "total": len(found)}


@blp.post("/accounts/<account_id>/roles")
@roles("admin")
@idempotent
@blp.arguments(RoleGrantIn)
@blp.response(201, GrantOut)
def grant_role(body, account_id):
    """Grant a role at a unit in the administrator's scope."""
    return _as_administrator(operations.grant_role, account_id, body["role"], body["unit_id"])


@blp.delete("/accounts/<account_id>/roles/<int:grant_id>")
@roles("admin")
@blp.response(204)
def revoke_role(account_id, grant_id):
    """Revoke a role granted at a unit in the administrator's scope."""
    _as_administrator(operations.revoke_role, account_id, grant_id)


@blp.post("/accounts/<account_id>/disable")
@roles("admin")
@blp.arguments(DisableIn)
@blp.response(200, AccountOut)
def disable_account(body, account_id):
    """Disable an account of the administrator's units (with a reason): it cannot sign in, and
    its tokens and sessions end everywhere within seconds."""
    return _as_administrator(operations.disable_account, account_id, body["reason"])


@blp.post("/accounts/<account_id>/enable")
@roles("admin")
@blp.response(200, AccountOut)
def enable_account(account_id):
    """Enable a disabled account again."""
    return _as_administrator(operations.enable_account, account_id)


@blp.post("/accounts/<account_id>/password-reset")
@roles("admin")
@blp.response(201, ResetCodeOut)
def issue_password_reset(account_id):
    """A one-time code (24 hours) for the account's owner to set a new password with, shown
    once: hand it on in person or by phone."""
    return _as_administrator(operations.issue_password_reset, account_id)


@blp.get("/audit")
@roles("admin")
@blp.arguments(PageArgs, location="query")
@blp.response(200, AuditPage)
def audit_trail(args):
    """The audit trail of the administrator's units, newest first."""
    items, total = operations.audit_entries(
        db(), current_principal(), args["page"], args["per_page"]
    )
    return {"items": items, "total": total, **args}


# The platform's own calls to web: read by the token's principal (a system token has no account,
# so web's account-based caller cannot read it); every person is refused.
internal = Blueprint(
    "internal",
    __name__,
    url_prefix="/api/v1",
    description="平台内部调用 The platform's own calls",
    caller=principal,
)


@internal.get("/accounts/<account_id>/contact")
@internal.response(200, ContactOut)
def account_contact(account_id):
    """An account's mobile number, for the platform's own deliveries on outside channels (the
    notifications worker, when its SMS adapter needs one): a system token only, never a person's."""
    require_system()
    found = operations.contact_of(db(), account_id)
    if found is None:
        raise NotFound("这个账号没有登记手机号", code="no-phone")
    return {"phone": found}
