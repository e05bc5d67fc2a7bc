"""民族团结之星 in a real browser (Chromium through Playwright): a committee member reviews the
candidates' evidence and votes at a desk; a resident reads the public notice on a phone and
objects; the honor roll shows the winners and a certificate verifies. One city for the module,
after a year of volunteering (tests/awards_support.py); screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest
from awards_support import PASSWORD, cycle_body, days_later, live_a_year, with_statement
from playwright.sync_api import Page, expect
from tests_support import City, serve_platform

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def site(broker, tmp_path_factory):
    """The platform served by waitress on a free port after a year of volunteering; yields
    (base URL, the city helper, the year)."""
    with serve_platform(
        broker, tmp_path_factory.mktemp("award-browser"), "ab", backbone="in-process"
    ) as served:
        url, platform, gateway = served
        city = City(platform, gateway)
        yield url, city, live_a_year(city)


@pytest.fixture
def pages(browser, site):
    """Open pages in fresh browser contexts on the site (closed afterwards)."""
    opened = []

    def open_(viewport: dict = PHONE) -> Page:
        phone_sized = viewport == PHONE
        context = browser.new_context(
            base_url=site[0],
            viewport=viewport,
            locale="zh-CN",
            is_mobile=phone_sized,
            has_touch=phone_sized,
        )
        opened.append(context)
        return context.new_page()

    yield open_
    for context in opened:
        context.close()


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in on the page the browser is at (the sign-in page)."""
    page.get_by_label("手机号或用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("已登录")


def new_cycle(city, year, **overrides) -> str:
    """A cycle of 北仑区 with the demo committee member, 李委员 and 赵委员, opened."""
    body = cycle_body(year, ["li", "zhao"], **overrides)
    body["committee"].insert(0, city.account("committee").id)
    created = city.call(
        "POST", "/api/v1/award-cycles", "committee", json=with_statement(city, body)
    )
    assert created.status_code == 201, created.get_json()
    cycle_id = created.get_json()["id"]
    opened = city.call("POST", f"/api/v1/award-cycles/{cycle_id}/open", "committee")
    assert opened.status_code == 200, opened.get_json()
    return cycle_id


def candidates(city, cycle_id) -> dict[str, dict]:
    answer = city.call("GET", f"/api/v1/award-cycles/{cycle_id}/candidates", "committee")
    return {c["name"]: c for c in answer.get_json()["items"]}


def on_notice(city, year, title: str) -> tuple[str, dict[str, dict]]:
    """A cycle whose winners 阿依古丽 and 古丽娜 are on public notice, with a story told."""
    cycle_id = new_cycle(city, year, title=title)
    base = f"/api/v1/award-cycles/{cycle_id}"
    listed = candidates(city, cycle_id)
    story = {
        "volunteer_id": year.ids["aygul"],
        "story": "常年为社区各族居民做翻译，组织邻里节和百家宴。",
    }
    assert city.call("POST", f"{base}/nominations", "organizer", json=story).status_code == 200
    for name in ("阿依古丽", "古丽娜"):
        for who in ("committee", "zhao-committee"):
            body = {"candidate_id": listed[name]["candidate_id"], "decision": "approve"}
            assert city.call("POST", f"{base}/votes", who, json=body).status_code == 201
    assert city.call("POST", f"{base}/notice", "committee").status_code == 200
    return cycle_id, listed


def test_a_committee_member_reviews_the_evidence_and_votes(site, pages, shoot):
    base, city, year = site
    cycle_id = new_cycle(city, year, title="2026年度 民族团结之星（委员评审）")
    listed = candidates(city, cycle_id)
    page = pages(DESK)
    page.goto("/login")
    sign_in(page, "committee", "shiliu2026")
    page.get_by_role("link", name="评选", exact=True).click()
    page.get_by_role("link", name="2026年度 民族团结之星（委员评审）").click()
    expect(page.locator("#cycle-status")).to_have_text("评审中")

    cards = page.locator("article.a-candidate")
    expect(cards).to_have_count(4)
    names = [card.get_attribute("data-name") for card in cards.all()]
    assert names == ["阿依古丽", "古丽娜", "李委员", "马建国"]
    aygul = page.locator(f"#candidate-{listed['阿依古丽']['candidate_id']}")
    expect(aygul.locator(".total-points")).to_have_text("95")
    expect(aygul.locator(".a-months li")).to_have_count(3)
    expect(aygul.locator(".activities li").first).to_contain_text("2026-03-08")
    expect(aygul.locator(".activities li").first).to_contain_text("三月邻里节")
    expect(aygul.locator(".dimensions")).to_have_text("空间文化经济社会心理")
    ma = page.locator(f"#candidate-{listed['马建国']['candidate_id']}")
    expect(ma.locator(".no-shows li")).to_contain_text("六月就业帮扶")
    shoot(page, "candidates")

    # Forgetting to choose: the message sits on the card, and nothing is recorded.
    aygul.get_by_label("意见（可选）").fill("翻译服务突出")
    aygul.get_by_role("button", name="投票", exact=True).click()
    aygul = page.locator(f"#candidate-{listed['阿依古丽']['candidate_id']}")
    expect(aygul.locator(".a-problem")).to_have_text("请选择赞成、反对或弃权")
    expect(aygul.get_by_label("意见（可选）")).to_have_value("翻译服务突出")

    aygul.get_by_label("赞成").check()
    aygul.get_by_role("button", name="投票", exact=True).click()
    expect(page.locator(".flash.success")).to_have_text("已投票：赞成")
    aygul = page.locator(f"#candidate-{listed['阿依古丽']['candidate_id']}")
    expect(aygul.locator(".my-vote")).to_have_text("我已投：赞成")
    expect(aygul.locator(".tally")).to_contain_text("赞成 1")
    shoot(page, "voted")

    # Changing one's mind while voting is open.
    aygul.get_by_label("弃权").check()
    aygul.get_by_role("button", name="修改投票").click()
    expect(page.locator(".flash.success")).to_have_text("已投票：弃权")
    expect(page.locator(f"#candidate-{listed['阿依古丽']['candidate_id']} .tally")).to_contain_text(
        "弃权 1"
    )

    # 李委员 sits on the committee: recused from themselves and their team's 古丽娜.
    li = pages(PHONE)
    li.goto(f"/awards/{cycle_id}")
    sign_in(li, year.logins["li"])
    li.goto(f"/awards/{cycle_id}")
    own = li.locator(f"#candidate-{listed['李委员']['candidate_id']}")
    expect(own.locator(".my-vote")).to_contain_text("回避")
    expect(own.locator("form.vote-form")).to_have_count(0)
    shoot(li, "recused-on-a-phone")


def test_a_resident_reads_the_notice_on_a_phone_and_objects(site, pages, shoot):
    base, city, year = site
    cycle_id, listed = on_notice(city, year, "2026年度 民族团结之星（公示）")
    page = pages(PHONE)
    page.goto("/")
    page.get_by_role("link", name="公示", exact=True).click()
    page.get_by_role("link", name="2026年度 民族团结之星（公示）").click()
    items = page.locator("article.notice-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("阿依古丽")
    expect(items.first).to_contain_text("常年为社区各族居民做翻译")
    expect(page.locator("#notice-ends")).to_contain_text("公示期")
    shoot(page, "notice-anonymous")

    gulina = page.locator(f"#candidate-{listed['古丽娜']['candidate_id']}")
    gulina.get_by_role("link", name="登录后可对此人选提出异议").click()
    sign_in(page, year.logins["wang"])  # back on the notice after signing in
    gulina = page.locator(f"#candidate-{listed['古丽娜']['candidate_id']}")
    gulina.get_by_text("对此人选提出异议").click()
    gulina.get_by_role("button", name="提交异议").click()
    gulina = page.locator(f"#candidate-{listed['古丽娜']['candidate_id']}")
    expect(gulina.locator(".a-problem")).to_have_text("请写明异议的理由（至少 5 个字）")
    shoot(page, "objection-without-reason")

    gulina.get_by_label("异议理由").fill("六月活动时长有误，请核实")
    gulina.get_by_role("button", name="提交异议").click()
    expect(page.locator(".flash.success")).to_have_text("异议已提交，评审委员会将核实处理")
    shoot(page, "objection-lodged")
    objections = city.call("GET", f"/api/v1/award-cycles/{cycle_id}/objections", "committee")
    (lodged,) = objections.get_json()["items"]
    assert lodged["candidate_name"] == "古丽娜" and lodged["reason"] == "六月活动时长有误，请核实"


def test_the_honor_roll_shows_the_winners_and_a_certificate_verifies(
    site, pages, shoot, monkeypatch
):
    base, city, year = site
    cycle_id, listed = on_notice(city, year, "2026年度 民族团结之星（光荣榜）")
    days_later(monkeypatch, 6)
    committee = pages(DESK)
    committee.goto(f"/awards/{cycle_id}")
    sign_in(committee, "committee", "shiliu2026")
    committee.goto(f"/awards/{cycle_id}")
    committee.get_by_role("button", name="发布光荣榜").click()
    expect(committee.locator(".flash.success")).to_have_text("光荣榜已发布，证书已颁发")
    expect(committee.locator("#cycle-status")).to_have_text("已发布")

    page = pages(PHONE)
    page.goto("/")
    page.get_by_role("link", name="光荣榜", exact=True).click()
    page.get_by_label("单位").select_option(year.district)
    page.get_by_label("年度").select_option("2026")
    page.get_by_role("button", name="查看").click()
    roll = page.locator(f"section.honor-cycle[data-cycle='{cycle_id}']")
    expect(roll.locator(".winner .name")).to_have_text(["阿依古丽", "古丽娜"])
    expect(roll).to_contain_text("常年为社区各族居民做翻译")
    shoot(page, "honor-roll")

    code = candidates(city, cycle_id)["阿依古丽"]["certificate_code"]
    page.goto(f"/honors/verify/{code}")  # what the certificate's QR code opens
    expect(page.locator("#verdict")).to_have_text("✓ 有效证书")
    expect(page.locator("#certificate")).to_contain_text("阿依古丽")
    expect(page.locator("#certificate")).to_contain_text("2026年度 民族团结之星（光荣榜）")
    expect(page.locator("#certificate")).to_contain_text("北仑区")
    expect(page.locator("#certificate-pdf")).to_have_attribute(
        "href", f"/honors/certificates/{code}.pdf"
    )
    shoot(page, "certificate-valid")

    page.get_by_label("证书编号").fill("SL-2026-NOSUCHXX")
    page.get_by_role("button", name="验证").click()
    expect(page.locator("#verdict")).to_contain_text("没有这个编号的证书")
