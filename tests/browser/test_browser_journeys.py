"""Journeys through the pages in a real browser, as residents and administrators live them."""

from __future__ import annotations

import re

import pytest
from people import send_registration, sign_in
from playwright.sync_api import expect
from sqlalchemy import func, select

from services.common.app import service_context
from web.models import Account

pytestmark = pytest.mark.browser

PASSWORD = "shiliu2026"


def _accounts_with_phone(live, phone: str) -> int:
    factory = service_context(live.platform.web).session_factory
    with factory() as session:
        return session.scalar(select(func.count()).where(Account.phone == phone))


def test_a_resident_registers_signs_in_and_sees_their_profile(live, phone, shoot):
    page = phone
    page.goto("/register")
    expect(page.get_by_role("heading", name="注册成为志愿者")).to_be_visible()

    # A number one digit short: the message sits next to the field, and nothing is created.
    send_registration(page, "1395555012", "马晓燕")
    expect(page.get_by_role("alert")).to_have_text("有内容需要修改，请查看标红的项目")
    phone_field = page.locator(".field", has=page.get_by_label("手机号"))
    expect(phone_field.locator(".error")).to_have_text("请输入 11 位中国大陆手机号")
    expect(page.locator(".field .error")).to_have_count(1)
    expect(page.get_by_label("手机号")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("姓名")).to_have_value("马晓燕")
    shoot(page, "malformed-phone")
    assert _accounts_with_phone(live, "1395555012") == 0

    page.get_by_label("手机号").fill("13955550123")
    page.get_by_label("密码", exact=True).fill("pomegranate2026")
    page.get_by_label("所在社区").select_option(label="富春社区")
    page.get_by_label("民族（可选）").select_option("回族")
    page.get_by_label("我同意平台保存我的民族信息").check()
    page.get_by_role("button", name="注册", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("注册成功，欢迎加入！")
    expect(page.get_by_role("heading", name="马晓燕")).to_be_visible()
    expect(page.locator("#my-community")).to_have_text("富春社区")
    expect(page.locator("#my-ethnicity")).to_have_text("回族")
    shoot(page, "registered")

    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("status")).to_have_text("已退出登录")
    expect(page.get_by_role("link", name="登录", exact=True).first).to_be_visible()

    sign_in(page, "13955550123", "pomegranate2026")
    expect(page).to_have_url(f"{live.url}/me")
    expect(page.locator("#my-phone")).to_have_text("13955550123")
    expect(page.locator("#my-community")).to_have_text("富春社区")
    expect(page.get_by_role("link", name="管理", exact=True)).to_have_count(0)
    shoot(page, "signed-in-again")

    # The same page in English, one tap away.
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Edit profile")).to_be_visible()
    expect(page.locator("#my-ethnicity")).to_have_text("Hui")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_an_administrator_makes_a_resident_an_organizer_of_their_community(
    desk, open_context, shoot
):
    admin = desk
    sign_in(admin, "admin", PASSWORD)
    admin.get_by_role("link", name="管理", exact=True).click()
    expect(admin.get_by_role("heading", name="账号与角色")).to_be_visible()

    admin.get_by_label("手机号、用户名或姓名").fill("13800000001")
    admin.get_by_role("button", name="查找").click()
    rows = admin.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("阿依古丽")
    expect(rows.first).to_contain_text("138****0001")
    expect(admin.locator("#accounts")).not_to_contain_text("13800000001")
    shoot(admin, "found-masked")

    rows.first.get_by_role("link", name="管理账号").click()
    expect(admin.get_by_role("heading", name="阿依古丽")).to_be_visible()
    admin.get_by_label("角色").select_option(label="活动组织者")
    community = admin.get_by_label("单位").locator("option", has_text="富春社区")
    admin.get_by_label("单位").select_option(community.get_attribute("value"))
    admin.get_by_role("button", name="授予").click()
    expect(admin.get_by_role("status")).to_have_text("角色已授予")
    expect(admin.locator("#grants")).to_contain_text("活动组织者 · 富春社区")
    shoot(admin, "granted")

    resident = open_context().new_page()
    sign_in(resident, "13800000001", PASSWORD)
    expect(resident).to_have_url(re.compile(r"/organize$"))  # an organizer now starts at the desk
    resident.goto("/me")
    expect(resident.locator("#my-roles")).to_contain_text("活动组织者 · 富春社区")
    expect(resident.get_by_role("link", name="管理", exact=True)).to_have_count(0)
    shoot(resident, "resident-is-organizer")
    resident.goto("/admin/accounts")  # an organizer is not an administrator
    expect(resident.get_by_role("heading", name="没有权限")).to_be_visible()
