"""What residents who know 志愿汇 or i志愿 expect of the activities (issue 20 item 16), on a phone:
search by words, the nearest first when the phone tells where they stand, the address opening a
map, the activity added to their calendar (an .ics file read back here), and a share card whose
QR code (read back from the screen here) opens the activity."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import page_checks
import pytest
import requests
import zxingcpp
from icalendar import Calendar
from people import bearer
from PIL import Image
from playwright.sync_api import expect

from events.envelope import utcnow

pytestmark = pytest.mark.browser

FC = "/nb/bl/xq/fc/"
TIANYI = {"latitude": 29.8683, "longitude": 121.5440}  # where the resident stands


def _published(live, title: str, days: int = 6, **fields) -> dict:
    """A published activity of 富春社区, made through the API as its organizer would."""
    headers = bearer(live, "organizer", "shiliu2026")
    units = requests.get(f"{live.url}/api/v1/units", timeout=10).json()["items"]
    starts = (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    body = {
        "title": title,
        "category": "festival",
        "dimensions": ["culture"],
        "host_unit_id": next(u for u in units if u["path"] == FC)["id"],
        "address": "富春社区文化家园",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2, minutes=30)).isoformat(),
        # Not the default 志愿者: the every-page walk may open these, and would take that data
        # for interface text left in Chinese on the English pages.
        "shifts": [{"name": "石榴籽服务队", "capacity": 10}],
        **fields,
    }
    created = requests.post(f"{live.url}/api/v1/activities", json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    activity_id = created.json()["id"]
    published = requests.post(
        f"{live.url}/api/v1/activities/{activity_id}/publish", headers=headers, timeout=10
    )
    assert published.status_code == 200, published.text
    return published.json()


def test_a_resident_finds_activities_by_words_and_sees_the_nearest_first(live, open_context, shoot):
    tag = uuid.uuid4().hex[:6]
    far = _published(live, f"石榴籽读书会 {tag}", days=3, latitude="29.9000", longitude="121.5440")
    near = _published(live, f"石榴籽包饺子 {tag}", days=9, latitude="29.8700", longitude="121.5440")
    unplaced = _published(live, f"石榴籽合唱 {tag}", days=4)
    other = _published(live, f"法律咨询 {tag}", days=5, latitude="29.8690", longitude="121.5440")
    context = open_context()
    context.grant_permissions(["geolocation"], origin=live.url)
    context.set_geolocation(TIANYI)
    page = context.new_page()

    page.goto("/activities")
    page.get_by_label("搜索").fill(f"石榴籽 {tag}")
    page.get_by_role("button", name="筛选").click()
    titles = page.locator("article.activity h2")
    expect(titles).to_have_text([far["title"], unplaced["title"], near["title"]])  # soonest first
    assert other["title"] not in titles.all_inner_texts()
    assert page_checks.accessibility(page) == []  # the search field has its label
    shoot(page, "searched")

    page.get_by_role("button", name="离我最近").click()
    expect(page).to_have_url(re.compile(r"near="))
    asked = parse_qs(urlsplit(page.url).query)
    assert asked["near"] == ["29.8683,121.544"] and asked["q"] == [f"石榴籽 {tag}"]
    expect(titles).to_have_text([near["title"], far["title"], unplaced["title"]])
    distances = page.locator("article.activity .distance")
    expect(distances).to_have_text(["距离 189 米", "距离 3.5 公里"])
    expect(page.get_by_label("搜索")).to_have_value(f"石榴籽 {tag}")  # the search is kept
    problems = page_checks.overflow(page) + page_checks.small_targets(page)
    assert problems + page_checks.accessibility(page) == []
    shoot(page, "nearest-first")

    page.get_by_role("link", name="按时间排序").click()
    expect(titles).to_have_text([far["title"], unplaced["title"], near["title"]])


def test_near_me_says_so_when_the_phone_keeps_its_location(live, open_context):
    page = open_context().new_page()  # no permission given: the browser refuses
    page.goto("/activities")
    page.get_by_role("button", name="离我最近").click()
    expect(page.locator("#near-status")).to_have_text(
        "无法获取你的位置，请在浏览器设置中允许本网站使用位置"
    )
    assert "near=" not in page.url


def test_a_bad_place_in_the_address_is_refused_with_a_message(live, phone):
    answer = phone.goto("/activities?near=somewhere")
    assert answer is not None and answer.status == 422
    expect(phone.get_by_role("alert")).to_contain_text("纬度")


def test_the_address_opens_a_map_where_the_activity_has_a_place(live, phone):
    placed = _published(
        live, "石榴籽运动会", latitude="29.870000", longitude="121.544000", address="富春社区 操场"
    )
    addressed = _published(live, "石榴籽茶话会", address="富春社区文化家园 2 楼")
    phone.goto(f"/activities/{placed['id']}")
    link = phone.get_by_role("link", name="富春社区 操场")
    expect(link).to_have_attribute(
        "href",
        "https://uri.amap.com/marker?position=121.544,29.87&name=%E5%AF%8C%E6%98%A5%E7%A4%BE%E5%8C%BA%20%E6%93%8D%E5%9C%BA&coordinate=wgs84&callnative=1",
    )
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    phone.goto(f"/activities/{addressed['id']}")
    expect(phone.get_by_role("link", name="富春社区文化家园 2 楼")).to_have_attribute(
        "href",
        "https://uri.amap.com/search?keyword=%E5%AF%8C%E6%98%A5%E7%A4%BE%E5%8C%BA%E6%96%87%E5%8C%96%E5%AE%B6%E5%9B%AD%202%20%E6%A5%BC&callnative=1",
    )


def test_an_activity_goes_into_the_phones_calendar(live, phone):
    activity = _published(
        live,
        "百家宴; 包饺子, 做抓饭",  # ; and , are escaped in an .ics text
        description="各族居民一起做家乡菜。\n请自带一道菜",
        address="富春社区文化家园, 2 楼",
        latitude="29.870000",
        longitude="121.544000",
    )
    phone.goto(f"/activities/{activity['id']}")
    with phone.expect_download() as download:
        phone.get_by_role("link", name="加入日历").click()
    assert download.value.suggested_filename.endswith(".ics")
    raw = download.value.path().read_bytes()
    assert (
        b"SUMMARY:\xe7\x99\xbe\xe5\xae\xb6\xe5\xae\xb4\\; \xe5\x8c\x85\xe9\xa5\xba\xe5\xad\x90\\, "
        in raw
    )
    calendar = Calendar.from_ical(raw)
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "百家宴; 包饺子, 做抓饭"
    assert str(event["LOCATION"]) == "富春社区文化家园, 2 楼"
    assert "请自带一道菜" in str(event["DESCRIPTION"])
    starts, ends = (datetime.fromisoformat(activity[k]) for k in ("starts_at", "ends_at"))
    assert event.decoded("DTSTART") == starts and event.decoded("DTEND") == ends
    # Written in UTC, which every calendar reads the same.
    assert f"DTSTART:{starts.astimezone(UTC):%Y%m%dT%H%M%S}Z\r\n".encode() in raw
    assert f"DTEND:{ends.astimezone(UTC):%Y%m%dT%H%M%S}Z\r\n".encode() in raw
    assert str(event["URL"]) == f"{live.url}/activities/{activity['id']}"
    assert str(event["UID"]) == f"activity-{activity['id']}@shiliu"
    assert event.decoded("DTSTAMP") == datetime.fromisoformat(activity["updated_at"]).replace(
        microsecond=0
    )
    assert event["GEO"].latitude == 29.87 and event["GEO"].longitude == 121.544


def test_a_share_card_shows_title_time_place_and_a_qr_code_that_opens_the_activity(
    live, phone, shoot
):
    activity = _published(live, "石榴籽志愿服务日", address="富春社区文化家园")
    phone.goto(f"/activities/{activity['id']}")
    phone.get_by_role("link", name="分享").click()
    card = phone.locator(".share-card")
    expect(card.get_by_role("heading")).to_have_text("石榴籽志愿服务日")
    expect(card).to_contain_text("富春社区文化家园")
    starts = datetime.fromisoformat(activity["starts_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    expect(card).to_contain_text(starts.strftime("%Y年%m月%d日 %H:%M"))
    url = f"{live.url}/activities/{activity['id']}"
    expect(card).to_contain_text(url)
    problems = page_checks.overflow(phone) + page_checks.small_targets(phone)
    assert problems + page_checks.accessibility(phone) == []
    shoot(phone, "share-card")
    picture = Image.open(io.BytesIO(card.locator(".share-qr").screenshot()))
    assert [found.text for found in zxingcpp.read_barcodes(picture)] == [url]
    phone.goto(url)
    expect(phone.get_by_role("heading", level=1)).to_have_text("石榴籽志愿服务日")
