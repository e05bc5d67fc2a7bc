"""Who is asking web: a bearer token (API clients) or the browser session (pages)."""

from __future__ import annotations

from flask import current_app, g, request
from flask_login import current_user

from services.common.app import db
from services.common.auth import TOKEN_LIFETIME, Principal, issue_token, principal
from web import operations
from web.models import Account


def current_account() -> Account | None:
    """The signed-in account of this request, by token or by session."""
    if "account" not in g:
        account = None
        if request.headers.get("Authorization"):
            who = principal()  # raises 401 for a bad token
            if who is not None and not who.system:
                account = db().get(Account, who.account_id)
        elif current_user.is_authenticated:
            account = current_user._get_current_object()
        g.account = account
    return g.account


def require_account() -> Account:
    """The signed-in account, or 401."""
    account = current_account()
    if account is None:
        from services.common.auth import Unauthenticated

        raise Unauthenticated("需要登录后才能操作", code="unauthenticated")
    return account


def caller() -> Principal | None:
    """The signed-in account's principal (current grants), or None when anonymous."""
    account = current_account()
    return operations.principal_of(db(), account) if account is not None else None


def current_principal() -> Principal:
    """The signed-in account with its current grants (read fresh from the database)."""
    return operations.principal_of(db(), require_account())


def access_token_for(account: Account) -> dict:
    """Issue an access token for an account with its current grants."""
    who = operations.principal_of(db(), account)
    token = issue_token(
        current_app.config["SECRET_KEY"], account.id, who.grants, account.display_name
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(TOKEN_LIFETIME.total_seconds()),
    }
