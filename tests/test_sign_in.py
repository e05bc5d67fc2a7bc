"""Signing in is slowed down for whoever guesses, never for the owner: a stranger's wrong
passwords slow down the stranger's address (and that account from that address), so the
right password from the owner's usual address or browser still works.

The pages and the token endpoint are walked on SQLite; the counting itself runs on SQLite and
PostgreSQL, with the clock passed in (no test waits)."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from databases import migrate, one_engine
from sqlalchemy import select

from events.envelope import utcnow
from services.common.db import make_engine, make_session_factory
from web import devices, operations
from web.models import Account, AuditEntry, SignInFailure

PASSWORD = "shiliu2026"  # the demonstration accounts' password
NEW_PASSWORD = "pomegranate8"  # the password City.register gives
STRANGER = {"REMOTE_ADDR": "198.51.100.66"}
OWNER_AT_HOME = {"REMOTE_ADDR": "192.0.2.50"}
CENTRE = {"REMOTE_ADDR": "203.0.113.200"}  # a community centre: everyone behind one address


city_engine = one_engine(
    "The pages and the token endpoint on SQLite; the counting runs on both engines below."
)


def token(city, username: str, password: str, address: dict):
    """Ask the API for a token from an address."""
    return city.client.post(
        "/api/v1/auth/token",
        environ_base=address,
        json={"username": username, "password": password},
    )


class Browser:
    """One browser on the sign-in page, at one address, keeping its cookies."""

    def __init__(self, city, address: dict):
        self.city = city
        self.client = city.web.test_client()
        self.address = address

    def sign_in(self, username: str, password: str):
        """Post the sign-in form (without CSRF, which is not what is tested here)."""
        self.city.web.config["WTF_CSRF_ENABLED"] = False
        try:
            return self.client.post(
                "/login",
                data={"username": username, "password": password},
                environ_base=self.address,
            )
        finally:
            self.city.web.config["WTF_CSRF_ENABLED"] = True


# ---- the owner is never locked out ----------------------------------------------------------


def test_a_strangers_ten_wrong_passwords_do_not_lock_the_administrator_out(city):
    for attempt in range(10):
        assert token(city, "admin", f"guess-{attempt}", STRANGER).status_code == 401
    assert token(city, "admin", PASSWORD, STRANGER).status_code == 429  # the stranger waits
    assert token(city, "admin", PASSWORD, OWNER_AT_HOME).status_code == 200  # the owner does not


def test_the_owner_at_the_strangers_address_signs_in_from_their_own_browser(city):
    assert city.register("13911118801").status_code == 201
    owner = Browser(city, CENTRE)
    first = owner.sign_in("13911118801", NEW_PASSWORD)
    assert first.status_code == 302
    cookie = first.headers.getlist("Set-Cookie")
    (device,) = [c for c in cookie if c.startswith(f"{devices.COOKIE}=")]
    assert "HttpOnly" in device and "SameSite=Lax" in device
    assert f"Max-Age={180 * 24 * 3600}" in device

    # A stranger at the same community centre guesses the owner's password.
    stranger = Browser(city, CENTRE)
    for attempt in range(10):
        assert stranger.sign_in("13911118801", f"guess-{attempt}").status_code == 401
    assert stranger.sign_in("13911118801", NEW_PASSWORD).status_code == 429  # still slowed down

    # The owner, same address, own browser: in.
    assert owner.sign_in("13911118801", NEW_PASSWORD).status_code == 302

    # The stranger's browser knows the stranger's own account; that does not help with another.
    assert city.register("13911118802").status_code == 201
    assert stranger.sign_in("13911118802", NEW_PASSWORD).status_code == 302
    assert stranger.client.get_cookie(devices.COOKIE) is not None
    assert stranger.sign_in("13911118801", NEW_PASSWORD).status_code == 429


def test_a_device_cookie_that_was_tampered_with_is_no_known_browser(city):
    assert city.register("13911118803").status_code == 201
    owner = Browser(city, CENTRE)
    assert owner.sign_in("13911118803", NEW_PASSWORD).status_code == 302
    stranger = Browser(city, CENTRE)
    for attempt in range(10):
        assert stranger.sign_in("13911118803", f"guess-{attempt}").status_code == 401
    assert stranger.sign_in("13911118803", NEW_PASSWORD).status_code == 429
    # A copy of the owner's cookie with its signature changed does not pass for the owner's.
    genuine = owner.client.get_cookie(devices.COOKIE).value
    forged = genuine[:-2] + ("AA" if genuine[-2:] != "AA" else "BB")
    stranger.client.set_cookie(devices.COOKIE, forged)
    assert stranger.sign_in("13911118803", NEW_PASSWORD).status_code == 429
    stranger.client.set_cookie(devices.COOKIE, genuine)  # the genuine cookie is what is trusted
    assert stranger.sign_in("13911118803", NEW_PASSWORD).status_code == 302


def test_an_address_slowed_down_by_spraying_says_so_in_chinese_and_in_english(city):
    sprayer = {"REMOTE_ADDR": "198.51.100.99"}
    for n in range(operations.ADDRESS_FREE_ATTEMPTS):
        assert token(city, f"nobody{n}", "guess-1", sprayer).status_code == 401
    slowed = token(city, "organizer", PASSWORD, sprayer)
    assert slowed.status_code == 429
    assert re.fullmatch(
        r"从此网络输错密码的次数过多，为保护账号安全，请在 \d+ 秒后再试",
        slowed.get_json()["detail"],
    )
    assert 1 <= int(slowed.headers["Retry-After"]) <= 30
    english = city.client.post(
        "/api/v1/auth/token",
        environ_base=sprayer,
        json={"username": "organizer", "password": PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert english.get_json()["detail"].startswith("Too many wrong passwords from this network")


# ---- the counting, on both databases ----------------------------------------------------------


@pytest.fixture
def sign_ins(make_settings, engine_name, monkeypatch):
    """web's database alone, on this engine, with a few staff accounts (password PASSWORD),
    hashed cheaply so that the many attempts are quick."""
    monkeypatch.setattr(
        operations, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    url = make_settings(engine_name).database_url("web")
    migrate("web", url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    password_hash = operations.HASHER.hash(PASSWORD)
    with factory() as session, session.begin():
        for name in ["amy", "bo", "chen", "dai", "eli", "fang", "gao", "hu", "jin", "kai", "li"]:
            session.add(
                Account(
                    id=str(uuid.uuid4()),
                    username=name,
                    display_name=name,
                    kind="staff",
                    password_hash=password_hash,
                    created_at=utcnow(),
                    password_changed_at=utcnow(),
                )
            )
    yield SignIns(factory)
    engine.dispose()


class SignIns:
    """Attempts against web's database, each in its own transaction, at a given moment."""

    def __init__(self, factory):
        self.factory = factory
        self.now = utcnow()

    def attempt(self, username, password=PASSWORD, address="198.51.100.1", device=None):
        """'signed in', 'wrong' or 'wait' (the failure committed, as the pages and API do)."""
        with self.factory() as session:
            try:
                with session.begin():
                    account = operations.authenticate(
                        session, username, password, address, now=self.now, device=device
                    )
            except operations.TooManyAttempts:
                return "wait"
        return "signed in" if account is not None else "wrong"

    def browser_of(self, username: str) -> operations.KnownDevice:
        """A browser where this account has signed in before."""
        with self.factory() as session:
            account = session.scalar(select(Account).where(Account.username == username))
        return operations.KnownDevice(account.id, "dev-" + uuid.uuid4().hex[:8])

    def later(self, **interval) -> None:
        """Let time pass."""
        self.now += timedelta(**interval)

    def failures(self, key: str) -> int:
        with self.factory() as session:
            row = session.get(SignInFailure, key)
            return row.failures if row else 0


def test_one_accounts_guesser_is_slowed_after_ten_and_the_owner_elsewhere_is_not(sign_ins):
    for _ in range(10):
        assert sign_ins.attempt("amy", "wrong-1", "198.51.100.1") == "wrong"
    assert sign_ins.attempt("amy", PASSWORD, "198.51.100.1") == "wait"
    assert sign_ins.attempt("amy", PASSWORD, "192.0.2.1") == "signed in"  # at home
    assert sign_ins.attempt("amy", PASSWORD, "198.51.100.1") == "wait"  # still, for the stranger


def test_a_second_account_from_the_same_address_is_slowed_only_after_its_own_ten(sign_ins):
    for _ in range(10):
        assert sign_ins.attempt("amy", "wrong-1") == "wrong"
    assert sign_ins.attempt("amy") == "wait"
    for _ in range(10):
        assert sign_ins.attempt("bo", "wrong-1") == "wrong"  # amy's ten do not count for bo
    assert sign_ins.attempt("bo") == "wait"
    assert sign_ins.attempt("chen") == "signed in"  # 20 of the address's 30: others go on


def test_spraying_many_accounts_from_one_address_slows_that_address(sign_ins):
    accounts = ["amy", "bo", "chen", "dai", "eli", "fang", "gao", "hu", "jin", "kai"]
    for name in accounts:
        for _ in range(3):  # three guesses each: no account reaches its ten
            assert sign_ins.attempt(name, "wrong-1") == "wrong"
    assert sign_ins.attempt("li") == "wait"  # the 31st attempt, with the right password
    assert sign_ins.attempt("li", address="192.0.2.1") == "signed in"  # elsewhere, fine


def test_signing_in_to_ones_own_account_does_not_reset_the_address(sign_ins):
    accounts = ["amy", "bo", "chen", "dai", "eli", "fang", "gao", "hu", "jin", "kai"]
    for name in accounts[:-1]:
        for _ in range(3):
            assert sign_ins.attempt(name, "wrong-1") == "wrong"
        assert sign_ins.attempt("li") == "signed in"  # the sprayer's own account, in between
    for _ in range(3):
        assert sign_ins.attempt("kai", "wrong-1") == "wrong"  # the 30th wrong password
    assert sign_ins.attempt("li") == "wait"


def test_an_address_is_forgiven_after_a_quiet_hour(sign_ins):
    for name in ["amy", "bo", "chen"]:
        for _ in range(10):
            assert sign_ins.attempt(name, "wrong-1") == "wrong"
    assert sign_ins.attempt("dai") == "wait"
    sign_ins.later(seconds=30)
    assert sign_ins.attempt("dai", "wrong-1") == "wrong"  # the 31st: now a minute's wait
    assert sign_ins.attempt("dai") == "wait"
    sign_ins.later(hours=1, seconds=1)
    assert sign_ins.attempt("dai", "wrong-1") == "wrong"
    assert sign_ins.failures("address:198.51.100.1") == 1  # counted afresh
    assert sign_ins.attempt("dai") == "signed in"


def test_the_owners_browser_is_counted_apart_from_the_address(sign_ins):
    mine = sign_ins.browser_of("amy")
    for _ in range(10):
        assert sign_ins.attempt("amy", "wrong-1") == "wrong"  # the stranger, same address
    assert sign_ins.attempt("amy") == "wait"
    assert sign_ins.attempt("amy", device=mine) == "signed in"  # the owner's browser
    # ... and the browser's own wrong passwords slow that browser down after its own ten.
    for _ in range(10):
        assert sign_ins.attempt("amy", "wrong-1", device=mine) == "wrong"
    assert sign_ins.attempt("amy", device=mine) == "wait"
    assert sign_ins.attempt("amy", device=sign_ins.browser_of("amy")) == "signed in"


def test_a_browser_known_to_another_account_counts_as_none(sign_ins):
    bos = sign_ins.browser_of("bo")
    for _ in range(10):
        assert sign_ins.attempt("amy", "wrong-1", device=bos) == "wrong"
    assert sign_ins.attempt("amy", device=bos) == "wait"
    assert sign_ins.failures("pair:amy|198.51.100.1") == 10


def test_the_waits_double_up_to_the_longest_and_a_success_clears_them(sign_ins):
    for _ in range(10):
        assert sign_ins.attempt("amy", "wrong-1") == "wrong"
    waited = []
    for _ in range(8):
        with sign_ins.factory() as session:
            row = session.get(SignInFailure, "pair:amy|198.51.100.1")
        waited.append(row.blocked_until - sign_ins.now)
        sign_ins.now = row.blocked_until
        assert sign_ins.attempt("amy", "wrong-1", "198.51.100.1") == "wrong"
    assert [w.total_seconds() for w in waited] == [30, 60, 120, 240, 480, 900, 900, 900]
    sign_ins.later(minutes=15)
    assert sign_ins.attempt("amy") == "signed in"
    assert sign_ins.failures("pair:amy|198.51.100.1") == 0
    assert sign_ins.attempt("amy", "wrong-1") == "wrong"  # one typo now costs nothing


def test_unknown_accounts_are_counted_like_known_ones(sign_ins):
    for _ in range(10):
        assert sign_ins.attempt("nobody", "wrong-1") == "wrong"
    assert sign_ins.attempt("nobody", "wrong-1") == "wait"


def test_many_failures_for_one_account_from_anywhere_leave_a_note_in_the_audit_trail(
    sign_ins, monkeypatch
):
    monkeypatch.setattr(operations, "ALERT_EVERY", 4)
    for n in range(9):
        assert sign_ins.attempt("amy", "wrong-1", f"198.51.100.{n + 10}") == "wrong"
    with sign_ins.factory() as session:
        notes = session.scalars(select(AuditEntry).where(AuditEntry.action == "sign-in.failures"))
        assert [note.detail["failures"] for note in notes] == [4, 8]
    assert sign_ins.attempt("amy", address="192.0.2.1") == "signed in"  # and it never locks


def test_parallel_wrong_passwords_are_each_counted_and_only_ten_are_judged(sign_ins):
    outcomes: list[str] = []
    start = threading.Barrier(14)

    def guess():
        start.wait()
        outcomes.append(sign_ins.attempt("amy", "wrong-1"))

    threads = [threading.Thread(target=guess) for _ in range(14)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["wait"] * 4 + ["wrong"] * 10
    assert sign_ins.failures("pair:amy|198.51.100.1") == 10
    assert sign_ins.failures("address:198.51.100.1") == 10
    assert sign_ins.failures("account:amy") == 10
