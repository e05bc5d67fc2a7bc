"""Every route of every app, for every kind of caller: who may do what, and who may not.

Routes come from the apps' URL maps, so a new route without an entry here fails this test.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from backbone import wait_for

from infra.registry import PARTS

PERSONAS = ("anonymous", "volunteer", "organizer_in", "organizer_out", "committee", "admin")
ACCOUNTS = {
    "anonymous": None,
    "volunteer": "13800000001",  # lives in 富春社区
    "organizer_in": "organizer",  # organizer of 富春社区
    "organizer_out": "organizer-hs",  # organizer of 横山社区, another street
    "committee": "committee",  # committee member of 北仑区
    "admin": "admin",  # administrator of 宁波市
}
_serial = itertools.count(1)


def every(status: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, status)


def signed_in(status: int, anonymous: int = 401) -> dict[str, int]:
    return {**every(status), "anonymous": anonymous}


def admin_only(status: int, anonymous: int = 401, others: int = 403) -> dict[str, int]:
    return {**every(others), "anonymous": anonymous, "admin": status}


@dataclass
class Case:
    """One route: how to call it, and what each persona gets."""

    app: str
    method: str
    rule: str
    expect: dict[str, int]
    path: object = None  # a function of the city giving the concrete path
    body: object = None  # a function of the city giving a JSON body
    page: bool = False  # called through web's session instead of a bearer token
    extra: dict = field(default_factory=dict)


def unit_id(path):
    return lambda city: city.unit(path).unit_id


def demo_volunteer(city):
    return city.account("13800000001").id


FC, XQ, SH = "/nb/bl/xq/fc/", "/nb/bl/xq/", "/nb/bl/xq/sh/"
PAGES_NEEDING_SIGN_IN = signed_in(200, anonymous=302)
ADMIN_PAGES = admin_only(200, anonymous=302)
CSRF_REFUSED = every(400)  # a form posted without its CSRF token changes nothing

CASES = [
    # Health and metrics hold no personal data; operators keep /metrics inside their network.
    *[
        Case(app, "GET", rule, every(200))
        for app in PARTS
        for rule in ("/healthz", "/readyz", "/metrics")
    ],
    # services/activities
    Case("activities", "GET", "/api/v1/units", every(200)),
    Case(
        "activities",
        "POST",
        "/api/v1/units",
        admin_only(201),
        body=lambda c: {
            "name": f"新建社区{next(_serial)}",
            "kind": "community",
            "parent_id": c.unit(XQ).unit_id,
        },
    ),
    Case(
        "activities",
        "PATCH",
        "/api/v1/units/<unit_id>",
        admin_only(200),
        path=lambda c: f"/api/v1/units/{c.unit(SH).unit_id}",
        body=lambda c: {"name": f"松花江社区{next(_serial)}"},
    ),
    # services/volunteers
    Case(
        "volunteers",
        "PUT",
        "/api/v1/volunteers/<volunteer_id>",
        {**every(403), "anonymous": 401},
        path=lambda c: f"/api/v1/volunteers/{demo_volunteer(c)}",
        body=lambda c: {"display_name": "冒名", "home_unit_id": c.unit(FC).unit_id},
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/volunteers/<volunteer_id>",
        {**signed_in(200), "organizer_out": 403},
        path=lambda c: f"/api/v1/volunteers/{demo_volunteer(c)}",
    ),
    Case("volunteers", "GET", "/api/v1/volunteers", {**signed_in(200), "volunteer": 403}),
    # services/ledger
    Case(
        "ledger",
        "GET",
        "/api/v1/ledger/volunteers/<volunteer_id>",
        {**signed_in(200), "organizer_out": 403},
        path=lambda c: f"/api/v1/ledger/volunteers/{demo_volunteer(c)}",
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/ledger/standings",
        {**signed_in(200), "volunteer": 403, "organizer_out": 403},
        path=lambda c: f"/api/v1/ledger/standings?unit_id={c.unit(FC).unit_id}",
    ),
    Case("ledger", "GET", "/api/v1/ledger/verify", admin_only(200)),
    Case("ledger", "GET", "/api/v1/ledger/adjustments", admin_only(200)),
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments",
        admin_only(201),
        body=lambda c: {"volunteer_id": demo_volunteer(c), "points": 2, "reason": "补记签到"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments/<adjustment_id>/approve",
        admin_only(200),
        path=lambda c: f"/api/v1/ledger/adjustments/{c.adjustment_to_approve}/approve",
    ),
    Case("ledger", "GET", "/api/v1/ledger/rules", every(200)),
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/rules",
        admin_only(201),
        body=lambda c: {"effective_from": (date.today() + timedelta(days=2)).isoformat()},
    ),
    # web: JSON API
    Case(
        "web",
        "POST",
        "/api/v1/auth/token",
        every(200),
        body=lambda c: {"username": "13800000001", "password": "shiliu2026"},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/accounts",
        every(201),
        body=lambda c: {
            "phone": f"1370000{next(_serial):04d}",
            "password": "pomegranate8",
            "name": "新居民",
            "home_unit_id": c.unit(FC).unit_id,
        },
    ),
    Case("web", "GET", "/api/v1/me", signed_in(200)),
    Case(
        "web",
        "PATCH",
        "/api/v1/me",
        {**signed_in(400), "volunteer": 200},
        body=lambda c: {"languages": ["普通话"]},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/me/password",
        signed_in(400),
        body=lambda c: {"current_password": "not-mine-1", "new_password": "whatever2026"},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/staff",
        admin_only(201),
        body=lambda c: {
            "username": f"staff{next(_serial)}",
            "name": "社工",
            "password": "helper2026",
            "role": "organizer",
            "unit_id": c.unit(FC).unit_id,
        },
    ),
    Case("web", "GET", "/api/v1/accounts", admin_only(200)),
    Case(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/roles",
        admin_only(201),
        path=lambda c: f"/api/v1/accounts/{c.resident}/roles",
        body=lambda c: {"role": "committee", "unit_id": c.unit(FC).unit_id},
    ),
    Case(
        "web",
        "DELETE",
        "/api/v1/accounts/<account_id>/roles/<int:grant_id>",
        admin_only(204),
        path=lambda c: f"/api/v1/accounts/{c.resident}/roles/{c.grant_to_revoke}",
    ),
    Case("web", "GET", "/api/v1/audit", admin_only(200)),
    # web: pages
    Case("web", "GET", "/", every(200), page=True),
    Case("web", "GET", "/register", every(200), page=True),
    Case("web", "POST", "/register", CSRF_REFUSED, page=True),
    Case("web", "GET", "/login", every(200), page=True),
    Case("web", "POST", "/login", CSRF_REFUSED, page=True),
    Case("web", "POST", "/logout", CSRF_REFUSED, page=True),
    Case("web", "GET", "/me", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/me", CSRF_REFUSED, page=True),
    Case("web", "GET", "/me/password", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/me/password", CSRF_REFUSED, page=True),
    Case("web", "GET", "/admin/units", ADMIN_PAGES, page=True),
    Case("web", "POST", "/admin/units", CSRF_REFUSED, page=True),
    Case("web", "GET", "/admin/accounts", ADMIN_PAGES, page=True),
    Case("web", "POST", "/admin/accounts", CSRF_REFUSED, page=True),
    Case(
        "web",
        "GET",
        "/admin/accounts/<account_id>",
        ADMIN_PAGES,
        page=True,
        path=lambda c: f"/admin/accounts/{demo_volunteer(c)}",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{demo_volunteer(c)}",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>/roles/<int:grant_id>/revoke",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{c.resident}/roles/{c.grant_to_revoke}/revoke",
    ),
    Case("web", "GET", "/admin/audit", ADMIN_PAGES, page=True),
    Case("web", "GET", "/points", PAGES_NEEDING_SIGN_IN, page=True),
    Case(
        "web",
        "GET",
        "/points/standings",
        {**PAGES_NEEDING_SIGN_IN, "volunteer": 403},
        page=True,
    ),
    Case("web", "GET", "/points/rules", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/points/rules", CSRF_REFUSED, page=True),
    Case("web", "GET", "/points/adjustments", ADMIN_PAGES, page=True),
    Case("web", "POST", "/points/adjustments", CSRF_REFUSED, page=True),
    Case(
        "web",
        "POST",
        "/points/adjustments/<adjustment_id>/approve",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/points/adjustments/{c.adjustment_to_approve}/approve",
    ),
]


def app_of(city, name):
    return city.web if name == "web" else city.apps[name]


def routes(city) -> set[tuple[str, str, str]]:
    found = set()
    for name in PARTS:
        for rule in app_of(city, name).url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add((name, method, rule.rule))
    return found


@pytest.fixture(scope="module")
def matrix_city(city):
    """The demo city plus an organizer of another street and a grant that can be revoked."""
    admin = city.as_("admin")
    created = city.client.post(
        "/api/v1/staff",
        headers=admin,
        json={
            "username": "organizer-hs",
            "name": "横山社区 王主任",
            "password": "hengshan2026",
            "role": "organizer",
            "unit_id": city.unit("/nb/bl/dq/hs/").unit_id,
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    city._tokens["organizer-hs"] = city.token("organizer-hs", "hengshan2026")
    resident = city.register("13700009999", name="被授权的居民").get_json()["id"]
    grant = city.client.post(
        f"/api/v1/accounts/{resident}/roles",
        headers=admin,
        json={"role": "organizer", "unit_id": city.unit(FC).unit_id},
    )
    city.resident, city.grant_to_revoke = resident, grant.get_json()["id"]
    # A second administrator asks for an adjustment that the first may approve; the ledger
    # must know the demo volunteer first.
    wait_for(
        lambda: (
            city.call(
                "GET", f"/api/v1/ledger/volunteers/{demo_volunteer(city)}", "admin"
            ).status_code
            == 200
        ),
        message="the ledger to know the demo volunteer",
    )
    second = city.client.post(
        "/api/v1/staff",
        headers=admin,
        json={
            "username": "admin-two",
            "name": "第二位管理员",
            "password": "second2026",
            "role": "admin",
            "unit_id": city.unit("/nb/").unit_id,
        },
    )
    assert second.status_code == 201, second.get_data(as_text=True)
    city._tokens["admin-two"] = city.token("admin-two", "second2026")
    asked = city.call(
        "POST",
        "/api/v1/ledger/adjustments",
        "admin-two",
        json={"volunteer_id": demo_volunteer(city), "points": 3, "reason": "补记讲解岗位"},
    )
    assert asked.status_code == 201, asked.get_data(as_text=True)
    city.adjustment_to_approve = asked.get_json()["id"]
    return city


def test_every_route_has_an_entry(matrix_city):
    listed = {(case.app, case.method, case.rule) for case in CASES}
    assert routes(matrix_city) - listed == set(), "routes without an access-matrix entry"
    assert listed - routes(matrix_city) == set(), "entries for routes that no longer exist"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.app}:{c.method}:{c.rule}")
def test_access(matrix_city, case):
    city = matrix_city
    path = case.path(city) if case.path else case.rule
    outcomes = {}
    for persona in PERSONAS:  # the administrator goes last: their call may change the state
        body = case.body(city) if case.body else None
        username = ACCOUNTS[persona]
        if case.page:
            client = city.page_client(username)
            answer = client.open(
                path, method=case.method, data={} if case.method == "POST" else None
            )
        elif case.rule in ("/healthz", "/readyz", "/metrics"):
            answer = app_of(city, case.app).test_client().open(path, method=case.method)
        else:
            answer = city.call(case.method, path, username, json=body)
        outcomes[persona] = answer.status_code
    assert outcomes == case.expect
