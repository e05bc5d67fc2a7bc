"""Points on a phone: a second administrator rejects an adjustment with a reason, and the
decided adjustments show who decided and why; the page stays usable at 390 px in both languages
(tests/browser/page_checks.py)."""

from __future__ import annotations

import page_checks
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _sign_in(page: Page, username: str) -> None:
    page.goto("/login?lang=zh")
    page.get_by_label("手机号或用户名").fill(username)
    page.get_by_label("密码", exact=True).fill("shiliu2026")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("已登录")


def _checked(page: Page, locale: str) -> list[str]:
    return (
        page_checks.overflow(page)
        + page_checks.accessibility(page)
        + page_checks.small_targets(page)
        + page_checks.wrong_language(page, locale)
    )


def test_a_second_administrator_rejects_an_adjustment_on_a_phone(open_context, shoot):
    admin = open_context().new_page()
    _sign_in(admin, "admin")
    admin.goto("/points/adjustments")
    admin.get_by_label("志愿者手机号（或编号）").fill("13800000001")
    admin.get_by_label("积分（可为负数）").fill("7")
    admin.get_by_label("原因").fill("重复登记的讲解岗位")
    admin.get_by_role("button", name="提交").click()
    expect(admin.locator(".flash, [role=status]").first).to_be_visible()

    second = open_context().new_page()
    _sign_in(second, "bl-admin")
    problems = []
    for locale in ("en", "zh"):
        second.goto(f"/points/adjustments?lang={locale}")
        problems += _checked(second, locale)
    row = second.locator("tr", has_text="重复登记的讲解岗位").first
    row.get_by_role("button", name="驳回").click()  # no reason yet
    expect(second.locator(".flash, [role=alert]").first).to_contain_text("请写明驳回原因")
    problems += _checked(second, "zh")
    shoot(second, "reject-without-reason")
    row = second.locator("tr", has_text="重复登记的讲解岗位").first
    row.get_by_label("驳回原因").fill("讲解岗位已按时长计分")
    row.get_by_role("button", name="驳回").click()
    history = second.locator("#history")
    decided = history.locator("tr", has_text="重复登记的讲解岗位")
    expect(decided).to_contain_text("已驳回")
    expect(decided).to_contain_text("讲解岗位已按时长计分")
    expect(decided).to_contain_text("北仑区民宗局 李科长")
    shoot(second, "rejected")
    problems += _checked(second, "zh")
    assert problems == []
