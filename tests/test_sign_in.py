"""Signing in is slowed down for whoever guesses, never for the owner: a stranger's wrong
passwords slow down the stranger's address (and that account from that address), so the
right password from the owner's usual address or browser still works."""

from __future__ import annotations

import pytest

PASSWORD = "shiliu2026"  # the demonstration accounts' password
STRANGER = {"REMOTE_ADDR": "198.51.100.66"}
OWNER_AT_HOME = {"REMOTE_ADDR": "192.0.2.50"}


@pytest.fixture(scope="module")
def city_engine() -> str:
    """The pages and the token endpoint on SQLite; the counting itself runs on both engines
    below."""
    return "sqlite"


def token(city, username: str, password: str, address: dict):
    """Ask the API for a token from an address."""
    return city.client.post(
        "/api/v1/auth/token",
        environ_base=address,
        json={"username": username, "password": password},
    )


@pytest.mark.xfail(strict=True, reason="issue 18 item 7: anyone can lock anyone out")
def test_a_strangers_ten_wrong_passwords_do_not_lock_the_administrator_out(city):
    for attempt in range(10):
        assert token(city, "admin", f"guess-{attempt}", STRANGER).status_code == 401
    assert token(city, "admin", PASSWORD, STRANGER).status_code == 429  # the stranger waits
    assert token(city, "admin", PASSWORD, OWNER_AT_HOME).status_code == 200  # the owner does not
