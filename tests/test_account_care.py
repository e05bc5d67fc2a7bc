"""Account care (issue 18 item 10): administrators disable and re-enable accounts and hand out
one-time reset codes; residents who forgot their password get a code by SMS (or, in development
and in offices without an SMS contract, read out to them by an administrator)."""

from __future__ import annotations

import hashlib
import re
import threading

from backbone import wait_for
from sqlalchemy import select
from tests_support import submit
from werkzeug.test import Client

from services.common.app import service_context
from web.models import AuditEntry, PasswordReset, SmsMessage

DISABLED = "账号已停用，请联系管理员"
FORGOT_ANSWER = "如果该手机号已注册，验证码已发送"


# ---- helpers ------------------------------------------------------------------------------


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _sign_in(city, username: str, password: str = "pomegranate8", address="203.0.113.50"):
    return city.client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def _page_sign_in(city, username: str, password: str = "pomegranate8"):
    """A browser-like client signed in through the login page; returns (client, answer)."""
    client = city.web.test_client()
    return client, submit(client, "/login", username=username, password=password)


def _audit(city, subject_id: str) -> list[AuditEntry]:
    with service_context(city.web).session_factory() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.subject_id == subject_id)
                .order_by(AuditEntry.id)
            )
        )


def _outbox(city, phone: str) -> list[SmsMessage]:
    with service_context(city.web).session_factory() as session:
        return list(
            session.scalars(
                select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id)
            )
        )


def _code_in(message: SmsMessage) -> str:
    return re.search(r"[2-9A-Z]{5}-[2-9A-Z]{5}", message.text).group(0)


def _issue(city, account_id: str, admin: str = "admin"):
    return city.call("POST", f"/api/v1/accounts/{account_id}/password-reset", admin)


def _reset(city, username: str, code: str, new_password: str, address="203.0.113.60"):
    return city.client.post(
        "/api/v1/auth/password-reset",
        json={"username": username, "code": code, "new_password": new_password},
        environ_base={"REMOTE_ADDR": address},
    )


def _forgot(city, phone: str, address: str = "203.0.113.70"):
    return city.client.post(
        "/api/v1/auth/password-forgot",
        json={"username": phone},
        environ_base={"REMOTE_ADDR": address},
    )


# ---- disable and re-enable ------------------------------------------------------------------


def test_an_administrator_disables_an_account_its_tokens_and_sessions_end_everywhere_and_it_cannot_sign_in_until_re_enabled(  # noqa: E501
    city,
):
    resident = city.register("13922220001", name="停用测试").get_json()
    old = _sign_in(city, "13922220001").get_json()
    browser, signed = _page_sign_in(city, "13922220001")
    assert signed.status_code == 302 and browser.get("/me").status_code == 200

    disabled = city.call(
        "POST",
        f"/api/v1/accounts/{resident['id']}/disable",
        "admin",
        json={"reason": "本人申请注销，待核实"},
    )
    assert disabled.status_code == 200, disabled.get_data(as_text=True)
    assert disabled.get_json()["disabled_reason"] == "本人申请注销，待核实"
    assert disabled.get_json()["disabled_at"]

    def refused(path: str) -> bool:
        answer = city.client.get(path, headers=_bearer(old["access_token"]))
        return answer.status_code == 401 and answer.get_json()["type"].endswith(":token-revoked")

    wait_for(lambda: refused("/api/v1/me"), message="web to refuse the old token")
    wait_for(lambda: refused("/api/v1/volunteers/me/signups"), message="volunteers")
    wait_for(lambda: refused(f"/api/v1/ledger/volunteers/{resident['id']}"), message="ledger")
    gone = browser.get("/me")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    again = city.client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
    assert again.status_code == 401

    refused_sign_in = _sign_in(city, "13922220001")
    assert refused_sign_in.status_code == 403
    assert refused_sign_in.get_json()["type"].endswith(":account-disabled")
    assert refused_sign_in.get_json()["detail"] == DISABLED
    _client, page = _page_sign_in(city, "13922220001")
    assert page.status_code == 403 and DISABLED in page.get_data(as_text=True)
    # A wrong password is told nothing about the account's state.
    assert _sign_in(city, "13922220001", "not-the-password-9").status_code == 401

    enabled = city.call("POST", f"/api/v1/accounts/{resident['id']}/enable", "admin")
    assert enabled.status_code == 200 and enabled.get_json()["disabled_at"] is None
    fresh = _sign_in(city, "13922220001")
    assert fresh.status_code == 200
    assert (
        city.client.get("/api/v1/me", headers=_bearer(fresh.get_json()["access_token"])).status_code
        == 200
    )

    acts = [(e.action, e.detail) for e in _audit(city, resident["id"])]
    assert ("account.disabled", {"reason": "本人申请注销，待核实"}) in acts
    assert "account.enabled" in [action for action, _detail in acts]


def test_disabling_needs_a_reason_an_account_in_scope_and_someone_else(city):
    resident = city.register("13922220002").get_json()
    no_reason = city.call("POST", f"/api/v1/accounts/{resident['id']}/disable", "admin", json={})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["errors"]["json"]

    admin = city.account("admin")
    myself = city.call(
        "POST", f"/api/v1/accounts/{admin.id}/disable", "admin", json={"reason": "试试"}
    )
    assert myself.status_code == 400
    assert myself.get_json()["type"].endswith(":cannot-disable-self")

    elsewhere = city.register("13922220003", community="/nb/hs/gl/ysq/").get_json()
    out_of_scope = city.call(
        "POST",
        f"/api/v1/accounts/{elsewhere['id']}/disable",
        "bl-admin",
        json={"reason": "不归我管"},
    )
    assert out_of_scope.status_code == 403
    assert (
        city.call("POST", f"/api/v1/accounts/{elsewhere['id']}/enable", "bl-admin").status_code
        == 403
    )
    assert _sign_in(city, "13922220003").status_code == 200  # nothing changed

    unknown = city.call(
        "POST", "/api/v1/accounts/no-such-account/disable", "admin", json={"reason": "无"}
    )
    assert unknown.status_code == 404
    organizer = city.call(
        "POST", f"/api/v1/accounts/{resident['id']}/disable", "organizer", json={"reason": "无"}
    )
    assert organizer.status_code == 403

    twice = [
        city.call(
            "POST", f"/api/v1/accounts/{resident['id']}/disable", "admin", json={"reason": "两次"}
        ).status_code
        for _ in range(2)
    ]
    assert twice == [200, 409]


def test_a_district_administrator_cannot_take_over_a_city_administrator_who_also_works_there(city):
    """An account holding roles beyond one's units is not one's own to disable or reset, even when
    it also holds a role inside them (else a district administrator could take over the city's)."""
    created = city.add_staff("city-deputy", "市局副局长", "deputy2026", "admin", "/nb/").get_json()
    granted = city.grant(created["id"], "organizer", "/nb/bl/xq/fc/")
    assert granted.status_code == 201
    assert city.call("GET", "/api/v1/accounts?q=city-deputy", "bl-admin").get_json()["total"] == 1
    takeover = _issue(city, created["id"], admin="bl-admin")
    assert takeover.status_code == 403 and takeover.get_json()["type"].endswith(":out-of-scope")
    disable = city.call(
        "POST", f"/api/v1/accounts/{created['id']}/disable", "bl-admin", json={"reason": "夺权"}
    )
    assert disable.status_code == 403
    assert _issue(city, created["id"], admin="admin").status_code == 201


def test_the_admin_pages_show_a_disabled_account_and_disable_and_enable_it(city):
    resident = city.register("13922220004", name="页面停用").get_json()
    admin = city.page_client("admin")
    page = f"/admin/accounts/{resident['id']}"
    html = admin.get(page).get_data(as_text=True)
    assert "正常" in html and "停用账号" in html

    blank = submit(admin, page, f"{page}/disable", reason="")
    assert blank.status_code == 422 and "必填" in blank.get_data(as_text=True)
    assert _sign_in(city, "13922220004").status_code == 200

    done = submit(admin, page, f"{page}/disable", reason="手机号被他人冒用")
    assert done.status_code == 302
    html = admin.get(page).get_data(as_text=True)
    assert "已停用" in html and "手机号被他人冒用" in html and "重新启用" in html
    listed = admin.get("/admin/accounts?q=13922220004").get_data(as_text=True)
    assert "已停用" in listed
    assert _sign_in(city, "13922220004").status_code == 403

    assert submit(admin, page, f"{page}/enable").status_code == 302
    assert "已停用" not in admin.get("/admin/accounts?q=13922220004").get_data(as_text=True)
    assert _sign_in(city, "13922220004").status_code == 200


# ---- reset codes from an administrator -------------------------------------------------------


def test_an_administrator_hands_out_a_one_time_code_and_the_person_sets_a_new_password_with_it(
    city,
):
    resident = city.register("13922220005", name="忘记密码").get_json()
    old = _sign_in(city, "13922220005").get_json()
    issued = _issue(city, resident["id"])
    assert issued.status_code == 201, issued.get_data(as_text=True)
    code = issued.get_json()["code"]
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}", code)
    assert issued.get_json()["expires_at"]

    with service_context(city.web).session_factory() as session:
        rows = session.scalars(
            select(PasswordReset).where(PasswordReset.account_id == resident["id"])
        ).all()
    plain = code.replace("-", "")
    assert [r.code_hash for r in rows] == [hashlib.sha256(plain.encode()).hexdigest()]
    issued_entry = [e for e in _audit(city, resident["id"]) if e.action == "password.reset_issued"]
    assert (
        issued_entry
        and plain not in str(issued_entry[0].detail)
        and code not in str(issued_entry[0].detail)
    )

    # Typed as people type it: lower case, without the dash.
    done = _reset(city, "13922220005", plain.lower(), "pomegranate2027")
    assert done.status_code == 204, done.get_data(as_text=True)
    assert _sign_in(city, "13922220005", "pomegranate2027").status_code == 200
    assert _sign_in(city, "13922220005").status_code == 401
    wait_for(
        lambda: (
            city.client.get("/api/v1/me", headers=_bearer(old["access_token"])).status_code == 401
        ),
        message="the old token to be refused",
    )
    spent = _reset(city, "13922220005", code, "pomegranate2028")
    assert spent.status_code == 400 and spent.get_json()["type"].endswith(":reset-code-invalid")
    assert "password.reset" in [e.action for e in _audit(city, resident["id"])]


def test_a_new_code_voids_the_older_one_and_a_weak_password_keeps_the_code(city):
    resident = city.register("13922220006").get_json()
    first = _issue(city, resident["id"]).get_json()["code"]
    second = _issue(city, resident["id"]).get_json()["code"]
    assert _reset(city, "13922220006", first, "pomegranate2027").status_code == 400
    weak = _reset(city, "13922220006", second, "weak")
    assert weak.status_code == 400 and "new_password" in weak.get_json()["errors"]
    assert _reset(city, "13922220006", second, "pomegranate2027").status_code == 204


def test_five_wrong_codes_void_the_code(city):
    resident = city.register("13922220007").get_json()
    code = _issue(city, resident["id"]).get_json()["code"]
    wrong = "22222-22222" if code != "22222-22222" else "33333-33333"
    for _ in range(5):
        answer = _reset(city, "13922220007", wrong, "pomegranate2027")
        assert answer.status_code == 400
    void = _reset(city, "13922220007", code, "pomegranate2027")
    assert void.status_code == 400 and void.get_json()["type"].endswith(":reset-code-invalid")
    assert _sign_in(city, "13922220007").status_code == 200  # the password is unchanged


def test_an_unknown_person_and_a_disabled_account_get_no_new_password(city):
    assert _reset(city, "13922229999", "ABCDE-FGHJK", "pomegranate2027").status_code == 400
    resident = city.register("13922220008").get_json()
    before = _issue(city, resident["id"]).get_json()["code"]
    city.call("POST", f"/api/v1/accounts/{resident['id']}/disable", "admin", json={"reason": "x"})
    assert _reset(city, "13922220008", before, "pomegranate2027").status_code == 400  # void
    # A code issued while the account is disabled waits for it to be enabled again.
    during = _issue(city, resident["id"]).get_json()["code"]
    refused = _reset(city, "13922220008", during, "pomegranate2027")
    assert refused.status_code == 403 and refused.get_json()["detail"] == DISABLED
    city.call("POST", f"/api/v1/accounts/{resident['id']}/enable", "admin")
    assert _reset(city, "13922220008", during, "pomegranate2027").status_code == 204


def test_two_uses_of_one_code_race_and_one_wins(city):
    resident = city.register("13922220009").get_json()
    code = _issue(city, resident["id"]).get_json()["code"]
    statuses: list[int] = []
    start = threading.Barrier(2)

    def use(password: str) -> None:
        client = Client(city.client.application)
        start.wait()
        statuses.append(
            client.post(
                "/api/v1/auth/password-reset",
                json={"username": "13922220009", "code": code, "new_password": password},
            ).status_code
        )

    racers = [threading.Thread(target=use, args=(p,)) for p in ("racerone2027", "racertwo2027")]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(statuses) == [204, 400]
    winners = [
        p
        for p in ("racerone2027", "racertwo2027")
        if _sign_in(city, "13922220009", p).status_code == 200
    ]
    assert len(winners) == 1


def test_the_administrator_page_shows_the_code_once_and_the_reset_page_takes_it(city):
    resident = city.register("13922220010", name="页面重置").get_json()
    admin = city.page_client("admin")
    page = f"/admin/accounts/{resident['id']}"
    shown = submit(admin, page, f"{page}/password-reset")
    assert shown.status_code == 200
    code = re.search(r'id="reset-code"[^>]*>([^<]+)<', shown.get_data(as_text=True)).group(1)
    assert code not in admin.get(page).get_data(as_text=True)  # shown once

    person = city.web.test_client()
    assert "忘记密码" in person.get("/login").get_data(as_text=True)
    done = submit(
        person,
        "/password/reset",
        username="13922220010",
        code=code,
        new_password="pomegranate2027",
    )
    assert done.status_code == 302 and "/login" in done.headers["Location"]
    assert _sign_in(city, "13922220010", "pomegranate2027").status_code == 200


# ---- forgotten passwords ------------------------------------------------------------------


def test_a_resident_who_forgot_gets_a_code_by_sms_that_an_administrator_can_read_out(city):
    resident = city.register("13922220011", name="阿不都").get_json()
    known = _forgot(city, "13922220011")
    unknown = _forgot(city, "13922229998")
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json() == {"detail": FORGOT_ANSWER}

    [message] = _outbox(city, "13922220011")
    assert _outbox(city, "13922229998") == []
    code = _code_in(message)
    assert (
        message.text == f"【石榴】密码重置验证码：{code}"
    )  # the code and the platform, nothing else
    issued = [e for e in _audit(city, resident["id"]) if e.action == "password.reset_issued"]
    assert issued and code not in str(issued[0].detail)

    # Administrators of the resident's units read it on /admin/sms; nobody else.
    for username in ("admin", "bl-admin"):
        assert code in city.page_client(username).get("/admin/sms").get_data(as_text=True)
    assert city.page_client("organizer").get("/admin/sms").status_code == 403
    city.add_staff("hs-admin", "海曙区管理员", "haishu2026", "admin", "/nb/hs/")
    other = city.page_client("hs-admin").get("/admin/sms")
    assert other.status_code == 200 and code not in other.get_data(as_text=True)

    assert _reset(city, "13922220011", code, "pomegranate2027").status_code == 204
    assert _sign_in(city, "13922220011", "pomegranate2027").status_code == 200


def test_staff_and_disabled_accounts_get_the_same_answer_and_no_code(city):
    resident = city.register("13922220012").get_json()
    city.call("POST", f"/api/v1/accounts/{resident['id']}/disable", "admin", json={"reason": "x"})
    answer = _forgot(city, "13922220012")
    assert answer.status_code == 202 and answer.get_json() == {"detail": FORGOT_ANSWER}
    assert _outbox(city, "13922220012") == []
    assert _forgot(city, "organizer").status_code == 422  # a mobile number is asked for


def test_codes_by_sms_are_limited_per_account_and_per_address(city):
    city.register("13922220013")
    for _ in range(3):
        assert _forgot(city, "13922220013", "198.51.100.80").status_code == 202
    fourth = _forgot(city, "13922220013", "198.51.100.81")
    assert fourth.status_code == 429
    assert fourth.get_json()["type"].endswith(":too-many-codes")
    assert "分钟后再试" in fourth.get_json()["detail"]
    assert 1 <= int(fourth.headers["Retry-After"]) <= 3600
    assert len(_outbox(city, "13922220013")) == 3

    # One address asks for many accounts: 20 codes an hour, then it waits.
    phones = [f"139222201{n:02d}" for n in range(7)]
    for phone in phones:
        city.register(phone)
    answers = [_forgot(city, p, "198.51.100.90").status_code for p in phones for _ in range(3)]
    assert answers == [202] * 20 + [429]


def test_the_forgot_and_reset_pages_work_without_an_account(city):
    city.register("13922220014")
    person = city.web.test_client()
    asked = submit(person, "/password/forgot", username="13922220014")
    assert asked.status_code == 302 and "/password/reset" in asked.headers["Location"]
    assert FORGOT_ANSWER in person.get(asked.headers["Location"]).get_data(as_text=True)
    code = _code_in(_outbox(city, "13922220014")[-1])
    wrong = submit(
        person, "/password/reset", username="13922220014", code="22222", new_password="x"
    )
    assert wrong.status_code == 400
    done = submit(
        person, "/password/reset", username="13922220014", code=code, new_password="garnet2031"
    )
    assert done.status_code == 302
    assert _sign_in(city, "13922220014", "garnet2031").status_code == 200
