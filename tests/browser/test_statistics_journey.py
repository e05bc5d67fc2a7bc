"""Statistics in a browser (issue 22): a street's administrator opens /stats on a phone, finds
the communities of the street with an activity that took place, drills into 富春社区 by clicking
it, downloads the Excel file and its sheets say the same as the page."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import page_checks
import pytest
import requests
from backbone import wait_for
from openpyxl import load_workbook
from people import bearer, resident, sign_in
from playwright.sync_api import expect

from events.envelope import utcnow
from services.common.app import service_context

pytestmark = pytest.mark.browser

FC, XQ = "/nb/bl/xq/fc/", "/nb/bl/xq/"
STREET_ADMIN, STREET_PASSWORD = "xq-admin", "xinqi2026a"
TITLE = "石榴籽统计演练"


def _post(live, path: str, headers: dict, body: dict | None = None) -> dict:
    answer = requests.post(f"{live.url}{path}", json=body or {}, headers=headers, timeout=10)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _units(live) -> dict[str, str]:
    items = requests.get(f"{live.url}/api/v1/units", timeout=10).json()["items"]
    return {u["path"]: u["id"] for u in items}


def _held(live, units: dict[str, str]) -> str:
    """An activity of 富春社区 that took place, through the services' APIs: the organizer made
    and published it, checked three residents in at the door, confirmed their hours, and marked
    it held with its audience."""
    from services.volunteers.models import ActivityView

    organizer = bearer(live, "organizer", "shiliu2026")
    starts = utcnow().replace(microsecond=0) - timedelta(hours=1)
    activity = _post(
        live,
        "/api/v1/activities",
        organizer,
        {
            "title": TITLE,
            "category": "culture",
            "dimensions": ["culture", "psychology"],
            "host_unit_id": units[FC],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=3)).isoformat(),
            "walk_ins_allowed": True,
        },
    )
    activity_id = activity["id"]
    _post(live, f"/api/v1/activities/{activity_id}/publish", organizer)
    volunteers = service_context(live.platform.apps["volunteers"]).session_factory

    def known():
        with volunteers() as session:
            return session.get(ActivityView, activity_id) is not None

    wait_for(known, message="the volunteers service to learn of the activity")
    people = [
        resident(live, phone, name)
        for phone, name in (
            ("13933330001", "阿丽米热"),
            ("13933330002", "桑吉"),
            ("13933330003", "金花"),
        )
    ]
    for person in people:
        _post(
            live, f"/api/v1/activities/{activity_id}/checkins", organizer, {"volunteer_id": person}
        )
    _post(
        live,
        f"/api/v1/activities/{activity_id}/attendance/confirm",
        organizer,
        {
            "entries": [
                {"volunteer_id": person, "hours": "2.5", "reason": "按纸质签到表"}
                for person in people
            ],
            "no_shows": [],
        },
    )
    _post(live, f"/api/v1/activities/{activity_id}/complete", organizer, {"audience": 80})
    return activity_id


def test_a_street_administrator_drills_into_a_community_and_downloads_the_excel_file(
    live, open_context, shoot
):
    units = _units(live)
    _post(
        live,
        "/api/v1/staff",
        bearer(live, "admin", "shiliu2026"),
        {
            "username": STREET_ADMIN,
            "name": "新碶街道 周干事",
            "password": STREET_PASSWORD,
            "role": "admin",
            "unit_id": units[XQ],
        },
    )
    _held(live, units)
    street = bearer(live, STREET_ADMIN, STREET_PASSWORD)

    def counted():
        answer = requests.get(
            f"{live.url}/api/v1/stats",
            params={"unit_id": units[FC]},
            headers=street,
            timeout=10,
        ).json()
        return answer["totals"]["attendances"] >= 3 and answer["totals"]

    fc_totals = wait_for(counted, message="statistics to count the activity")

    page = open_context().new_page()
    sign_in(page, STREET_ADMIN, STREET_PASSWORD)
    page.get_by_role("link", name="统计", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("统计 · 新碶街道")
    table = page.locator("#stats-units")
    expect(table.locator("tbody tr", has_text="富春社区")).to_be_visible()
    expect(table.locator("tbody tr", has_text="松花江社区")).to_be_visible()
    problems = page_checks.overflow(page) + page_checks.accessibility(page)
    problems += page_checks.small_targets(page) + page_checks.wrong_language(page, "zh")
    shoot(page, "street")

    table.get_by_role("link", name="富春社区").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("统计 · 富春社区")
    assert f"unit_id={units[FC]}" in page.url
    expect(page.locator("#stats-trail")).to_contain_text("新碶街道")
    cards = page.locator("#stats-totals")
    expect(cards.locator("[data-figure=activities_held] dd")).to_have_text(
        str(fc_totals["activities_held"])
    )
    expect(cards.locator("[data-figure=attendances] dd")).to_have_text(
        str(fc_totals["attendances"])
    )
    expect(page.locator("#stats-sanjiao")).to_contain_text("不足 5，不显示")
    problems += page_checks.overflow(page) + page_checks.accessibility(page)
    shoot(page, "community")

    with page.expect_download() as waiting:
        page.get_by_role("link", name="导出 Excel").click()
    download = waiting.value
    assert download.suggested_filename.endswith(".xlsx")
    book = load_workbook(BytesIO(download.path().read_bytes()))
    assert book.sheetnames == ["总计", "下级单位", "月份", "类别", "维度", "活动台账"]
    totals = {row[0]: row[1] for row in book["总计"].iter_rows(values_only=True) if row}
    assert totals["单位"] == "富春社区"
    assert totals["活动场次"] == fc_totals["activities_held"]
    assert totals["服务人次"] == fc_totals["attendances"]
    assert totals["志愿服务时长（小时）"] == fc_totals["hours"]
    lines = [row for row in book["活动台账"].iter_rows(min_row=2, values_only=True)]
    ours = next(row for row in lines if row[1] == TITLE)
    assert ours[2:8] == ("富春社区", "文化交流", "文化、心理", 3, 7.5, 80)
    assert ours[8] == "不足 5，不显示"  # three attendees: no number of groups
    dimensions = {row[0]: row[1] for row in book["维度"].iter_rows(min_row=2, values_only=True)}
    assert dimensions["心理"] >= 1
    assert problems == []
