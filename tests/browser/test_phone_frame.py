"""The frame of every page on a phone (issue 20 items 11 and 15): signed in, the header is one
line (it took 17 % of the screen), and a tab bar at the bottom holds 活动 · 签到 · 消息 (with the
unread count, issue 21) · 积分 · 我的; at a desk the header keeps every link and there is no tab
bar."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}

pytestmark = pytest.mark.browser


def _sign_in(page: Page, username: str = "13800000001") -> None:
    page.goto("/login")
    page.get_by_label("手机号或用户名").fill(username)
    page.get_by_label("密码", exact=True).fill("shiliu2026")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("已登录")


def test_on_a_phone_the_header_is_one_line_and_the_tabs_are_under_the_thumb(open_context, shoot):
    page = open_context(PHONE).new_page()
    _sign_in(page)
    page.goto("/volunteering/me")
    header = page.locator("header.bar").bounding_box()
    assert header["height"] <= 0.08 * PHONE["height"], header
    tabs = page.get_by_role("navigation", name="常用")
    expect(tabs.get_by_role("link")).to_have_text(
        ["◎活动", "✓签到", re.compile(r"^✉消息\d*$"), "★积分", "●我的"]
    )
    bar = tabs.bounding_box()
    assert bar["y"] + bar["height"] == pytest.approx(PHONE["height"], abs=1)  # at the bottom
    for link in tabs.get_by_role("link").all():
        box = link.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, box  # five fit a 390 px phone
    expect(tabs.get_by_role("link", name="签到")).to_have_attribute("aria-current", "page")
    shoot(page, "phone-frame")

    tabs.get_by_role("link", name="积分").click()
    expect(page).to_have_url(f"{page.url.split('/points')[0]}/points")
    expect(tabs.get_by_role("link", name="积分")).to_have_attribute("aria-current", "page")
    # The header still reaches the rest (sign out is one of them).
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def test_at_a_desk_the_header_keeps_every_link_and_there_is_no_tab_bar(open_context):
    page = open_context(DESK).new_page()
    _sign_in(page)
    expect(page.get_by_role("navigation", name="常用")).to_be_hidden()
    nav = page.get_by_role("navigation", name="主导航")
    for name in ("活动", "我的活动", "积分"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name=re.compile(r"^消息"))).to_be_visible()


def test_signed_out_there_is_no_tab_bar(open_context):
    page = open_context(PHONE).new_page()
    page.goto("/activities")
    expect(page.get_by_role("navigation", name="常用")).to_have_count(0)
    expect(page.get_by_role("link", name="登录", exact=True)).to_be_visible()
