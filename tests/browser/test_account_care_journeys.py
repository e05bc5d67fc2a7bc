"""Account care in a real browser: a resident who forgot the password gets back in with the code an
administrator reads out from /admin/sms; an administrator disables an account and enables it."""

from __future__ import annotations

import re

import pytest
from people import send_registration
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PASSWORD = "shiliu2026"


def _sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("手机号或用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def _register(page: Page, phone: str, name: str) -> None:
    page.goto("/register")
    send_registration(page, phone, name)
    expect(page.get_by_role("status")).to_have_text("注册成功，欢迎加入！")
    page.get_by_role("button", name="退出").click()


def test_a_resident_who_forgot_the_password_gets_back_in_with_a_code_read_out_by_an_administrator(
    open_context, phone, desk, shoot
):
    resident = phone
    _register(resident, "13966660001", "热依拉")
    resident.goto("/login")
    resident.get_by_role("link", name="忘记密码？").click()
    resident.get_by_label("手机号").fill("13966660001")
    resident.get_by_role("button", name="发送验证码").click()
    expect(resident.get_by_role("status")).to_have_text("如果该手机号已注册，验证码已发送")
    expect(resident.get_by_label("手机号或用户名")).to_have_value("13966660001")
    shoot(resident, "code-asked")

    # No SMS provider in development: the community's administrator reads the code out.
    admin = desk
    _sign_in(admin, "admin")
    admin.goto("/admin/accounts")
    admin.get_by_role("link", name="待发短信").click()
    row = admin.locator("#sms tbody tr", has_text="13966660001").first
    expect(row).to_contain_text("热依拉")
    shoot(admin, "sms-outbox")
    code = re.search(r"[2-9A-Z]{5}-[2-9A-Z]{5}", row.inner_text()).group(0)

    resident.get_by_label("验证码").fill(code.lower().replace("-", ""))
    resident.get_by_label("新密码").fill("garnet2031x")
    resident.get_by_role("button", name="设置新密码").click()
    expect(resident.get_by_role("status")).to_have_text("密码已重设，请用新密码登录")
    _sign_in(resident, "13966660001", "garnet2031x")
    expect(resident.get_by_role("status")).to_have_text("已登录")
    shoot(resident, "signed-in-with-new-password")


def test_an_administrator_disables_an_account_and_enables_it_again(open_context, desk, shoot):
    resident = open_context().new_page()
    _register(resident, "13966660002", "买买提")
    _sign_in(resident, "13966660002", "pomegranate2026")
    expect(resident.get_by_role("status")).to_have_text("已登录")

    admin = desk
    _sign_in(admin, "admin")
    admin.goto("/admin/accounts?q=13966660002")
    admin.get_by_role("link", name="管理账号").click()
    expect(admin.locator("#account-state")).to_contain_text("正常")
    admin.get_by_label("停用原因").fill("本人来电说手机丢失")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="停用账号").click()
    expect(admin.get_by_role("status")).to_have_text("账号已停用，它的登录已全部退出")
    expect(admin.locator("#account-state")).to_contain_text("已停用")
    expect(admin.locator("#account-state")).to_contain_text("本人来电说手机丢失")
    shoot(admin, "disabled")

    resident.goto("/me")
    expect(resident).to_have_url(re.compile(r"/login"))
    _sign_in(resident, "13966660002", "pomegranate2026")
    expect(resident.get_by_role("alert")).to_contain_text("账号已停用，请联系管理员")
    shoot(resident, "refused")

    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="重新启用").click()
    expect(admin.get_by_role("status")).to_have_text("账号已重新启用")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="生成验证码").click()
    expect(admin.locator("#reset-code")).to_have_text(re.compile(r"^[2-9A-Z]{5}-[2-9A-Z]{5}$"))
    shoot(admin, "reset-code-shown")

    _sign_in(resident, "13966660002", "pomegranate2026")
    expect(resident.get_by_role("status")).to_have_text("已登录")
