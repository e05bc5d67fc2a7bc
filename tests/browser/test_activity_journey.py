"""An organizer creates, publishes, copies and cancels an activity, in a real browser."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _sign_in(page, username: str, password: str = "shiliu2026") -> None:
    page.goto("/login")
    page.get_by_label("手机号或用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("已登录")


def _local(days: int, hour: int) -> str:
    moment = datetime.now() + timedelta(days=days)
    return moment.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


def test_an_organizer_creates_publishes_copies_and_cancels_an_activity(live, phone, shoot):
    page = phone
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    _sign_in(page, "organizer")
    page.get_by_role("link", name="组织活动").click()
    page.get_by_role("link", name="新建活动").click()

    # Inline validation: the end before the start.
    page.get_by_label("活动名称").fill("四月邻里节·百家宴")
    page.get_by_label("活动类别").select_option(label="节庆联谊")
    page.get_by_label("社会").check()
    page.get_by_label("开始时间").fill(_local(10, 15))
    page.get_by_label("结束时间").fill(_local(10, 11))
    page.get_by_label("活动地点").fill("富春社区文化家园")
    page.get_by_role("button", name="保存").click()
    expect(
        page.locator(".field", has=page.get_by_label("结束时间")).locator(".error")
    ).to_have_text("结束时间必须晚于开始时间")
    shoot(page, "end-before-start")

    page.get_by_label("结束时间").fill(_local(10, 18))
    page.locator("input[name='shifts-1-name']").fill("翻译")
    page.locator("input[name='shifts-1-capacity']").fill("2")
    page.locator("input[name='shifts-1-hour_weight']").fill("1.5")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("活动草稿已保存，确认无误后请发布")
    expect(page.get_by_role("heading", name="四月邻里节·百家宴")).to_contain_text("草稿")

    page.locator("#publish").click()
    expect(page.get_by_role("status")).to_have_text("活动已发布，志愿者现在可以报名")
    shoot(page, "published")
    page.get_by_role("link", name="查看公开页面").click()
    expect(page.locator("ul.shifts").get_by_text("翻译")).to_be_visible()
    expect(page.get_by_text("剩余 2 / 2")).to_be_visible()
    page.go_back()

    page.get_by_label("新的开始时间").fill(_local(40, 15))
    page.get_by_label("新的结束时间").fill(_local(40, 18))
    page.locator("#copy").click()
    expect(page.get_by_role("status")).to_have_text("已复制为新的活动草稿")
    expect(page.get_by_role("heading", name="四月邻里节·百家宴")).to_contain_text("草稿")
    shoot(page, "copied")

    page.get_by_label("取消原因（会告知已报名的志愿者）").fill("场地维修，改期举行")
    page.locator("#cancel").click()
    expect(page.get_by_role("status")).to_have_text("活动已取消，已报名的志愿者会看到取消原因")
    expect(page.get_by_text("取消原因：场地维修，改期举行")).to_be_visible()
    shoot(page, "cancelled")

    page.get_by_role("link", name="活动", exact=True).click()
    expect(page.locator("article.activity", has_text="四月邻里节·百家宴")).to_have_count(1)
