"""民族团结之星 review is confidential, in a real browser (issue 20, item 8): the resident who
objected finds the committee's decision under "我的异议" on their phone, in either language, on
a page fit for a phone; an organizer outside the committee reads the review's record at a desk
with the objection as "一位居民" and the votes as "一位评审委员"."""

from __future__ import annotations

import page_checks
import pytest
from awards_support import decide_objection, object_to
from playwright.sync_api import Page, expect

# The module's own city after a year of volunteering, and its browser helpers.
from test_award_journeys import DESK, PHONE, on_notice, pages, sign_in, site  # noqa: F401

pytestmark = pytest.mark.browser


def _fit_for_a_phone(page: Page, locale: str) -> list[str]:
    return (
        page_checks.overflow(page)
        + page_checks.placeholders(page)
        + page_checks.accessibility(page)
        + page_checks.small_targets(page)
        + page_checks.wrong_language(page, locale)
    )


def test_the_objector_reads_the_decision_and_an_outsider_reads_no_names(site, pages, shoot):  # noqa: F811
    base, city, year = site
    cycle_id, listed = on_notice(city, year, "2026年度 民族团结之星（异议）")
    lodged = object_to(city, cycle_id, year.logins["wang"], listed["古丽娜"], "六月活动时长有误")
    assert lodged.status_code == 201, lodged.get_json()

    phone = pages(PHONE)
    phone.goto("/login")
    sign_in(phone, year.logins["wang"])
    phone.goto("/me")
    mine = phone.locator("#my-objections")
    expect(mine).to_contain_text("古丽娜")
    expect(mine.locator(".objection-status")).to_have_text("待处理")
    objection_id = lodged.get_json()["id"]
    decided = decide_objection(city, cycle_id, objection_id, "dismiss", "经核实，六月活动时长无误")
    assert decided.status_code == 200, decided.get_json()

    phone.reload()
    mine = phone.locator("#my-objections")
    expect(mine.locator(".objection-status")).to_have_text("不成立")
    expect(mine.locator(".objection-decision")).to_contain_text("经核实，六月活动时长无误")
    assert _fit_for_a_phone(phone, "zh") == []
    shoot(phone, "my-objection-decided")
    mine.get_by_role("link", name="2026年度 民族团结之星（异议）").click()
    expect(phone.locator("#my-objections .objection-status")).to_have_text("不成立")
    assert _fit_for_a_phone(phone, "zh") == []
    phone.goto("/me?lang=en")
    expect(phone.locator("#my-objections h2")).to_have_text("My objections")
    expect(phone.locator("#my-objections .objection-status")).to_have_text("Dismissed")
    assert _fit_for_a_phone(phone, "en") == []
    shoot(phone, "my-objection-in-english")

    desk = pages(DESK)
    desk.goto("/login")
    sign_in(desk, "organizer", "shiliu2026")
    desk.goto(f"/awards/{cycle_id}/audit")
    lodged_row = desk.locator("#audit tr[data-action='objection_lodged']")
    expect(lodged_row).to_contain_text("一位居民")
    expect(desk.locator("#audit tr[data-action='voted']").first).to_contain_text("一位评审委员")
    expect(desk.locator("#audit")).not_to_contain_text("王芳")
    shoot(desk, "audit-as-an-outsider")
