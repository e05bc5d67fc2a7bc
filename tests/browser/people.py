"""People the browser journeys make on the shared platform: residents of 富春社区 registered
through the API, and pages signed in as someone."""

from __future__ import annotations

import requests
from playwright.sync_api import Page, expect
from sqlalchemy import select
from volunteering import FC

from services.common.app import service_context
from web.models import Account

PASSWORD = "pomegranate8"


def resident(live, phone: str, name: str) -> str:
    """Register a resident of 富春社区 through the API; return their account id."""
    units = requests.get(f"{live.url}/api/v1/units", timeout=10).json()["items"]
    body = {
        "phone": phone,
        "password": PASSWORD,
        "name": name,
        "home_unit_id": next(u for u in units if u["path"] == FC)["id"],
    }
    answer = requests.post(f"{live.url}/api/v1/accounts", json=body, timeout=10)
    assert answer.status_code == 201, answer.text
    return account_id(live, phone)


def account_id(live, username: str) -> str:
    with service_context(live.platform.web).session_factory() as session:
        return session.scalar(select(Account.id).where(Account.username == username))


def bearer(live, username: str, password: str) -> dict:
    """Authorization headers of an account, from a token asked for through the API (for the
    set-up a journey does behind the browser's back)."""
    answer = requests.post(
        f"{live.url}/api/v1/auth/token",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def send_registration(page: Page, phone: str, name: str) -> None:
    """Fill the open registration form as a resident of 富春社区 would and send it (what comes
    back, a welcome or the mistakes named, is for the journey to check)."""
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码", exact=True).fill("pomegranate2026")
    page.get_by_label("姓名").fill(name)
    page.get_by_label("所在社区").select_option(label="富春社区")
    page.get_by_role("button", name="注册", exact=True).click()


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign a page in through the login form."""
    page.goto("/login")
    page.get_by_label("手机号或用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("已登录")
