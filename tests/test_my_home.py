"""The "我的" home on one's own page (issue 20 items 15 and 17): confirmed hours and points,
stars and how far the next one is, the rank in one's community, the next activity, the
certificates, and hours by month drawn as SVG — each number the same as the services' own
answers; and the staff desk saying what waits for them."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from backbone import wait_for
from databases import one_engine
from sqlalchemy import func, select

from events.settings import city_zone
from events.store import consumed_events, outbox
from infra.dev import Platform
from infra.seed import seed_demo_history
from services.common.app import service_context

ATTENDANCE = ("attendance.confirmed", "attendance.corrected", "attendance.no_show")

AYGUL = "13800000001"


city_engine = one_engine("What the page shows does not depend on the database engine: SQLite only.")


@pytest.fixture(scope="module")
def past(city):
    """The demonstration city's last eight weeks, held as at `make run`; 阿依古丽's ledger."""
    assert seed_demo_history(city.apps, city.web, Platform._wait) > 0
    volunteer = city.account(AYGUL).id

    def settled() -> bool:
        """The ledger has applied every attendance event the volunteers service committed."""
        with service_context(city.apps["volunteers"]).session_factory() as session:
            produced = session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.event_type.in_(ATTENDANCE))
            )
        with service_context(city.apps["ledger"]).session_factory() as session:
            applied = session.scalar(
                select(func.count())
                .select_from(consumed_events)
                .where(consumed_events.c.event_type.in_(ATTENDANCE))
            )
        return produced == applied > 0

    wait_for(settled, timeout=60, message="the ledger to apply the whole history")
    return city.call("GET", f"/api/v1/ledger/volunteers/{volunteer}", AYGUL).get_json()


def _page(city, who: str, lang: str = "zh") -> str:
    answer = city.page_client(who).get(f"/me?lang={lang}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found, element_id
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_the_home_shows_what_the_ledger_and_the_volunteers_service_say(city, past):
    hours = city.call("GET", "/api/v1/volunteers/me/hours", AYGUL).get_json()
    html = _page(city, AYGUL)
    assert Decimal(_text(html, "home-hours")) == Decimal(str(hours["total_hours"])) > 0
    assert int(_text(html, "home-points")) == past["balance"] > 0
    shown = _text(html, "home-stars")
    assert shown.count("★") == past["stars"] and len(shown) == 5
    # The first star is at 100 hours: how far there is still to go, and the bar's share.
    to_go = Decimal(100) - Decimal(str(hours["total_hours"]))
    assert _text(html, "home-next-star") == f"距第 1 颗星（100 小时）还差 {to_go} 小时"
    percent = int(Decimal(str(hours["total_hours"])))
    assert f'<progress max="100" value="{percent}"' in html
    assert 'id="home-certificate"' in html
    # Their rank among their community this year, as the ledger ranks them.
    standing = city.call("GET", "/api/v1/ledger/standings/community", AYGUL).get_json()
    assert standing["mine"]["rank"] >= 1
    assert _text(html, "home-rank") == (
        f"今年在{standing['unit_name']}排第 {standing['mine']['rank']} 名 · 查看排名"
    )


def test_hours_by_month_are_the_confirmed_hours_of_each_month(city, past):
    records = city.call("GET", "/api/v1/volunteers/me/hours", AYGUL).get_json()["items"]
    expected: dict[str, Decimal] = {}
    for record in records:
        month = record["activity_date"][:7]
        expected[month] = expected.get(month, Decimal(0)) + Decimal(str(record["hours"]))
    html = _page(city, AYGUL)
    bars = dict(re.findall(r'data-month="(\d{4}-\d\d)" data-hours="([\d.]+)"', html))
    assert len(bars) == 12
    today = datetime.now(city_zone()).date()
    assert max(bars) == f"{today.year}-{today.month:02d}"  # this month last
    assert {m: Decimal(h) for m, h in bars.items() if Decimal(h)} == expected
    # The tallest bar is the month with the most hours; an empty month has no height.
    heights = dict(re.findall(r'data-month="(\d{4}-\d\d)".*?height="([\d.]+)"', html, re.S))
    busiest = max(expected, key=expected.get)
    assert float(heights[busiest]) == max(float(h) for h in heights.values()) > 0
    assert all(float(heights[m]) == 0 for m in bars if m not in expected)
    assert 'viewBox="0 0 360 150"' in html and "<script" not in html.split("hours-by-month")[1]
    english = _page(city, AYGUL, "en")
    month = date.fromisoformat(f"{busiest}-01")
    assert f"{month.month}/{month.year}: {expected[busiest]} hours" in english


def test_the_next_activity_is_the_soonest_one_ahead_with_a_place(city, past):
    upcoming = city.call("GET", "/api/v1/activities?status=published", AYGUL).get_json()["items"]
    ahead = sorted(
        (a for a in upcoming if a["starts_at"] > datetime.now(city_zone()).isoformat()),
        key=lambda a: a["starts_at"],
    )
    html = _page(city, AYGUL)
    assert "还没有报名的活动" in _text(html, "home-next-activity")
    later, sooner = ahead[1], ahead[0]
    for activity in (later, sooner):
        answer = city.call("POST", f"/api/v1/activities/{activity['id']}/signups", AYGUL, json={})
        assert answer.status_code == 201, answer.get_json()
    wait_for(
        lambda: sooner["title"] in _text(_page(city, AYGUL), "home-next-activity"),
        message="the sign-ups to show",
    )


def test_staff_without_a_volunteer_profile_see_their_page_without_a_home(city):
    html = _page(city, "admin")
    assert 'id="my-home"' not in html
    assert "我的资料" in html or "admin" in html


def test_an_administrator_s_desk_says_which_adjustments_wait_for_their_approval(city, past):
    """The demonstration's +20 for 阿依古丽, asked for by ``admin``, waits for a second
    administrator: on bl-admin's desk, not on admin's (who cannot approve their own)."""
    waiting = city.call("GET", "/api/v1/ledger/adjustments?status=pending", "bl-admin").get_json()
    assert waiting["total"] >= 1
    desk = city.page_client("bl-admin").get("/organize").get_data(as_text=True)
    assert _text(desk, "to-approve") == f"{waiting['total']} 项"
    assert 'href="/points/adjustments"' in desk
    own = city.page_client("admin").get("/organize").get_data(as_text=True)
    assert _text(own, "to-approve") == "没有"
    organizer = city.page_client("organizer").get("/organize").get_data(as_text=True)
    assert 'id="to-approve"' not in organizer
