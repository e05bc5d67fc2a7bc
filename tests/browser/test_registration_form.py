"""Registration tells everything that is wrong at once, and shows where (issue 20 item 12): every
field in error is outlined red with its message beside it, on a phone, and nothing is created."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from services.common.app import service_context
from web.models import Account

pytestmark = pytest.mark.browser

RED = "rgb(192, 38, 45)"  # --pomegranate


def _accounts(live) -> int:
    with service_context(live.platform.web).session_factory() as session:
        return session.scalar(select(func.count()).select_from(Account))


def test_every_mistake_is_named_at_once_and_outlined_red(live, phone, shoot):
    page = phone
    before = _accounts(live)
    page.goto("/register")
    page.get_by_label("手机号").fill("1395555")  # too short
    page.get_by_label("密码", exact=True).fill("abc")  # too weak
    # No name, no community; an ethnicity without the consent to keep it.
    page.get_by_label("民族（可选）").select_option("回族")
    page.get_by_role("button", name="注册", exact=True).click()

    expect(page.get_by_role("alert")).to_have_text("有内容需要修改，请查看标红的项目")
    wrong = {
        "手机号": "请输入 11 位中国大陆手机号",
        "密码": "",
        "姓名": "",
        "所在社区": "",
    }
    for label, message in wrong.items():
        field = page.get_by_label(label, exact=True)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_css("border-top-color", RED)
        box = page.locator(".field", has=field)
        expect(box.locator(".error")).to_be_visible()
        if message:
            expect(box.locator(".error")).to_contain_text(message)
    expect(page.locator(".field.invalid")).to_have_count(len(wrong) + 1)  # and the consent
    shoot(page, "every-mistake")
    assert _accounts(live) == before

    # What was right stays filled in.
    expect(page.get_by_label("手机号")).to_have_value("1395555")
    expect(page.get_by_label("民族（可选）")).to_have_value("回族")
