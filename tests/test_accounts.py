"""Accounts: registration, tokens, roles, throttled sign-in, the audit trail, masked phones."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from backbone import wait_for
from databases import one_engine
from sqlalchemy import func, select
from tests_support import submit

from events.envelope import utcnow
from services.common.app import service_context
from services.common.auth import Grant, issue_token
from web.models import Account

city_engine = one_engine(
    "Accounts run on SQLite here; the services' PostgreSQL paths are covered elsewhere."
)


def accounts_count(city) -> int:
    with service_context(city.web).session_factory() as session:
        return session.scalar(select(func.count()).select_from(Account))


def test_a_resident_registers_gets_a_token_and_sees_their_profile(city):
    answer = city.register(
        "13911112222",
        name="马晓梅",
        languages=["回族话", "普通话"],
        ethnicity="回族",
        ethnicity_consent=True,
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    account_id = answer.get_json()["id"]
    assert answer.get_json()["phone"] == "139****2222"  # masked even in the answer

    token = city.client.post(
        "/api/v1/auth/token", json={"username": "13911112222", "password": "pomegranate8"}
    ).get_json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 900
    me = city.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    body = me.get_json()
    assert body["id"] == account_id and body["phone"] == "13911112222"  # the owner sees it whole
    assert body["profile"]["ethnicity"] == "回族"
    assert body["profile"]["languages"] == ["回族话", "普通话"]
    assert body["roles"] == []


def test_the_volunteer_registered_event_carries_no_phone_and_no_ethnicity(city):
    from services.ledger.models import VolunteerView

    answer = city.register("13911113333", name="古丽", ethnicity="维吾尔族", ethnicity_consent=True)
    volunteer_id = answer.get_json()["id"]
    factory = service_context(city.apps["ledger"]).session_factory

    def projected():
        with factory() as session:
            return session.get(VolunteerView, volunteer_id)

    seen = wait_for(projected, message="the ledger to learn the new volunteer")
    assert seen.display_name == "古丽"
    from events.store import outbox

    with service_context(city.apps["volunteers"]).session_factory() as session:
        values = session.scalars(select(outbox.c.value).where(outbox.c.key == volunteer_id)).all()
    assert values and all(b"13911113333" not in v and "维吾尔".encode() not in v for v in values)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"phone": "1391111"}, "phone", "请输入 11 位中国大陆手机号"),
        ({"phone": "23911114444"}, "phone", "请输入 11 位中国大陆手机号"),
        ({"password": "short1"}, "password", "密码至少 8 位"),
        ({"password": "onlyletters"}, "password", "密码须同时包含字母和数字"),
        ({"password": "x13911114444"}, "password", "密码不能包含手机号或用户名"),
        ({"name": "长" * 51}, "name", "姓名须为 1 到 50 个字符"),
        ({"home_unit_id": "no-such-unit"}, "home_unit_id", "单位不存在"),
        ({"team_id": "no-such-team"}, "team_id", "单位不存在"),
        ({"ethnicity": "火星族"}, "ethnicity", "请从列表中选择民族"),
        (
            {"ethnicity": "回族"},
            "ethnicity_consent",
            "填写民族须勾选同意（仅用于不少于 5 人的汇总统计）",
        ),
        ({"languages": ["x" * 31]}, "languages", None),
    ],
)
def test_bad_registrations_get_per_field_messages_and_create_nothing(city, change, field, message):
    before = accounts_count(city)
    body = {
        "phone": "13911114444",
        "password": "pomegranate8",
        "name": "张三",
        "home_unit_id": city.unit("/nb/bl/xq/fc/").unit_id,
        **change,
    }
    answer = city.client.post("/api/v1/accounts", json=body)
    assert 400 <= answer.status_code < 500
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    problem = answer.get_json()
    errors = problem["errors"].get("json", problem["errors"])
    assert field in errors, problem
    if message:
        assert message in errors[field]
    assert accounts_count(city) == before


def test_a_street_is_not_a_home_community(city):
    answer = city.register("13911115555", community="/nb/bl/xq/")
    assert answer.status_code == 400
    assert answer.get_json()["errors"] == {"home_unit_id": ["单位不存在"]}


def test_registering_the_same_phone_twice_is_refused(city):
    assert city.register("13911116666").status_code == 201
    before = accounts_count(city)
    again = city.register("13911116666", name="冒名")
    assert again.status_code == 409
    assert again.get_json()["errors"] == {"phone": ["该手机号已注册"]}
    assert accounts_count(city) == before


def test_several_mistakes_the_records_find_are_named_in_one_answer(city):
    """Issue 20 item 12: a weak password, an unknown team, an ethnicity without consent and a
    number already registered come back together (one at a time, a person tries four times)."""
    assert city.register("13911119797").status_code == 201
    before = accounts_count(city)
    answer = city.client.post(
        "/api/v1/accounts",
        json={
            "phone": "13911119797",
            "password": "onlyletters",
            "name": "张三",
            "home_unit_id": city.unit("/nb/bl/xq/fc/").unit_id,
            "team_id": "no-such-team",
            "ethnicity": "回族",
        },
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {
        "team_id": ["单位不存在"],
        "password": ["密码须同时包含字母和数字"],
        "ethnicity_consent": ["填写民族须勾选同意（仅用于不少于 5 人的汇总统计）"],
        "phone": ["该手机号已注册"],
    }
    assert accounts_count(city) == before


def test_english_on_request(city):
    answer = city.client.post(
        "/api/v1/accounts",
        json={"phone": "1", "password": "pomegranate8", "name": "x", "home_unit_id": "u"},
        headers={"Accept-Language": "en"},
    )
    assert answer.status_code == 422
    from web.i18n import _load

    english = _load("en").gettext("请输入 11 位中国大陆手机号")
    assert english != "请输入 11 位中国大陆手机号" and english.isascii()
    assert answer.get_json()["errors"]["json"]["phone"] == [english]


def test_ten_wrong_passwords_slow_down_that_account_from_that_address_and_say_so(city):
    assert city.register("13911117777").status_code == 201
    attacker = {"REMOTE_ADDR": "198.51.100.23"}

    def sign_in(password, address=attacker):
        return city.client.post(
            "/api/v1/auth/token",
            environ_base=address,
            json={"username": "13911117777", "password": password},
        )

    for _ in range(10):
        assert sign_in("wrong-password-1").status_code == 401
    slowed = sign_in("pomegranate8")  # even the right password waits now
    assert slowed.status_code == 429
    assert "请在" in slowed.get_json()["detail"] and "秒后再试" in slowed.get_json()["detail"]
    assert 1 <= int(slowed.headers["Retry-After"]) <= 30
    # Not the owner elsewhere, nor the other accounts of that address (tests/test_sign_in.py).
    assert sign_in("pomegranate8", {"REMOTE_ADDR": "192.0.2.1"}).status_code == 200
    other = city.client.post(
        "/api/v1/auth/token",
        environ_base=attacker,
        json={"username": "admin", "password": "shiliu2026"},
    )
    assert other.status_code == 200

    # Once the wait is over, the right password works (and clears the slow-down).
    from web.models import SignInFailure

    with service_context(city.web).session_factory() as session, session.begin():
        for row in session.scalars(select(SignInFailure)):
            row.blocked_until = utcnow() - timedelta(seconds=1)
    assert sign_in("pomegranate8").status_code == 200


def test_tampered_expired_and_wrong_audience_tokens_get_401_and_wrong_scope_403(city):
    secret = city.web.config["SECRET_KEY"]
    good = city.token("organizer")
    header, payload, signature = good.split(".")
    tampered = (
        f"{header}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    )
    admin_at = Grant("admin", city.unit("/nb/").unit_id, "/nb/")
    forged = jwt.encode(
        {**jwt.decode(good, options={"verify_signature": False}), "grants": [admin_at.__dict__]},
        "not-the-secret-though-as-long-as-one",  # 32 bytes or more: no key-length warning
        algorithm="HS256",
    )
    expired = issue_token(secret, "someone", [admin_at], lifetime=timedelta(seconds=-5))
    elsewhere = issue_token(secret, "someone", [admin_at], audience="another-platform")
    body = {"name": "新社区", "kind": "community", "parent_id": city.unit("/nb/bl/xq/").unit_id}
    for token, code in [
        (tampered, "token-invalid"),
        (forged, "token-invalid"),
        (expired, "token-expired"),
        (elsewhere, "token-wrong-audience"),
        ("not-a-jwt", "token-invalid"),
    ]:
        answer = city.client.post(
            "/api/v1/units", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 401, (code, answer.get_data(as_text=True))
        assert answer.get_json()["type"].endswith(code)
    wrong_scope = city.call(
        "POST", "/api/v1/units", "organizer", json=body
    )  # an organizer, not admin
    assert wrong_scope.status_code == 403


def test_an_administrator_grants_and_revokes_a_role_and_both_are_audited(city):
    resident = city.register("13911118888", name="李师傅").get_json()
    community = city.unit("/nb/bl/xq/fc/")
    granted = city.grant(resident["id"], "organizer", "/nb/bl/xq/fc/")
    assert granted.status_code == 201
    token = city.client.post(
        "/api/v1/auth/token", json={"username": "13911118888", "password": "pomegranate8"}
    ).get_json()
    me = city.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.get_json()["roles"] == [
        {"role": "organizer", "unit_id": community.unit_id, "unit_path": "/nb/bl/xq/fc/"}
    ]
    revoked = city.call(
        "DELETE", f"/api/v1/accounts/{resident['id']}/roles/{granted.get_json()['id']}", "admin"
    )
    assert revoked.status_code == 204
    trail = city.call("GET", "/api/v1/audit", "admin").get_json()["items"]
    acts = [(e["action"], e["subject_id"]) for e in trail if e["subject_id"] == resident["id"]]
    assert ("role.granted", resident["id"]) in acts and ("role.revoked", resident["id"]) in acts


def test_an_administrator_cannot_grant_outside_their_units(city):
    resident = city.register("13911119999").get_json()
    # The demo organizer becomes admin of one community only, then tries a unit outside it.
    account = city.account("organizer")
    city.grant(account.id, "admin", "/nb/bl/xq/fc/")
    city._tokens.pop("organizer", None)
    outside = city.grant(resident["id"], "organizer", "/nb/hs/", by="organizer")
    assert outside.status_code == 403


def test_phone_numbers_are_masked_for_administrators(city):
    city.register("13912340000", name="王阿姨")
    found = city.call("GET", "/api/v1/accounts?q=13912340000", "admin").get_json()["items"]
    assert [a["phone"] for a in found] == ["139****0000"]
    assert "13912340000" not in str(found)


def test_a_password_change_needs_the_current_password(city):
    city.register("13912341111")
    token = city.client.post(
        "/api/v1/auth/token", json={"username": "13912341111", "password": "pomegranate8"}
    ).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    wrong = city.client.post(
        "/api/v1/me/password",
        headers=headers,
        json={"current_password": "nope", "new_password": "garnet2026x"},
    )
    assert wrong.status_code == 400 and "current_password" in wrong.get_json()["errors"]
    weak = city.client.post(
        "/api/v1/me/password",
        headers=headers,
        json={"current_password": "pomegranate8", "new_password": "weak"},
    )
    assert weak.status_code == 400 and "new_password" in weak.get_json()["errors"]
    ok = city.client.post(
        "/api/v1/me/password",
        headers=headers,
        json={"current_password": "pomegranate8", "new_password": "garnet2026x"},
    )
    assert ok.status_code == 204
    again = city.client.post(
        "/api/v1/auth/token", json={"username": "13912341111", "password": "garnet2026x"}
    )
    assert again.status_code == 200


def test_shiliu_accounts_create_makes_the_first_administrator(city, monkeypatch):
    from click.testing import CliRunner

    from infra.cli import main

    settings = city.platform.settings
    monkeypatch.setenv("SHILIU_WEB_DATABASE_URL", settings.database_url("web"))
    street = city.unit("/nb/bl/dq/")
    result = CliRunner().invoke(
        main,
        [
            "accounts",
            "create",
            "--username",
            "dq-admin",
            "--password",
            "dachai2026",
            "--role",
            "admin",
            "--unit",
            street.unit_id,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "created admin dq-admin at 大碶街道" in result.output
    weak = CliRunner().invoke(
        main,
        [
            "accounts",
            "create",
            "--username",
            "x-admin",
            "--password",
            "weak",
            "--role",
            "admin",
            "--unit",
            "/nb/",
        ],
    )
    assert weak.exit_code != 0 and "密码至少 8 位" in weak.output
    city.token("dq-admin", "dachai2026")
    me = city.client.get("/api/v1/me", headers=city.as_("dq-admin")).get_json()
    assert me["roles"][0]["unit_path"] == "/nb/bl/dq/"


def _tokens(city, username: str, password: str = "pomegranate8") -> dict:
    answer = city.client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_revoked_administrator_s_old_token_stops_working_in_every_part_within_seconds(city):
    """The revoked administrator's token created a unit a moment ago; once the revocation has
    travelled (account.access_revoked), every part refuses it, and so does its refresh token."""
    resident = city.register("13911117070", name="赵干事").get_json()
    district = city.unit("/nb/bl/")
    granted = city.grant(resident["id"], "admin", "/nb/bl/").get_json()
    old = _tokens(city, "13911117070")
    made = city.client.post(
        "/api/v1/units",
        headers=_bearer(old["access_token"]),
        json={"name": "撤销前街道", "kind": "street", "parent_id": district.unit_id},
    )
    assert made.status_code == 201, made.get_data(as_text=True)

    revoked = city.call(
        "DELETE", f"/api/v1/accounts/{resident['id']}/roles/{granted['id']}", "admin"
    )
    assert revoked.status_code == 204

    def refused(path: str, method: str = "GET", **kwargs):
        answer = city.client.open(
            path, method=method, headers=_bearer(old["access_token"]), **kwargs
        )
        return answer.status_code == 401 and answer.get_json()["type"].endswith(":token-revoked")

    unit = {"name": "撤销后街道", "kind": "street", "parent_id": district.unit_id}
    wait_for(lambda: refused("/api/v1/units", "POST", json=unit), message="activities")
    wait_for(lambda: refused("/api/v1/volunteers/me/signups"), message="volunteers")
    wait_for(lambda: refused(f"/api/v1/ledger/volunteers/{resident['id']}"), message="ledger")
    wait_for(lambda: refused("/api/v1/me"), message="web")
    again = city.client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
    assert again.status_code == 401
    assert again.get_json()["type"].endswith(":refresh-token-revoked")

    fresh = _tokens(city, "13911117070")  # signs in again: a token without the admin role
    assert (
        city.client.post(
            "/api/v1/units", headers=_bearer(fresh["access_token"]), json=unit
        ).status_code
        == 403
    )


def test_a_password_change_ends_other_sessions_and_tokens_but_not_the_one_that_changed_it(city):
    resident = city.register("13911116060", name="钱阿姨").get_json()
    old = _tokens(city, "13911116060")
    elsewhere, here = city.page_client(None), city.page_client(None)
    for client in (elsewhere, here):
        signed = submit(client, "/login", username="13911116060", password="pomegranate8")
        assert signed.status_code == 302
    assert elsewhere.get("/me").status_code == 200

    changed = submit(
        here, "/me/password", current_password="pomegranate8", new_password="garnet2026y"
    )
    assert changed.status_code == 302, changed.get_data(as_text=True)
    assert here.get("/me").status_code == 200  # the session that changed it stays
    gone = elsewhere.get("/me")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]

    def refused(path: str) -> bool:
        return city.client.get(path, headers=_bearer(old["access_token"])).status_code == 401

    wait_for(lambda: refused("/api/v1/me"), message="web to refuse the old token")
    wait_for(lambda: refused("/api/v1/volunteers/me/signups"), message="volunteers")
    wait_for(lambda: refused(f"/api/v1/ledger/volunteers/{resident['id']}"), message="ledger")
    assert _tokens(city, "13911116060", "garnet2026y")["access_token"]


def test_a_refresh_token_gives_a_new_token_once(city):
    city.register("13911115050", name="孙大哥")
    first = _tokens(city, "13911115050")
    assert first["refresh_expires_in"] == 30 * 24 * 3600
    renewed = city.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert renewed.status_code == 200
    body = renewed.get_json()
    assert body["refresh_token"] != first["refresh_token"]
    assert city.client.get("/api/v1/me", headers=_bearer(body["access_token"])).status_code == 200
    spent = city.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert spent.status_code == 401
    assert spent.get_json()["type"].endswith(":refresh-token-invalid")
    unknown = city.client.post("/api/v1/auth/refresh", json={"refresh_token": "not-a-token"})
    assert unknown.status_code == 401
    empty = city.client.post("/api/v1/auth/refresh", json={})
    assert empty.status_code == 422 and "refresh_token" in empty.get_json()["errors"]["json"]
