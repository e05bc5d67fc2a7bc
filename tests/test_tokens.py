"""Tokens as every service checks them, and what a service answers without a session cookie."""

from __future__ import annotations

import time

import jwt
import pytest

from services.common.auth import (
    AUDIENCE,
    ISSUER,
    Unauthenticated,
    issue_token,
    verify_token,
)

SECRET = "a-secret-of-thirty-two-bytes-or-more-0001"
OTHER = "another-secret-of-thirty-two-bytes-or-more"


def claims(**extra) -> dict:
    now = int(time.time())
    return {"sub": "v-1", "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + 60, **extra}


def test_a_token_is_checked_against_the_secret_it_is_verified_with_however_often():
    mine, theirs = issue_token(SECRET, "v-1"), issue_token(OTHER, "v-2")
    for _ in range(2):  # the prepared key of each secret is kept
        assert verify_token(SECRET, mine).account_id == "v-1"
        assert verify_token(OTHER, theirs).account_id == "v-2"
        for secret, token in [(SECRET, theirs), (OTHER, mine)]:
            with pytest.raises(Unauthenticated) as refused:
                verify_token(secret, token)
            assert refused.value.code == "token-invalid"


@pytest.mark.parametrize("algorithm", ["HS512", "none"])
def test_only_hs256_tokens_pass(algorithm):
    key = None if algorithm == "none" else SECRET * 2  # long enough for HS512
    token = jwt.encode(claims(), key, algorithm=algorithm)
    with pytest.raises(Unauthenticated):
        verify_token(SECRET, token)


def test_a_service_sets_no_session_cookie_and_reads_none(desk):
    from flask import session
    from flask.sessions import NullSession

    client = desk.client()
    client.set_cookie("session", "whatever-a-browser-sent")
    answer = client.get("/api/v1/volunteers/me/signups", headers=desk.token("v-1"))
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    with desk.app.test_request_context(headers={"Cookie": "session=whatever"}):
        assert isinstance(session._get_current_object(), NullSession)
