"""The points as people meet them beyond the staff's desk (issue 20 items 3 and 14): a volunteer
sees their own rank among their community by the names the honor roll shows, and a second
administrator rejects an adjustment with a reason, the decided ones listed with who and when."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import test_ledger_api
from ledger_support import second_administrator
from sqlalchemy import select
from test_ledger_api import _balance, _csrf

from services.common.app import service_context
from services.ledger.models import AuditEntry

# test_ledger_api's city with points at 邻里节, made anew for this module.
points_city = test_ledger_api.points_city


@pytest.fixture(scope="module")
def second_admin(points_city):
    """北仑区管理员 (admin-bl), who decides what the city's administrator asks for."""
    city = points_city
    second_administrator(city)
    return city


def test_a_volunteer_sees_their_own_rank_among_their_community_by_name_only(points_city):
    city = points_city
    city._tokens["13900000002"] = city.token("13900000002", "pomegranate8")
    march = "from=2026-03-01&to=2026-03-31"
    answer = city.call("GET", f"/api/v1/ledger/standings/community?{march}", "13900000002")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["unit_name"] == "富春社区" and body["total"] == 3
    assert body["mine"] == {"rank": 3, "points": 25}
    assert [(i["rank"], i["points"], i["me"]) for i in body["items"]] == [
        (1, 40, False),
        (1, 40, False),
        (3, 25, True),
    ]
    assert {i["name"] for i in body["items"]} == {"阿依古丽", "居民1", "居民2"}
    assert "volunteer_id" not in body["items"][0]  # names as on the honor roll, nothing else
    assert "1390000000" not in answer.get_data(as_text=True)  # no phone number
    # Their rank is theirs even when it is not on the page they read.
    second = city.call(
        "GET", f"/api/v1/ledger/standings/community?{march}&per_page=1&page=2", "13800000001"
    ).get_json()
    assert second["mine"] == {"rank": 1, "points": 40} and len(second["items"]) == 1
    # A period without points ranks nobody; staff have no community of their own here.
    april = city.call(
        "GET", "/api/v1/ledger/standings/community?from=2026-04-01&to=2026-04-30", "13800000001"
    ).get_json()
    assert (april["mine"], april["items"], april["total"]) == (None, [], 0)
    staff = city.call("GET", "/api/v1/ledger/standings/community", "organizer")
    assert staff.status_code == 404 and staff.get_json()["type"].endswith("not-a-volunteer")
    wrong = city.call(
        "GET", "/api/v1/ledger/standings/community?from=2026-03-31&to=2026-03-01", "13800000001"
    )
    assert wrong.status_code == 422 and "to" in wrong.get_json()["errors"]["query"]


def test_a_second_administrator_rejects_an_adjustment_with_a_reason_and_nothing_is_posted(
    second_admin,
):
    city = second_admin
    before = _balance(city, city.demo)
    body = {"volunteer_id": city.demo, "points": 50, "reason": "误报的服务时长"}
    adjustment = city.call("POST", "/api/v1/ledger/adjustments", "admin", json=body).get_json()
    path = f"/api/v1/ledger/adjustments/{adjustment['id']}/reject"
    own = city.call("POST", path, "admin", json={"reason": "撤回"})
    assert own.status_code == 403 and own.get_json()["type"].endswith("second-admin-required")
    for bad in ({}, {"reason": " "}, {"reason": "理" * 201}):
        refused = city.call("POST", path, "admin-bl", json=bad)
        assert refused.status_code == 422, refused.get_data(as_text=True)
        assert "reason" in refused.get_json()["errors"]["json"]
    rejected = city.call("POST", path, "admin-bl", json={"reason": "活动当天没有签到记录"})
    assert rejected.status_code == 200, rejected.get_data(as_text=True)
    answer = rejected.get_json()
    assert (answer["status"], answer["rejection_reason"]) == ("rejected", "活动当天没有签到记录")
    assert answer["rejected_by"] == city.account("admin-bl").id and answer["rejected_at"]
    assert answer["entry_id"] is None and _balance(city, city.demo) == before
    # Decided once: neither approved nor rejected again.
    approve = f"/api/v1/ledger/adjustments/{adjustment['id']}/approve"
    assert city.call("POST", approve, "admin-bl").status_code == 409
    assert city.call("POST", path, "admin-bl", json={"reason": "再次驳回"}).status_code == 409
    assert _balance(city, city.demo) == before
    decided = city.call("GET", "/api/v1/ledger/adjustments?status=decided", "admin").get_json()
    assert decided["items"][0]["id"] == adjustment["id"]  # the latest decision first
    assert {i["status"] for i in decided["items"]} <= {"approved", "rejected"}
    with service_context(city.apps["ledger"]).session_factory() as session:
        acts = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == adjustment["id"])
        ).all()
    assert acts == ["adjustment.requested", "adjustment.rejected"]


def test_a_volunteer_opening_the_standings_sees_their_rank_in_their_community(points_city):
    client = points_city.page_client("13900000001")
    mine = client.get("/points").get_data(as_text=True)  # their points lead there
    assert 'href="/points/standings"' in mine and "我在社区的排名" in mine
    page = client.get("/points/standings?from=2026-03-01&to=2026-03-31")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    assert "没有权限" not in html and "富春社区" in html
    assert re.search(r'id="my-rank"[^>]*>\s*第 1 名', html), html
    assert "阿依古丽" in html and "居民2" in html and "1380000" not in html
    assert html.count('class="me"') == 1  # their own row stands out
    english = client.get("/points/standings?from=2026-03-01&to=2026-03-31&lang=en")
    assert english.status_code == 200 and "Rank 1" in english.get_data(as_text=True)
    wrong = client.get("/points/standings?from=2026-03-31&to=2026-03-01")
    assert wrong.status_code == 422 and 'data-field="to"' in wrong.get_data(as_text=True)


def test_a_second_administrator_rejects_an_adjustment_on_its_page_and_the_history_shows_it(
    second_admin,
):
    city = second_admin
    body = {"volunteer_id": city.demo, "points": 6, "reason": "补记讲解岗位"}
    approved = city.call("POST", "/api/v1/ledger/adjustments", "admin", json=body).get_json()
    path = f"/api/v1/ledger/adjustments/{approved['id']}/approve"
    assert city.call("POST", path, "admin-bl").status_code == 200
    client = city.page_client("admin")
    form = client.get("/points/adjustments").get_data(as_text=True)
    client.post(
        "/points/adjustments",
        data={"csrf_token": _csrf(form), "volunteer_id": "13900000001", "points": "8"}
        | {"reason": "没有依据的加分"},
    )
    pending = city.call("GET", "/api/v1/ledger/adjustments?status=pending", "admin").get_json()
    target = next(a for a in pending["items"] if a["reason"] == "没有依据的加分")
    other = city.page_client("admin-bl")
    listed = other.get("/points/adjustments").get_data(as_text=True)
    assert f'action="/points/adjustments/{target["id"]}/reject"' in listed
    before = _balance(city, city.others[0])
    reject = f"/points/adjustments/{target['id']}/reject"
    empty = other.post(reject, data={"csrf_token": _csrf(listed), "reason": ""})
    assert empty.status_code == 422 and "请写明驳回原因" in empty.get_data(as_text=True)
    done = other.post(reject, data={"csrf_token": _csrf(listed), "reason": "不符合加分规定"})
    assert done.status_code == 302
    assert _balance(city, city.others[0]) == before
    page = other.get("/points/adjustments").get_data(as_text=True)
    history = page[page.index('id="history"') :]
    assert "没有依据的加分" in history and "不符合加分规定" in history and "已驳回" in history
    assert "北仑区管理员" in history and "市民宗局管理员" in history  # who asked, who decided
    assert "已批准" in history and "补记讲解岗位" in history  # the approved ones are there too
    decided = city.call("GET", "/api/v1/ledger/adjustments?status=rejected", "admin").get_json()
    when = next(a for a in decided["items"] if a["id"] == target["id"])["rejected_at"]
    shanghai = datetime.fromisoformat(when).astimezone(ZoneInfo("Asia/Shanghai"))
    assert shanghai.strftime("%Y-%m-%d %H:%M") in history  # in the city's time zone
    english = other.get("/points/adjustments?lang=en").get_data(as_text=True)
    assert "Rejected" in english and "Decided" in english
