"""The inbox on a phone (issue 21): a volunteer waiting on the list of a full activity is
promoted when the other volunteer cancels; the badge on the tab bar tells them, the inbox says
so in words, and the message opens the activity's page, where their place is. Screenshots go to
test-artifacts/screenshots."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from backbone import wait_for
from people import PASSWORD, bearer, resident, sign_in
from playwright.sync_api import Page, expect

from events.envelope import utcnow

pytestmark = pytest.mark.browser


def _full_activity(live, title: str) -> str:
    """A published activity of 富春社区 with one place, made by its organizer."""
    organizer = bearer(live, "organizer", "shiliu2026")
    units = requests.get(f"{live.url}/api/v1/units", timeout=10).json()["items"]
    starts_at = utcnow().replace(second=0, microsecond=0) + timedelta(days=4)
    body = {
        "title": title,
        "description": "名额只有一个：候补的人会在有人取消时收到消息",
        "category": "festival",
        "dimensions": ["culture"],
        "host_unit_id": next(u for u in units if u["path"] == "/nb/bl/xq/fc/")["id"],
        "address": "富春社区文化家园",
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=2)).isoformat(),
        "shifts": [{"name": "讲解", "capacity": 1}],
    }
    created = requests.post(f"{live.url}/api/v1/activities", json=body, headers=organizer)
    assert created.status_code == 201, created.text
    activity_id = created.json()["id"]
    published = requests.post(
        f"{live.url}/api/v1/activities/{activity_id}/publish", headers=organizer, timeout=10
    )
    assert published.status_code == 200, published.text
    return activity_id


def _sign_up(live, who: dict, activity_id: str) -> dict:
    def signed():
        answer = requests.post(
            f"{live.url}/api/v1/activities/{activity_id}/signups", json={}, headers=who
        )
        return answer.json() if answer.status_code == 201 else None

    # The volunteers service learns of the activity from its event.
    return wait_for(signed, message="the volunteers service to take sign-ups")


def _shows(page: Page, locator) -> bool:
    """Whether the page, loaded again, shows it (the message comes through the broker)."""
    page.reload()
    return locator.count() == 1


def test_a_promoted_volunteer_sees_the_badge_and_the_message_opens_the_activity(live, phone, shoot):
    title = "消息旅程·民族团结讲解"
    activity_id = _full_activity(live, title)
    resident(live, "13977770031", "先报名的阿力")
    resident(live, "13977770032", "候补的玛依拉")
    first = bearer(live, "13977770031", PASSWORD)
    second = bearer(live, "13977770032", PASSWORD)
    assert _sign_up(live, first, activity_id)["status"] == "confirmed"
    assert _sign_up(live, second, activity_id)["status"] == "waitlisted"

    sign_in(phone, "13977770032")
    phone.goto("/inbox")
    waitlisted = phone.locator("ul.inbox li", has_text="你在候补名单第 1 位")
    wait_for(lambda: _shows(phone, waitlisted), message="the waitlist message")
    phone.get_by_role("button", name="全部标为已读").click()
    expect(phone.get_by_role("status")).to_have_text("已全部标为已读")
    tabs = phone.get_by_role("navigation", name="常用")
    expect(tabs.locator(".badge")).to_have_count(0)

    cancelled = requests.delete(
        f"{live.url}/api/v1/activities/{activity_id}/signups/me", headers=first, timeout=10
    )
    assert cancelled.status_code == 200, cancelled.text
    phone.goto("/activities")
    badge = phone.locator("nav.tabs-bottom .badge")
    wait_for(lambda: _shows(phone, badge), message="the badge of the promotion")
    inbox_tab = tabs.get_by_role("link", name="消息")
    expect(inbox_tab).to_have_attribute("aria-label", "消息（1 条未读）")
    expect(inbox_tab.locator(".badge")).to_have_text("1")
    assert inbox_tab.bounding_box()["height"] >= 44
    header = phone.locator("header.bar").bounding_box()
    assert header["height"] <= 0.08 * 844, header  # the header is still one line
    shoot(phone, "badge-on-the-tab-bar")

    inbox_tab.click()
    expect(phone).to_have_url(f"{live.url}/inbox")
    promoted = phone.locator("ul.inbox li.unread", has_text="你已从候补转为正式报名")
    expect(promoted).to_contain_text(f"「{title}」")
    expect(promoted).to_contain_text("富春社区文化家园")
    shoot(phone, "inbox-with-the-promotion")

    promoted.get_by_role("link").click()
    expect(phone).to_have_url(f"{live.url}/activities/{activity_id}")
    expect(phone.get_by_role("heading", name=title)).to_be_visible()
    expect(tabs.locator(".badge")).to_have_count(0)  # read once opened
    expect(phone.get_by_text("已获得名额")).to_be_visible()  # their place, off the waitlist
    shoot(phone, "the-activity-opened-from-the-message")

    # What they want to be told: being promoted cannot be turned off.
    phone.goto("/inbox/preferences")
    expect(phone.get_by_label("候补转正")).to_be_disabled()
    expect(phone.get_by_label("候补转正")).to_be_checked()
    phone.get_by_label("时长确认").uncheck()
    phone.get_by_role("button", name="保存设置").click()
    expect(phone.get_by_role("status")).to_have_text("消息设置已保存")
    expect(phone.get_by_label("时长确认")).not_to_be_checked()
    shoot(phone, "message-settings")
    mine = requests.get(
        f"{live.url}/api/v1/activities/{activity_id}/signups/me", headers=second, timeout=10
    )
    assert mine.json()["signup"]["status"] == "confirmed"
