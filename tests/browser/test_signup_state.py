"""What a volunteer sees right after acting and after an activity is cancelled (issue 20 item 13):
the place they just took is no longer shown as free; a cancelled activity says so once, and on
"我的活动" it is no longer among those ahead of them, nor shown as a place held."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from backbone import wait_for
from people import bearer
from playwright.sync_api import Page, expect

from events.envelope import utcnow

pytestmark = pytest.mark.browser

PASSWORD = "pomegranate8"
FC = "/nb/bl/xq/fc/"


def _reloaded_until(page: Page, path: str, selector: str, text: str) -> None:
    """Open a page again until it shows something that arrives by event (or fail)."""

    def shown() -> bool:
        page.goto(path)
        return text in (page.locator(selector).all_inner_texts() or [""])[0]

    wait_for(shown, interval=0.5, message=f"{path} to show {text!r} in {selector}")


def test_a_taken_place_shows_at_once_and_a_cancelled_activity_says_so_once(live, phone, shoot):
    organizer = bearer(live, "organizer", "shiliu2026")
    units = requests.get(f"{live.url}/api/v1/units", timeout=10).json()["items"]
    fc = next(u for u in units if u["path"] == FC)["id"]
    starts = (utcnow() + timedelta(days=5)).replace(minute=0, second=0, microsecond=0)
    created = requests.post(
        f"{live.url}/api/v1/activities",
        json={
            "title": "石榴籽读书会",
            "category": "festival",
            "dimensions": ["culture"],
            "host_unit_id": fc,
            "address": "富春社区文化家园",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "shifts": [{"name": "读书会", "capacity": 3}],
        },
        headers=organizer,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    activity_id = created.json()["id"]
    published = requests.post(
        f"{live.url}/api/v1/activities/{activity_id}/publish", headers=organizer, timeout=10
    )
    assert published.status_code == 200, published.text
    registered = requests.post(
        f"{live.url}/api/v1/accounts",
        json={"phone": "13977770011", "password": PASSWORD, "name": "帕提古丽", "home_unit_id": fc},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text

    page = phone
    page.goto("/login")
    page.get_by_label("手机号或用户名").fill("13977770011")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("已登录")
    _reloaded_until(page, f"/activities/{activity_id}", "#signup", "我要报名")
    expect(page.locator("ul.shifts")).to_contain_text("剩余 3 / 3")
    page.click("#signup-button")
    expect(page.locator("#my-signup-status")).to_contain_text("已获得名额")
    expect(page.locator("ul.shifts")).to_contain_text("剩余 2 / 3")  # at once, not after a while
    shoot(page, "signed-up")

    cancelled = requests.post(
        f"{live.url}/api/v1/activities/{activity_id}/cancel",
        json={"reason": "场地临时被占用"},
        headers=organizer,
        timeout=10,
    )
    assert cancelled.status_code == 200, cancelled.text
    _reloaded_until(page, "/volunteering/me", "main", "场地临时被占用")
    expect(page.locator("#my-upcoming")).not_to_contain_text("石榴籽读书会")
    mine = page.locator("#my-cancelled .my-signup", has_text="石榴籽读书会")
    expect(mine).to_contain_text("活动已取消：场地临时被占用")
    expect(mine).not_to_contain_text("已获得名额")
    shoot(page, "cancelled-in-my-activities")

    page.goto(f"/activities/{activity_id}")
    expect(page.get_by_text("活动已取消")).to_have_count(1)
    expect(page.locator("#cancel-signup")).to_have_count(0)
    shoot(page, "cancelled-activity")
