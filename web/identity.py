"""Who is asking web: a bearer token (API clients) or the browser session (pages)."""

from __future__ import annotations

from flask import current_app, g, request
from flask import session as flask_session
from flask_login import current_user, login_user

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


def access_token_for(account: Account, address: str | None = None) -> dict:
    """Issue an access token for an account with its current grants (with ``address`` when web
    calls a service for a person in a browser: the service counts their check-in attempts)."""
    who = operations.principal_of(db(), account)
    token = issue_token(
        current_app.config["SECRET_KEY"],
        account.id,
        who.grants,
        account.display_name,
        address=address,
        access_version=account.access_version,
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(TOKEN_LIFETIME.total_seconds()),
    }


def tokens_for(session, account: Account) -> dict:
    """An access token and a refresh token for an API client (the refresh token is good once,
    for 30 days, until the account's access is revoked)."""
    refresh = operations.issue_refresh_token(session, account)
    return {
        **access_token_for(account),
        "refresh_token": refresh,
        "refresh_expires_in": int(operations.REFRESH_LIFETIME.total_seconds()),
    }


def sign_in(account: Account) -> None:
    """Start a browser session for the account at its current access version."""
    login_user(account)
    flask_session["access_version"] = account.access_version


def keep_signed_in(access_version: int) -> None:
    """The session that changed the password stays; every other one ends."""
    flask_session["access_version"] = access_version


def session_account(account_id: str) -> Account | None:
    """The account of a browser session, unless its access was revoked since it signed in."""
    account = db().get(Account, account_id)
    if account is None or flask_session.get("access_version", 1) != account.access_version:
        return None
    return account
