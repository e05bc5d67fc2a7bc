"""Every page, as its users meet it: a real Chromium on a 390 px phone visits each page of web
(signed out, as a volunteer and as the city's administrator), in Chinese and in English, and on
each page no script, style or frame is refused by its Content-Security-Policy, nothing scrolls
sideways, no placeholder is left unfilled, text meets WCAG AA contrast, buttons and fields are big
enough to tap, and no interface text is left in the other language (tests/browser/page_checks.py).
"""

from __future__ import annotations

from pathlib import Path

import page_checks
import pytest
from backbone import wait_for
from playwright.sync_api import Page, expect

from events.envelope import utcnow
from services.common.app import service_context

pytestmark = pytest.mark.browser

PASSWORD = "shiliu2026"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Not pages: health, metrics, files and the live code's JSON.
NOT_PAGES = (
    "/healthz",
    "/readyz",
    "/metrics",
    "/static/",
    ".pdf",
    ".xlsx",
    ".json",
    ".ico",
    ".ics",
)
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def _pages(live) -> set[str]:
    """Every GET page of web, by endpoint."""
    return {
        rule.endpoint
        for rule in live.platform.web.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.rule.startswith("/api/")
        and not any(part in rule.rule for part in NOT_PAGES)
    }


class Visitor:
    """A browser page that records every CSP complaint of the pages it opens."""

    def __init__(self, page: Page, locale: str = "zh"):
        self.page = page
        self.locale = locale
        self.complaints: list[str] = []
        self.problems: list[str] = []
        page.add_init_script(WATCH)
        page.on(
            "console",
            lambda message: (
                self.complaints.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                or "Content-Security-Policy" in message.text
                else None
            ),
        )
        self.seen: set[str] = set()

    def visit(self, path: str, endpoint: str | None = None) -> None:
        if self.locale != "zh":
            path += ("&" if "?" in path else "?") + f"lang={self.locale}"
        answer = self.page.goto(path)
        assert answer is not None and answer.status < 500, (path, answer and answer.status)
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        self.page.wait_for_load_state("load")
        violations = self.page.evaluate("window.__violations || []")
        self.complaints.extend(f"{path}: {v}" for v in violations)
        if endpoint:  # a page of web's own (not the API's documentation)
            self.problems += page_checks.overflow(self.page)
            self.problems += page_checks.placeholders(self.page)
            self.problems += page_checks.accessibility(self.page)
            self.problems += page_checks.small_targets(self.page)
            self.problems += page_checks.wrong_language(self.page, self.locale)
            self.seen.add(endpoint)

    def sign_in(self, username: str) -> None:
        self.page.goto("/login?lang=zh")  # signing in is the same in either language
        self.page.get_by_label("手机号或用户名").fill(username)
        self.page.get_by_label("密码", exact=True).fill(PASSWORD)
        self.page.get_by_role("button", name="登录", exact=True).click()
        expect(self.page.get_by_role("status")).to_have_text("已登录")


def _an_activity(live) -> str:
    from services.volunteers.models import ActivityView

    with service_context(live.platform.apps["volunteers"]).session_factory() as session:
        # The soonest one still ahead (other journeys of the session run some and cancel some).
        return (
            session.query(ActivityView.activity_id)
            .filter(ActivityView.status == "published", ActivityView.starts_at > utcnow())
            .order_by(ActivityView.starts_at)
            .first()[0]
        )


def _an_account(live, username: str) -> str:
    from web.models import Account

    with service_context(live.platform.web).session_factory() as session:
        return session.query(Account.id).filter(Account.username == username).scalar()


def _walk(live, open_context, locale: str) -> list[Visitor]:
    """Visit every page of web as the three kinds of visitor, in one language."""
    activity = _an_activity(live)
    anonymous = Visitor(open_context().new_page(), locale)
    for path, endpoint in [
        ("/", "pages.home"),
        ("/login", "pages.login"),
        ("/register", "pages.register"),
        ("/password/forgot", "pages.password_forgot"),
        ("/password/reset", "pages.password_reset"),
        ("/activities", "activities.public_list"),
        (f"/activities/{activity}", "activities.public_detail"),
        (f"/activities/{activity}/share", "sharing.share"),
        ("/honors", "awards.honors"),
        ("/honors/verify", "awards.verify_form"),
        ("/honors/verify/SL-2026-AAAAAAAA", "awards.verify"),
        ("/notices", "awards.notices"),
        ("/volunteering/verify/NOPE", "volunteering.verify"),
        ("/api/v1/docs/", None),
    ]:
        anonymous.visit(path, endpoint)
    if locale == "zh":
        expect(anonymous.page.locator("#swagger-ui")).to_contain_text("Shiliu", timeout=20_000)

    volunteer = Visitor(open_context().new_page(), locale)
    volunteer.sign_in("13800000001")
    # Signed up, so that the organizer's roster and attendance table have a row to check.
    signup = volunteer.page.request.post(
        f"/api/v1/activities/{activity}/signups",
        headers={"Authorization": "Bearer " + _token(volunteer.page, "13800000001")},
        data={},
    )
    assert signup.status in (201, 409), signup.text()  # 409: signed up in the other language
    for path, endpoint in [
        ("/me", "pages.me"),
        ("/me/password", "pages.password"),
        ("/volunteering/me", "volunteering.mine"),
        (f"/volunteering/activities/{activity}", "volunteering.activity"),
        (f"/volunteering/checkin/{activity}", "volunteering.checkin"),
        ("/points", "points.mine"),
        ("/points/standings", "points.standings"),  # their rank in their community
        ("/inbox", "inbox.inbox"),  # their sign-up's message is there
        ("/inbox/preferences", "inbox.preferences"),
        # Opening a message marks it read and lands on its activity's page.
        (f"/inbox/{_a_message(volunteer.page)}", "inbox.open_message"),
    ]:
        volunteer.visit(path, endpoint)

    admin = Visitor(open_context().new_page(), locale)
    admin.sign_in("admin")
    cycle = admin.page.request.post(
        "/api/v1/award-cycles",
        headers={"Authorization": "Bearer " + _token(admin.page, "committee")},
        data={
            "title": "2026年度 民族团结之星",
            "unit_id": _unit(live, "/nb/bl/"),
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "quota": 1,
            "committee": [_an_account(live, "committee")],
            "quorum": 1,
        },
    )
    assert cycle.status == 201, cycle.text()
    cycle_id = cycle.json()["id"]
    for path, endpoint in [
        ("/admin/accounts", "pages.admin_accounts"),
        (f"/admin/accounts/{_an_account(live, '13800000001')}", "pages.admin_account"),
        ("/admin/audit", "pages.admin_audit"),
        ("/admin/sms", "pages.admin_sms"),
        ("/admin/notifications", "inbox.admin_deliveries"),
        ("/admin/units", "pages.admin_units"),
        ("/awards", "awards.cycles"),
        ("/awards/new", "awards.create"),
        (f"/awards/{cycle_id}", "awards.cycle"),
        (f"/awards/{cycle_id}/audit", "awards.audit"),
        (f"/notices/{cycle_id}", "awards.notice"),
        ("/organize", "activities.dashboard"),
        ("/organize/activities/new", "activities.create"),
        (f"/organize/activities/{activity}", "activities.manage"),
        (f"/organize/activities/{activity}/edit", "activities.edit"),
        (f"/volunteering/organize/{activity}/roster", "volunteering.roster"),
        (f"/volunteering/organize/{activity}/attendance", "volunteering.attendance"),
        (f"/volunteering/organize/{activity}/live", "volunteering.live"),
        ("/points/adjustments", "points.adjustments"),
        ("/points/rules", "points.rules"),
        ("/points/standings", "points.standings"),
        ("/stats", "stats.page"),  # the city: its districts, months, categories, dimensions
        (f"/stats?unit_id={_unit(live, '/nb/bl/xq/fc/')}&sort=hours&order=asc", "stats.page"),
        ("/stats?from=2026-02-30", "stats.page"),  # a date that is none: the message
    ]:
        admin.visit(path, endpoint)
    if admin.page.locator("#expires").count():  # the code screen, once check-in is open
        expect(admin.page.locator("#expires")).to_contain_text(" s")  # its script runs
    return [anonymous, volunteer, admin]


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_page_keeps_its_policy_and_is_usable_on_a_phone(live, open_context, locale):
    visitors = _walk(live, open_context, locale)
    seen = set().union(*(visitor.seen for visitor in visitors))
    assert _pages(live) - seen == set(), "a page is missing from this walk"
    assert [c for visitor in visitors for c in visitor.complaints] == []
    problems = [p for visitor in visitors for p in visitor.problems]
    report = ARTIFACTS / f"page-problems-{locale}.txt"  # the whole list, kept for reading
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("\n".join(problems) + "\n", encoding="utf-8")
    assert problems == [], f"{len(problems)} problems, listed in {report}"


def test_confirm_dialogs_still_ask_before_a_form_is_sent(live, open_context):
    admin = Visitor(open_context().new_page())
    admin.sign_in("admin")
    admin.visit(f"/organize/activities/{_an_activity(live)}")
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    admin.page.on("dialog", dismiss)
    cancel = admin.page.locator("form[data-confirm]").last
    cancel.locator("textarea, input[type=text]").first.fill("天气原因")
    cancel.locator("button[type=submit]").click()
    expect(admin.page.get_by_role("heading").first).to_be_visible()
    assert asked and "确定" in asked[0]
    assert "/organize/activities/" in admin.page.url  # dismissed: nothing was sent
    assert admin.complaints == []


def _token(page: Page, username: str) -> str:
    answer = page.request.post(
        "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    return answer.json()["access_token"]


def _a_message(page: Page) -> str:
    """The id of a message in the demo volunteer's inbox (their sign-up's, through the broker)."""
    headers = {"Authorization": "Bearer " + _token(page, "13800000001")}

    def first():
        items = page.request.get("/api/v1/notifications", headers=headers).json()["items"]
        return items[0]["id"] if items else None

    return wait_for(first, message="a message in the volunteer's inbox")


def _unit(live, path: str) -> str:
    from web.models import UnitView

    with service_context(live.platform.web).session_factory() as session:
        return session.query(UnitView.unit_id).filter(UnitView.path == path).scalar()
