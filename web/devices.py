"""Known browsers: after a sign-in on the pages, a signed cookie names the account and a random
device id, so that the owner's own browser is counted apart from strangers at the same address
(see ``operations.authenticate``)."""

from __future__ import annotations

import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from web.operations import KnownDevice

COOKIE = "shiliu_device"
LIFETIME_SECONDS = 180 * 24 * 3600
_SALT = "shiliu-known-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def known_device() -> KnownDevice | None:
    """The browser's device cookie, when it is ours, unaltered and younger than 180 days."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        payload = _serializer().loads(value, max_age=LIFETIME_SECONDS)
        return KnownDevice(account_id=str(payload["a"]), device_id=str(payload["d"]))
    except (BadSignature, KeyError, TypeError):
        return None


def remember_device(response, account, device: KnownDevice | None) -> None:
    """Name the signed-in account in the browser's device cookie for another 180 days (the
    same device id when the browser already held one for that account)."""
    device_id = (
        device.device_id
        if device is not None and device.account_id == account.id
        else secrets.token_urlsafe(12)
    )
    response.set_cookie(
        COOKIE,
        _serializer().dumps({"a": account.id, "d": device_id}),
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
