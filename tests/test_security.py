"""Security promises: sign-in sends people only to pages of this site, every answer carries the
security headers, and production refuses to start with a weak secret key."""

from __future__ import annotations

from dataclasses import replace

import pytest
from argon2 import Type
from databases import one_engine
from tests_support import submit

from events.settings import Settings

city_engine = one_engine(
    "Pages and headers run on SQLite here; the database plays no part in them."
)


def login_form(city, next_value: str):
    """Post the sign-in form of the demonstration organizer with ?next= as given."""
    return submit(
        city.web.test_client(),
        "/login",
        query_string={"next": next_value},
        username="organizer",
        password="shiliu2026",
    )


@pytest.mark.parametrize(
    "next_value",
    [
        "/\t/evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\/evil.example/",
        "https://evil.example/",
        "/\r\n/evil.example/",
        "/\n/evil.example/",
        " //evil.example/",
        "javascript:alert(1)",
    ],
)
def test_after_sign_in_a_next_address_off_this_site_leads_to_my_desk(city, next_value):
    answer = login_form(city, next_value)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    assert answer.headers["Location"] == "/organize"  # the organizer's desk


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("organizer", "/organize"),
        ("admin", "/organize"),
        ("committee", "/awards"),
        ("13800000001", "/me"),
    ],
)
def test_staff_land_on_their_desk_and_residents_on_their_page(city, username, landing):
    answer = _sign_in(city, username)
    assert answer.status_code == 302 and answer.headers["Location"] == landing


def test_after_sign_in_a_page_of_this_site_is_where_one_goes(city):
    answer = login_form(city, "/activities?category=邻里节")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/activities?category=")


@pytest.mark.parametrize("next_value", ["/\r\nSet-Cookie: x=1", "/\n/evil.example/", "\r"])
def test_the_sign_in_page_with_a_broken_next_address_still_shows(city, next_value):
    answer = city.web.test_client().get("/login", query_string={"next": next_value})
    assert answer.status_code == 200
    through_the_gateway = city.client.get("/login?next=/%0d%0a/evil.example/")
    assert through_the_gateway.status_code == 200


def test_a_wrong_password_with_a_broken_next_address_is_told_so(city):
    client = city.web.test_client()
    city.web.config["WTF_CSRF_ENABLED"] = False
    try:
        answer = client.post(
            "/login?next=/%0d%0a/evil.example/",
            data={"username": "organizer", "password": "not-the-password"},
        )
    finally:
        city.web.config["WTF_CSRF_ENABLED"] = True
    assert answer.status_code == 401


# ---- the secret key ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {"SHILIU_ENV": "production"},
        {"SHILIU_ENV": "production", "SHILIU_SECRET_KEY": ""},
        {"SHILIU_ENV": "production", "SHILIU_SECRET_KEY": "x" * 31},
        {"SHILIU_ENV": "production", "SHILIU_SECRET_KEY": Settings.secret_key},
        {"SHILIU_ENV": "production", "SHILIU_SECRET_KEY": "change-me-to-a-long-random-string"},
    ],
    ids=["missing", "empty", "31-bytes", "development-default", "the-example"],
)
def test_production_refuses_to_start_without_a_long_secret_key(env):
    with pytest.raises(RuntimeError, match="SHILIU_SECRET_KEY.*32 bytes"):
        Settings.from_env(env)


def test_a_key_of_32_bytes_or_more_starts_production_and_development_needs_none():
    assert Settings.from_env({"SHILIU_ENV": "production", "SHILIU_SECRET_KEY": "k" * 32}).env == (
        "production"
    )
    assert Settings.from_env({"SHILIU_ENV": "production", "SHILIU_SECRET_KEY": "石榴" * 6})
    assert Settings.from_env({}).env == "development"


def test_an_app_given_production_settings_by_hand_refuses_a_short_key(tmp_path):
    from services.common.app import create_base_app

    settings = replace(
        Settings.from_env({"SHILIU_DATA_DIR": str(tmp_path)}), env="production", secret_key="short"
    )
    with pytest.raises(RuntimeError, match="SHILIU_SECRET_KEY"):
        create_base_app("web", settings, __name__)


# ---- security headers ---------------------------------------------------------------------------


def test_pages_carry_a_content_security_policy_and_refuse_to_be_framed(city):
    answer = city.client.get("/login")
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in answer.headers  # development runs on plain HTTP


def test_every_service_answers_with_nosniff_and_no_framing(city):
    for path in ("/api/v1/activities", "/api/v1/honor-roll", "/api/v1/nothing-here"):
        answer = city.client.get(path)
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], path
    mine = city.call("GET", "/api/v1/volunteers/me", "13800000001")
    assert mine.headers["X-Content-Type-Options"] == "nosniff"


def test_production_answers_ask_for_https_from_then_on(tmp_path):
    from services.common.app import create_base_app

    settings = replace(
        Settings.from_env({"SHILIU_DATA_DIR": str(tmp_path)}),
        env="production",
        secret_key="a-production-secret-of-forty-bytes-or-so",
    )
    app = create_base_app("activities", settings, __name__)
    answer = app.test_client().get("/healthz")
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


# ---- what every signed-in person finds (issue 20 items 2, 3, 14) ----------------------------


def _sign_in(city, username: str, client=None):
    """Post the sign-in form (CSRF off for the post) as a demo person; the answer."""
    client = client or city.web.test_client()
    city.web.config["WTF_CSRF_ENABLED"] = False
    try:
        return client.post("/login", data={"username": username, "password": "shiliu2026"})
    finally:
        city.web.config["WTF_CSRF_ENABLED"] = True


def _signed_in_client(city, username: str):
    client = city.web.test_client()
    assert _sign_in(city, username, client).status_code == 302
    return client


def test_the_header_leads_everyone_signed_in_to_their_points(city):
    page = _signed_in_client(city, "13800000001").get("/volunteering/me").get_data(as_text=True)
    assert 'href="/points"' in page and "积分" in page


def test_a_page_refused_to_a_volunteer_is_titled_no_permission(city):
    answer = _signed_in_client(city, "13800000001").get("/points/adjustments")
    assert answer.status_code == 403
    assert "<title>没有权限" in answer.get_data(as_text=True)


def test_browsers_find_the_site_icon_at_favicon_ico(city):
    client = city.web.test_client()
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301
    icon = client.get(answer.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.data


def test_staff_pages_show_times_in_the_city_time_zone(city):
    """An audit entry and a pending adjustment are shown at Beijing time, not UTC (item 7)."""
    from backbone import wait_for
    from sqlalchemy import select

    from events.settings import city_zone
    from services.common.app import service_context
    from web.models import AuditEntry

    admin = _signed_in_client(city, "admin")
    with service_context(city.web).session_factory() as session:
        newest = session.scalars(select(AuditEntry).order_by(AuditEntry.at.desc())).first()
    local = newest.at.astimezone(city_zone()).strftime("%Y-%m-%d %H:%M")
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert local in audit, "the newest audit entry at Beijing time"
    assert newest.at.strftime("%Y-%m-%d %H:%M") not in audit  # its UTC time: 8 hours off
    from services.ledger.models import Adjustment

    body = {"volunteer_id": city.account("13800000001").id, "points": 5, "reason": "补记"}

    def request_adjustment():  # once the ledger has learnt of the demo volunteer
        answer = city.call("POST", "/api/v1/ledger/adjustments", "admin", json=body)
        return answer if answer.status_code == 201 else None

    asked = wait_for(request_adjustment, message="the ledger to take the adjustment")
    with service_context(city.apps["ledger"]).session_factory() as session:
        pending = session.get(Adjustment, asked.get_json()["id"])
    adjustments = admin.get("/points/adjustments").get_data(as_text=True)
    assert pending.requested_at.astimezone(city_zone()).strftime("%Y-%m-%d %H:%M") in adjustments
    assert pending.requested_at.strftime("%Y-%m-%d %H:%M") not in adjustments


def _register_form(city, phone: str, next_value: str):
    """Post the registration form of a new resident of 富春社区 with ?next= as given."""
    units = city.client.get("/api/v1/units").get_json()["items"]
    community = next(u for u in units if u["name"] == "富春社区")
    return submit(
        city.web.test_client(),
        "/register",
        query_string={"next": next_value},
        phone=phone,
        password="pomegranate2026",
        name="扎西",
        home_unit_id=community["id"],
        ethnicity="",
    )


def test_after_registering_one_goes_back_to_a_page_of_this_site_only(city):
    """A newcomer who scanned a check-in QR registers on the way and returns to it (issue 20
    item 4); an address off this site leads to their own page."""
    scanned = "/volunteering/checkin/a-1?code=123-abc"
    back = _register_form(city, "13911115551", scanned)
    assert back.status_code == 302, back.get_data(as_text=True)[:300]
    assert back.headers["Location"] == scanned
    away = _register_form(city, "13911115552", "//evil.example/")
    assert away.status_code == 302 and away.headers["Location"] == "/me"


def test_passwords_are_hashed_with_argon2id_at_the_production_cost():
    """The suite hashes at the lightest cost (conftest.py); every process of Shiliu hashes with
    argon2id at 64 MiB and three passes."""
    from web.operations._common import HASHER

    assert HASHER.type is Type.ID
    assert (HASHER.memory_cost, HASHER.time_cost) == (65536, 3)
    assert HASHER.hash("pomegranate8").startswith("$argon2id$v=19$m=65536,t=3,")
