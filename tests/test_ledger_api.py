"""The ledger's API through the one base URL: a volunteer's points explained, standings,
adjustments needing a second administrator, versioned rules, the chain verified."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from backbone import wait_for
from ledger_support import confirmed, second_administrator
from sqlalchemy import select

from events import catalog
from services.common.app import service_context
from services.ledger.models import AuditEntry, VolunteerView
from services.ledger.operations import today

FC = "/nb/bl/xq/fc/"


def _activity(activity_id: str, title: str) -> object:
    example = catalog.get("activity.published").example
    payload = {**catalog.get("activity.published").load(example), "activity_id": activity_id}
    return catalog.make_event("activity.published", {**payload, "title": title}, producer="test")


def _ledger_knows(city, volunteer_id: str) -> bool:
    with service_context(city.apps["ledger"]).session_factory() as session:
        return session.get(VolunteerView, volunteer_id) is not None


def _balance(city, volunteer_id: str) -> int:
    return city.call("GET", f"/api/v1/ledger/volunteers/{volunteer_id}", "admin").get_json()[
        "balance"
    ]


@pytest.fixture(scope="module")
def points_city(city):
    """The demo city where three volunteers of 富春社区 have confirmed hours at 邻里节."""
    demo = city.account("13800000001").id
    others = [city.register(f"1390000000{n}", name=f"居民{n}").get_json()["id"] for n in (1, 2)]
    for volunteer in [demo, *others]:
        wait_for(lambda v=volunteer: _ledger_knows(city, v), message="the ledger to know them")
    city.deliver(
        [
            _activity("a-fest", "邻里节"),
            confirmed("at-demo", demo, "3.5", activity_id="a-fest"),
            confirmed("at-o1", others[0], "3.5", activity_id="a-fest"),
            confirmed("at-o2", others[1], "2", activity_id="a-fest"),
        ],
    )
    for volunteer in [demo, *others]:
        wait_for(lambda v=volunteer: _balance(city, v) > 0, message="the points to arrive")
    city.demo, city.others = demo, others
    return city


def test_a_volunteer_reads_their_points_with_every_row_explained(points_city):
    city = points_city

    def explained():
        body = city.call("GET", f"/api/v1/ledger/volunteers/{city.demo}", "13800000001").get_json()
        return body if body["entries"]["items"][0]["activity_title"] else None

    body = wait_for(explained, message="the activity title")
    assert (body["balance"], body["hours"], body["stars"]) == (40, 3.5, 0)  # hours are a number
    assert body["name"] == "阿依古丽"
    entry = body["entries"]["items"][0]
    assert entry["explanation"] == "3月8日 邻里节 3.5小时 × 10 + 5 = 40分"
    formula = {"hours": "3.5", "per_hour": 10, "weight": "", "base": 5}
    assert entry["explanation_message"] == {  # the row's own words as key and values
        "key": "{formula} = {points}分",
        "values": {
            "formula": {"key": "{hours}小时 × {per_hour}{weight} + {base}", "values": formula},
            "points": 40,
        },
    }
    assert (entry["kind"], entry["points"], entry["rule_version"]) == ("award", 40, 1)
    assert body["entries"]["total"] == 1 and body["entries"]["page"] == 1
    # Another volunteer may not read it; a bad page number is a 422 naming the field.
    city._tokens["13900000001"] = city.token("13900000001", "pomegranate8")
    other = city.call("GET", f"/api/v1/ledger/volunteers/{city.demo}", "13900000001")
    assert other.status_code == 403
    assert city.call("GET", f"/api/v1/ledger/volunteers/{city.demo}").status_code == 401
    bad = city.call("GET", f"/api/v1/ledger/volunteers/{city.demo}?page=0", "13800000001")
    assert bad.status_code == 422 and "page" in bad.get_json()["errors"]["query"]


def test_a_volunteer_s_stars_are_counted_at_the_ledger_s_thresholds(points_city):
    from services.ledger import operations

    ledger = service_context(points_city.apps["ledger"])
    assert ledger.settings.star_hours == (100, 300, 600, 1000, 1500)
    with ledger.session_factory() as session:
        body = operations.volunteer_ledger(session, points_city.demo, 1, 20, star_hours=(1, 3, 4))
    assert (body["hours"], body["stars"]) == ("3.5", 2)


def test_standings_rank_the_volunteers_of_a_unit_and_ties_share_a_rank(points_city):
    city = points_city
    unit = city.unit(FC).unit_id
    answer = city.call(
        "GET", f"/api/v1/ledger/standings?unit_id={unit}&from=2026-03-01&to=2026-03-31", "organizer"
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    items = answer.get_json()["items"]
    assert [(i["points"], i["rank"]) for i in items] == [(40, 1), (40, 1), (25, 3)]
    assert {i["volunteer_id"] for i in items[:2]} == {city.demo, city.others[0]}
    assert items[2]["name"] == "居民2"
    # Another period has nobody; a whole district reaches the community.
    april = city.call(
        "GET", f"/api/v1/ledger/standings?unit_id={unit}&from=2026-04-01&to=2026-04-30", "admin"
    )
    assert april.get_json()["items"] == []
    district = city.unit("/nb/bl/").unit_id
    assert (
        city.call(
            "GET", f"/api/v1/ledger/standings?unit_id={district}&from=2026-03-01", "committee"
        ).get_json()["total"]
        == 3
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-01", "unit_id"),
        ("unit_id=nowhere", "unit_id"),
        ("unit_id={unit}&from=2026-03-31&to=2026-03-01", "to"),
        ("unit_id={unit}&from=yesterday", "from"),
    ],
)
def test_bad_standings_queries_are_refused_naming_the_field(points_city, query, field):
    unit = points_city.unit(FC).unit_id
    answer = points_city.call(
        "GET", "/api/v1/ledger/standings?" + query.format(unit=unit), "organizer"
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)
    errors = answer.get_json()["errors"]
    assert field in errors.get("query", errors)


def test_an_adjustment_counts_only_once_a_second_administrator_approves_it(points_city):
    city = points_city
    second_administrator(city)
    before = _balance(city, city.demo)
    body = {"volunteer_id": city.demo, "points": 10, "reason": "协助翻译宣讲材料（补记）"}
    asked = city.call(
        "POST", "/api/v1/ledger/adjustments", "admin", json=body, headers={"Idempotency-Key": "k1"}
    )
    assert asked.status_code == 201, asked.get_data(as_text=True)
    again = city.call(
        "POST", "/api/v1/ledger/adjustments", "admin", json=body, headers={"Idempotency-Key": "k1"}
    )
    assert again.get_json()["id"] == asked.get_json()["id"]
    adjustment = asked.get_json()
    assert adjustment["status"] == "pending" and _balance(city, city.demo) == before

    pending = city.call("GET", "/api/v1/ledger/adjustments?status=pending", "admin-bl").get_json()
    assert [item["id"] for item in pending["items"]] == [adjustment["id"]]
    own = city.call("POST", f"/api/v1/ledger/adjustments/{adjustment['id']}/approve", "admin")
    assert own.status_code == 403
    assert own.get_json()["type"].endswith("second-admin-required")
    approved = city.call(
        "POST", f"/api/v1/ledger/adjustments/{adjustment['id']}/approve", "admin-bl"
    )
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.get_json()["status"] == "approved"
    assert _balance(city, city.demo) == before + 10
    twice = city.call("POST", f"/api/v1/ledger/adjustments/{adjustment['id']}/approve", "admin-bl")
    assert twice.status_code == 409

    rows = city.call("GET", f"/api/v1/ledger/volunteers/{city.demo}", "13800000001").get_json()
    newest = rows["entries"]["items"][0]
    assert newest["kind"] == "adjustment"
    assert newest["explanation"].endswith("人工调整 +10分：协助翻译宣讲材料（补记）")
    with service_context(city.apps["ledger"]).session_factory() as session:
        acts = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == adjustment["id"])
        ).all()
    assert acts == ["adjustment.requested", "adjustment.approved"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": 0, "reason": "无"}, "points"),
        ({"points": 5}, "reason"),
        ({"points": 5, "reason": "  "}, "reason"),
        ({"points": "五", "reason": "补记"}, "points"),
        ({"points": 5, "reason": "补记", "volunteer_id": "nobody"}, "volunteer_id"),
    ],
)
def test_bad_adjustments_are_refused_naming_the_field(points_city, body, field):
    answer = points_city.call(
        "POST",
        "/api/v1/ledger/adjustments",
        "admin",
        json={"volunteer_id": points_city.demo, **body},
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)
    errors = answer.get_json()["errors"]
    assert field in errors.get("json", errors)


def test_the_ledgers_creating_posts_honour_an_idempotency_key_as_every_api_does(points_city):
    city = points_city
    body = {"volunteer_id": city.demo, "points": 3, "reason": "重复提交也只记一次"}
    headers = {"Idempotency-Key": "ledger-once"}
    path = "/api/v1/ledger/adjustments"
    first = city.call("POST", path, "admin", json=body, headers=headers)
    again = city.call("POST", path, "admin", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.get_data(as_text=True)
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = city.call("POST", path, "admin", json={**body, "points": 4}, headers=headers)
    assert other.status_code == 422
    problem = other.get_json()
    assert problem["type"].endswith("idempotency-key-reused")
    assert problem["message"] == {"key": problem["detail"], "values": {}}


def test_an_administrator_adds_a_rule_version_from_a_future_date(points_city):
    city = points_city
    listed = city.call("GET", "/api/v1/ledger/rules").get_json()
    assert listed["current_version"] == 1
    assert listed["items"][-1]["attendance_base"] == 5
    assert listed["items"][-1]["max_hours"] == 8
    tomorrow = (today() + timedelta(days=1)).isoformat()
    added = city.call(
        "POST",
        "/api/v1/ledger/rules",
        "admin",
        json={"effective_from": tomorrow, "points_per_hour": 12, "note": "提高时长积分"},
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    assert (added.get_json()["version"], added.get_json()["points_per_hour"]) == (2, 12)
    assert city.call("GET", "/api/v1/ledger/rules").get_json()["current_version"] == 1
    for body, field in (
        ({"effective_from": date(2026, 1, 1).isoformat()}, "effective_from"),
        ({"effective_from": tomorrow, "max_hours": "2.3"}, "max_hours"),
        ({"effective_from": tomorrow, "daily_cap": 0}, "daily_cap"),
        ({}, "effective_from"),
    ):
        refused = city.call("POST", "/api/v1/ledger/rules", "admin", json=body)
        assert refused.status_code == 422, refused.get_data(as_text=True)
        errors = refused.get_json()["errors"]
        assert field in errors.get("json", errors)
    body = {"effective_from": tomorrow}
    assert city.call("POST", "/api/v1/ledger/rules", "admin-bl", json=body).status_code == 403


def test_an_administrator_verifies_the_chain(points_city):
    answer = points_city.call("GET", "/api/v1/ledger/verify", "admin")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["ok"] is True and body["problem"] is None and body["rows"] >= 4
    assert len(body["checksum"]) == 64


# ---- the pages ---------------------------------------------------------------------------


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_my_points_page_explains_every_row(points_city):
    page = points_city.page_client("13800000001").get("/points")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "3月8日 邻里节 3.5小时 × 10 + 5 = 40分" in html
    assert "★" in html or "☆" in html
    english = points_city.page_client("13800000001").get("/points?lang=en")
    assert "Mar 8 邻里节 3.5 hours × 10 + 5 = 40 points" in english.get_data(as_text=True)


def _rows():
    """Rows as the ledger writes them: the Chinese text, and the meaning of its own words."""
    from types import SimpleNamespace

    from events.messages import Message
    from services.ledger import rules as r
    from services.ledger.operations import REVERSAL_REASONS

    rule = SimpleNamespace(
        max_half_hours=16, points_per_hour=10, attendance_base=5, cross_group_bonus_percent=20
    )
    formula = r.attendance_points(rule, 6, weight=150, cross_group=True).formula
    reversal = Message(
        r.REVERSAL, {"reason": Message(REVERSAL_REASONS["correction"]), "points": "−40"}
    )
    return [
        (
            ("邻里节", r.award_explanation(formula, 60, 20, 60)),
            "3月8日 邻里节 (3小时 × 10 × 1.5 + 5) × 120%（三交加分） = 60分，当日上限60分，计20分",
            "Mar 8 邻里节 (3 hours × 10 × 1.5 + 5) × 120% (cross-group bonus) = 60 points,"
            " daily cap 60 points, counted 20 points",
        ),
        (
            ("30分钟快闪", reversal),  # a title keeps its words
            "3月8日 30分钟快闪 时长更正，冲销原记录 −40分",
            "Mar 8 30分钟快闪 Hours corrected, the original row reversed −40 points",
        ),
        (
            (None, Message(r.NO_SHOW, {"points": "−5"})),  # the ledger did not know the title
            "3月8日 活动 报名后缺席 −5分",
            "Mar 8 an activity No-show after signing up −5 points",
        ),
        (
            ("", Message(r.ADJUSTMENT, {"points": "+20", "reason": "补记翻译服务"})),
            "3月8日 人工调整 +20分：补记翻译服务",
            "Mar 8 Manual adjustment +20 points: 补记翻译服务",
        ),
    ]


@pytest.mark.parametrize(("entry", "chinese", "english"), _rows())
def test_an_explanation_reads_in_english_from_its_meaning(entry, chinese, english):
    from datetime import date

    from flask import Flask

    from services.ledger.models import LedgerEntry
    from services.ledger.operations import shown_explanation
    from web.i18n import init_app
    from web.pages_points import explanation

    title, words = entry
    stored = LedgerEntry(entry_date=date(2026, 3, 8), activity_id=None if title == "" else "a")
    stored.explanation = str(words)
    row = {"explanation": shown_explanation(stored, title), "activity_id": stored.activity_id}
    row |= {"activity_title": title or None, "date": "2026-03-08"}
    row["explanation_message"] = words.meaning()
    assert row["explanation"] == chinese  # the stored text is as it always was
    app = Flask(__name__)
    init_app(app)
    with app.test_request_context("/?lang=en"):
        assert explanation(row) == english
    with app.test_request_context("/"):
        assert explanation(row) == chinese


def test_the_standings_page_filters_by_unit_and_period(points_city):
    unit = points_city.unit(FC).unit_id
    client = points_city.page_client("organizer")
    page = client.get(f"/points/standings?unit_id={unit}&from=2026-03-01&to=2026-03-31")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "居民1" in html and "居民2" in html
    wrong = client.get(f"/points/standings?unit_id={unit}&from=2026-03-31&to=2026-03-01")
    assert wrong.status_code == 422 and 'data-field="to"' in wrong.get_data(as_text=True)


def test_a_city_administrator_adds_a_rule_version_on_the_rules_page(points_city):
    client = points_city.page_client("admin")
    form = client.get("/points/rules").get_data(as_text=True)
    assert "v1" in form and "effective_from" in form
    refused = client.post(
        "/points/rules", data={"csrf_token": _csrf(form), "effective_from": "2026-01-01"}
    )
    assert refused.status_code == 422
    assert "生效日期必须晚于今天" in refused.get_data(as_text=True)
    later_day = (today() + timedelta(days=3)).isoformat()
    saved = client.post(
        "/points/rules",
        data={"csrf_token": _csrf(form), "effective_from": later_day, "daily_cap": "120"},
    )
    assert saved.status_code == 302
    listed = client.get("/points/rules").get_data(as_text=True)
    assert later_day in listed and "120" in listed
    volunteer_view = points_city.page_client("13800000001").get("/points/rules")
    assert volunteer_view.status_code == 200
    assert 'name="effective_from"' not in volunteer_view.get_data(as_text=True)


def test_bad_input_is_answered_in_chinese_on_the_api_and_in_english_on_an_english_page(
    points_city,
):
    # marshmallow's own messages (a missing field, a wrong type, a length) speak Chinese too.
    answer = points_city.call(
        "POST",
        "/api/v1/ledger/adjustments",
        "admin",
        json={"points": "five", "reason": "理" * 201, "extra": 1},
    )
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["json"] == {
        "volunteer_id": ["必填"],
        "points": ["须为整数"],
        "reason": ["长度须在 2 到 200 之间"],
        "extra": ["没有这个字段"],
    }
    client = points_city.page_client("admin")
    form = client.get("/points/adjustments?lang=en").get_data(as_text=True)
    page = client.post(
        "/points/adjustments?lang=en",
        data={"csrf_token": _csrf(form), "volunteer_id": "13900000001", "points": "5000"}
        | {"reason": "补记"},
    )
    assert page.status_code == 422
    assert "Must be between -1000 and 1000" in page.get_data(as_text=True)


def test_adjustments_await_a_second_administrator_on_their_page(points_city):
    city = points_city
    client = city.page_client("admin")
    form = client.get("/points/adjustments").get_data(as_text=True)
    asked = client.post(
        "/points/adjustments",
        data={
            "csrf_token": _csrf(form),
            "volunteer_id": "13900000002",  # staff know a volunteer by their mobile number
            "points": "-3",
            "reason": "重复登记的时长",
        },
    )
    assert asked.status_code == 302
    mine = client.get("/points/adjustments").get_data(as_text=True)
    assert "重复登记的时长" in mine and "须由另一位管理员审批" in mine
    other = city.page_client("admin-bl")
    listed = other.get("/points/adjustments").get_data(as_text=True)
    pending = city.call("GET", "/api/v1/ledger/adjustments?status=pending", "admin").get_json()
    target = next(a for a in pending["items"] if a["reason"] == "重复登记的时长")
    assert target["volunteer_id"] == city.others[1]
    assert "市民宗局管理员" in listed and target["requested_by"] not in listed  # who asked, by name
    before = _balance(city, city.others[1])
    done = other.post(
        f"/points/adjustments/{target['id']}/approve", data={"csrf_token": _csrf(listed)}
    )
    assert done.status_code == 302
    assert _balance(city, city.others[1]) == before - 3
