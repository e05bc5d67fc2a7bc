"""Browser journeys of volunteering (Chromium through Playwright, phone-sized): a volunteer is
waitlisted and promoted when another cancels; at the venue an organizer shows the live code and a
volunteer checks in with it; the organizer confirms hours. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from people import send_registration
from playwright.sync_api import expect
from tests_support import serve_platform
from volunteering import FC, VENUE, activity_payload

from events.envelope import utcnow
from events.settings import city_zone
from services.common.app import service_context
from services.volunteers import operations, rules

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def site(broker, tmp_path_factory):
    """The platform served by waitress on a free port; yields (base URL, platform)."""
    with serve_platform(
        broker, tmp_path_factory.mktemp("volunteering-browser"), "vb", backbone="in-process"
    ) as served:
        yield served[0], served[1]


@pytest.fixture(scope="module")
def chromium(browser):
    """The session's one Chromium (Playwright's sync API allows one driver per thread)."""
    return browser


def publish(platform, starts_in: timedelta, **overrides) -> dict:
    """An activity of 富春社区 in the volunteers projection (as activity.published puts it)."""
    factory = service_context(platform.apps["volunteers"]).session_factory
    with factory() as session:
        from services.volunteers.models import UnitView

        fc = session.query(UnitView).filter(UnitView.path == FC).one()
    payload = activity_payload(
        starts_in=starts_in, host_unit_id=fc.unit_id, host_unit_path=FC, **overrides
    )
    with factory() as session, session.begin():
        operations.apply_activity_state(session, payload)
    return payload


def resident(base: str, phone: str, name: str) -> str:
    """Register a resident of 富春社区 through the API."""
    units = requests.get(f"{base}/api/v1/units", timeout=10).json()["items"]
    fc = next(u for u in units if u["path"] == FC)
    answer = requests.post(
        f"{base}/api/v1/accounts",
        json={"phone": phone, "password": "pomegranate8", "name": name, "home_unit_id": fc["id"]},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return phone


def signed_in(browser, base: str, username: str, password: str = "pomegranate8", **context):
    """A phone-sized page signed in as someone."""
    page = browser.new_context(viewport=PHONE, locale="zh-CN", **context).new_page()
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page.locator(".flash.success")).to_be_visible()
    return page


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"volunteering-{name}.png"), full_page=True)


def test_a_volunteer_is_waitlisted_and_promoted_when_another_cancels(site, chromium):
    base, platform = site
    activity = publish(platform, timedelta(days=2), capacity=1, title="百家宴")
    page_path = f"{base}/volunteering/activities/{activity['activity_id']}"
    first = signed_in(chromium, base, resident(base, "13912340001", "马晓梅"))
    second = signed_in(chromium, base, resident(base, "13912340002", "阿依古丽"))

    first.goto(page_path)
    first.click("#signup-button")
    expect(first.locator("#my-signup-status")).to_contain_text("已获得名额")

    second.goto(page_path)
    expect(second.locator("#signup-button")).to_have_text("名额已满，加入候补")
    second.click("#signup-button")
    expect(second.locator("#my-signup-status")).to_contain_text("候补第 1 位")
    shot(second, "waitlisted")

    first.once("dialog", lambda dialog: dialog.accept())
    first.click("#cancel-signup")
    expect(first.locator(".flash.success")).to_contain_text("已取消报名")

    second.goto(f"{base}/volunteering/me")
    expect(second.locator(".my-signup")).to_contain_text("已获得名额")
    second.goto(page_path)
    expect(second.locator("#my-signup-status")).to_contain_text("由候补递补")
    shot(second, "promoted")


def test_the_organizer_shows_the_live_code_a_volunteer_checks_in_and_hours_are_confirmed(
    site, chromium
):
    base, platform = site
    activity = publish(
        platform,
        -timedelta(minutes=10),
        title="民族团结宣讲",
        walk_ins_allowed=True,
        latitude=VENUE[0],
        longitude=VENUE[1],
        checkin_radius_m=300,
    )
    activity_id = activity["activity_id"]
    organizer = signed_in(chromium, base, "organizer", "shiliu2026")
    organizer.set_viewport_size({"width": 1024, "height": 800})
    organizer.goto(f"{base}/volunteering/organize/{activity_id}/live")
    code = organizer.locator("#code").inner_text().strip()
    assert len(code) == 6 and code.isdigit()
    expect(organizer.locator("#qr svg")).to_be_visible()
    shot(organizer, "live-code")

    near = {"latitude": float(VENUE[0]) + 0.0005, "longitude": float(VENUE[1])}
    volunteer = signed_in(
        chromium,
        base,
        resident(base, "13912340003", "卓玛"),
        geolocation=near,
        permissions=["geolocation"],
    )
    # What the QR encodes: the check-in page with the live code.
    volunteer.goto(f"{base}/volunteering/checkin/{activity_id}?code={code}")
    volunteer.click("#checkin-button")
    expect(volunteer.locator("#checkin-result")).to_contain_text("签到成功")
    shot(volunteer, "checked-in")
    # A second scan is harmless: the same record, a friendly answer.
    volunteer.goto(f"{base}/volunteering/checkin/{activity_id}?code={code}")
    expect(volunteer.locator("#checkout-button")).to_be_visible()

    organizer.goto(f"{base}/volunteering/organize/{activity_id}/attendance")
    row = organizer.locator("#attendance tbody tr", has_text="卓玛")
    expect(row).to_contain_text("未签退")
    row.locator("input[id^=hours-]").fill("2")
    row.locator("input[id^=reason-]").fill("未签退，按实际服务时间")
    organizer.click("#confirm-button")
    expect(organizer.locator(".flash.success")).to_contain_text("新确认 1 人")
    shot(organizer, "hours-confirmed")

    volunteer.goto(f"{base}/volunteering/me")
    expect(volunteer.locator("#my-hours")).to_contain_text("2.0")
    expect(volunteer.locator(".my-signup")).to_have_count(0)  # a walk-in has no sign-up
    # ... but the activity is among those they took part in, with its hours (issue 20 items 1, 5)
    walk_in = volunteer.locator(".my-walk-in", has_text="民族团结宣讲")
    expect(walk_in).to_contain_text("已确认 2.0 小时")
    expect(walk_in).to_contain_text("现场参加")
    held = (utcnow() - timedelta(minutes=10)).astimezone(city_zone())  # the activity's day
    expect(walk_in).to_contain_text(held.strftime("%Y年%m月%d日"))
    volunteer.goto(f"{base}/volunteering/me?lang=en")
    expect(volunteer.locator(".my-walk-in")).to_contain_text("2.0 hours confirmed")
    volunteer.goto(f"{base}/volunteering/me?lang=zh")


def scan_url(organizer, base: str, activity_id: str) -> str:
    """What the QR on the organizer's live screen opens (the screen's own JSON says)."""
    answer = organizer.request.get(f"{base}/volunteering/organize/{activity_id}/live.json")
    assert answer.ok, answer.text()
    return answer.json()["absolute_url"]


def test_a_volunteer_scans_signs_in_confirms_with_one_tap_and_checks_out_without_a_code(
    site, chromium
):
    """Issue 20 item 4: the scan survives signing in, a scan lands on a one-tap confirmation,
    and checking out needs no fresh code from the screen."""
    base, platform = site
    activity = publish(platform, -timedelta(minutes=5), title="石榴籽故事会", walk_ins_allowed=True)
    activity_id = activity["activity_id"]
    organizer = signed_in(chromium, base, "organizer", "shiliu2026")
    url = scan_url(organizer, base, activity_id)
    phone = resident(base, "13912340004", "古丽娜")

    volunteer = chromium.new_context(viewport=PHONE, locale="zh-CN").new_page()
    volunteer.goto(url)  # not signed in yet: the sign-in page first
    expect(volunteer.locator("#username")).to_be_visible()
    volunteer.fill("#username", phone)
    volunteer.fill("#password", "pomegranate8")
    volunteer.click("button[type=submit]")
    # Back at the check-in, with the scan: one tap to confirm.
    expect(volunteer.locator("#checkin-confirm")).to_contain_text("确认签到：石榴籽故事会")
    assert volunteer.url.startswith(f"{base}/volunteering/checkin/{activity_id}")
    shot(volunteer, "scan-confirm")
    volunteer.click("#checkin-button")
    expect(volunteer.locator("#checkin-result")).to_contain_text("签到成功")

    # Checking out: no code in the field, none asked for.
    expect(volunteer.locator("#code")).to_have_count(0)
    volunteer.click("#checkout-button")
    expect(volunteer.locator("#checkin-result")).to_contain_text("签退成功")
    shot(volunteer, "checked-out")

    # Already signed in, a second volunteer's scan goes straight to the confirmation.
    other = signed_in(chromium, base, resident(base, "13912340005", "其美"))
    other.goto(url)
    expect(other.locator("#checkin-confirm")).to_contain_text("石榴籽故事会")
    other.goto(f"{url}&lang=en")
    expect(other.locator("#checkin-confirm")).to_contain_text("Confirm your check-in")
    other.goto(f"{url}&lang=zh")


def test_a_refused_code_is_cleared_so_the_next_try_is_not_the_same_stale_code(site, chromium):
    """Issue 20 item 4: after '签到码不正确或已过期' the field is empty, not the stale code."""
    base, platform = site
    activity = publish(platform, -timedelta(minutes=5), title="普通话角", walk_ins_allowed=True)
    activity_id = activity["activity_id"]
    volunteer = signed_in(chromium, base, resident(base, "13912340006", "买买提"))

    volunteer.goto(f"{base}/volunteering/checkin/{activity_id}?code=000000")
    volunteer.click("#checkin-button")
    expect(volunteer.locator("#checkin-problem")).to_contain_text("签到码不正确或已过期")
    expect(volunteer.locator("#code")).to_have_value("")

    # A scan whose five minutes are over: refused, and the page asks for the 6 digits instead.
    volunteer.goto(f"{base}/volunteering/checkin/{activity_id}?code=1000-0123456789abcdef")
    volunteer.click("#checkin-button")
    expect(volunteer.locator("#checkin-problem")).to_contain_text("签到码不正确或已过期")
    expect(volunteer.locator("#checkin-confirm")).to_have_count(0)
    expect(volunteer.locator("#code")).to_be_editable()
    expect(volunteer.locator("#code")).to_have_value("")
    shot(volunteer, "code-refused")


def test_the_live_screen_fills_a_projector_counts_down_in_the_page_language_and_warns(
    site, chromium
):
    """Issue 20 item 9: the QR scales to its box, the seconds are '秒' on the Chinese page, and
    the screen says when check-in is not open yet or is over."""
    base, platform = site
    now_open = publish(platform, -timedelta(minutes=5), title="邻里节")["activity_id"]
    later = publish(platform, timedelta(days=4), title="百家宴")
    in_four_days = later["activity_id"]
    over = publish(platform, -timedelta(hours=5), hours=2, title="法律援助日")["activity_id"]
    organizer = signed_in(chromium, base, "organizer", "shiliu2026")
    organizer.set_viewport_size({"width": 1920, "height": 1080})  # a projector

    organizer.goto(f"{base}/volunteering/organize/{now_open}/live")
    svg = organizer.locator("#qr svg")
    assert svg.get_attribute("viewBox")
    box = organizer.locator("#qr").bounding_box()
    drawn = svg.bounding_box()
    assert abs(drawn["width"] - box["width"]) <= 1 and drawn["width"] >= 600, (drawn, box)
    expect(organizer.locator("#expires")).to_have_text(re.compile(r"^\d+ 秒$"))
    expect(organizer.locator("#expires")).to_be_in_viewport()  # the code and its seconds too
    expect(organizer.locator("#window-warning")).to_have_count(0)
    shot(organizer, "live-projector")
    organizer.goto(f"{base}/volunteering/organize/{now_open}/live?lang=en")
    expect(organizer.locator("#expires")).to_have_text(re.compile(r"^\d+ s$"))

    organizer.goto(f"{base}/volunteering/organize/{in_four_days}/live?lang=zh")
    warning = organizer.locator("#window-warning")
    expect(warning).to_contain_text("签到还没开始")
    opens = later["starts_at"] - rules.CHECKIN_OPENS_BEFORE
    expect(warning).to_contain_text(opens.astimezone(city_zone()).strftime("%m月%d日 %H:%M"))
    organizer.goto(f"{base}/volunteering/organize/{over}/live")
    expect(organizer.locator("#window-warning")).to_contain_text("签到已于")

    organizer.set_viewport_size(PHONE)  # and on a phone it still fits
    organizer.goto(f"{base}/volunteering/organize/{now_open}/live")
    width = organizer.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


def test_a_newcomer_who_scans_registers_and_lands_on_the_check_in_confirmation(site, chromium):
    """Issue 20 item 4: registering on the way keeps the scan too."""
    base, platform = site
    activity = publish(
        platform, -timedelta(minutes=5), title="民族团结进社区", walk_ins_allowed=True
    )
    organizer = signed_in(chromium, base, "organizer", "shiliu2026")
    url = scan_url(organizer, base, activity["activity_id"])

    page = chromium.new_context(viewport=PHONE, locale="zh-CN").new_page()
    page.goto(url)
    page.get_by_role("main").get_by_role("link", name="注册", exact=True).click()
    send_registration(page, "13912340007", "扎西")
    expect(page.locator("#checkin-confirm")).to_contain_text("民族团结进社区")
    page.click("#checkin-button")
    expect(page.locator("#checkin-result")).to_contain_text("签到成功")


def test_a_live_screen_left_on_drops_its_warning_when_check_in_opens(site, chromium):
    """Issue 20 item 9: set up early, the screen warns; once check-in opens, its next refresh
    (at the latest when the code changes, every 30 s) draws it without the warning."""
    base, platform = site
    soon = publish(platform, timedelta(hours=2), title="文艺汇演")
    organizer = signed_in(chromium, base, "organizer", "shiliu2026")
    organizer.clock.install()  # the screen's timers run on a clock the test can move on
    organizer.goto(f"{base}/volunteering/organize/{soon['activity_id']}/live")
    expect(organizer.locator("#window-warning")).to_contain_text("签到还没开始")
    # The organizer opens check-in now (activity.updated reaches the volunteers service).
    factory = service_context(platform.apps["volunteers"]).session_factory
    with factory() as session, session.begin():
        operations.apply_activity_state(session, {**soon, "checkin_opens_at": utcnow()})
    # The screen's next refresh is due when its code changes: move its clock past the step
    # rather than wait for it.
    organizer.clock.fast_forward((rules.CODE_STEP_SECONDS + 1) * 1000)
    expect(organizer.locator("#window-warning")).to_have_count(0, timeout=45_000)
    expect(organizer.locator("#qr svg")).to_be_visible()


CHINESE = re.compile(r"[\u3400-\u9fff]")


def test_at_the_door_an_english_page_answers_in_english(site, chromium):
    """The check-in page on ?lang=en: its answers and refusals are English, not the service's
    Chinese (a refusal's time and distance included)."""
    base, platform = site
    walk_in = publish(platform, -timedelta(minutes=5), title="Open day", walk_ins_allowed=True)
    members_only = publish(platform, -timedelta(minutes=5), title="Members' lunch")
    later = publish(platform, timedelta(days=2), title="Spring festival")
    organizer = signed_in(chromium, base, "organizer", "shiliu2026")
    page = signed_in(chromium, base, resident(base, "13912340008", "Ayşe"))

    def tap(activity, button: str, answer: str) -> str:
        if button == "#checkin-button":
            page.goto(scan_url(organizer, base, activity["activity_id"]) + "&lang=en")
        page.click(button)
        text = page.locator(answer).inner_text()
        assert not CHINESE.search(text), text
        return text

    assert "Checked in" in tap(walk_in, "#checkin-button", "#checkin-result")
    assert "Checked out" in tap(walk_in, "#checkout-button", "#checkin-result")
    assert "walk-ins" in tap(members_only, "#checkin-button", "#checkin-problem")
    assert "not open" in tap(later, "#checkin-button", "#checkin-problem")
    page.goto(f"{base}/volunteering/checkin/{walk_in['activity_id']}?lang=zh")
