"""Attendance: the organizer's table, confirmed hours, no-shows, corrections with a reason, the
activity's aggregate (the only ethnicity-derived figures that leave volunteers), and the
volunteer-hours certificate."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from pdf_support import pdf_text, qr_codes
from pypdf import PdfReader
from volunteering import activity_payload

from events.envelope import utcnow
from services.volunteers import rules
from services.volunteers.models import ActivityView

GROUPS = ["汉族", "回族", "维吾尔族", "藏族", "蒙古族", "汉族", None]


def running_activity(desk, people: list[str], hour_weight: str | None = None, **overrides):
    """An activity signed up for a day ahead, then moved to have started ten minutes ago."""
    payload = activity_payload(**overrides)
    payload["shifts"][0]["hour_weight"] = hour_weight
    activity = desk.publish(payload)
    for volunteer in people:
        answer = desk.call(
            "POST", f"/api/v1/activities/{activity['activity_id']}/signups", volunteer, json={}
        )
        assert answer.status_code == 201
    starts = utcnow() - timedelta(minutes=10)
    moved = {**activity, "starts_at": starts, "ends_at": starts + timedelta(hours=3)}
    desk.publish({**moved, "changes": ["starts_at", "ends_at"]}, "activity.updated")
    return moved


def code(desk, activity) -> str:
    with desk.factory() as session:
        secret = session.get(ActivityView, activity["activity_id"]).checkin_secret
    return rules.current_code(secret, utcnow())[0]


def confirm(desk, activity, body, who="organizer"):
    return desk.call(
        "POST",
        f"/api/v1/activities/{activity['activity_id']}/attendance/confirm",
        who,
        organizer=who == "organizer",
        json=body,
    )


def test_the_organizer_confirms_hours_marks_no_shows_and_corrects_with_a_reason(desk):
    people = desk.volunteers(7, ethnicities=GROUPS)
    activity = running_activity(desk, people, hour_weight="1.50")
    attended, absent = people[:6], people[6]
    for volunteer in attended:
        answer = desk.call(
            "POST",
            f"/api/v1/activities/{activity['activity_id']}/checkins",
            volunteer,
            json={"code": code(desk, activity)},
        )
        assert answer.status_code == 201
    desk.call(
        "POST",
        f"/api/v1/activities/{activity['activity_id']}/checkouts",
        attended[0],
        json={"code": code(desk, activity)},
    )
    table = desk.call(
        "GET", f"/api/v1/activities/{activity['activity_id']}/attendance", "organizer", True
    ).get_json()
    rows = {row["volunteer_id"]: row for row in table["items"]}
    assert table["total"] == 7
    assert rows[attended[0]]["computed_hours"] == 0.0 and not rows[attended[0]]["missing_checkout"]
    assert (
        rows[attended[1]]["missing_checkout"] is True
        and rows[attended[1]]["computed_hours"] is None
    )
    assert rows[absent]["checked_in_at"] is None
    assert "ethnicity" not in str(table)

    # Hours that differ from the clock, or stand in for a missing check-out, need a reason.
    refused = confirm(
        desk,
        activity,
        {"entries": [{"volunteer_id": attended[1], "hours": "3"}], "no_shows": [attended[2]]},
    )
    assert refused.status_code == 400
    assert refused.get_json()["errors"] == {
        attended[1]: ["没有签退记录，填写时长须说明原因"],
        attended[2]: ["已签到，不能记为缺席"],
    }
    bad_step = confirm(desk, activity, {"entries": [{"volunteer_id": attended[1], "hours": "2.3"}]})
    assert bad_step.status_code == 422
    assert desk.events("attendance.confirmed") == []

    entries = [{"volunteer_id": attended[0], "hours": "0"}] + [
        {"volunteer_id": v, "hours": "3", "reason": "忘记签退，按活动时间计"} for v in attended[1:]
    ]
    answer = confirm(desk, activity, {"entries": entries, "no_shows": [absent]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {
        "activity_id": activity["activity_id"],
        "attendees": 6,
        "distinct_groups": 5,
        "cross_group": True,
        "confirmed": 6,
        "corrected": 0,
        "no_shows": 1,
    }
    confirmed = desk.events("attendance.confirmed")
    assert sorted(e["volunteer_id"] for e in confirmed) == sorted(attended)
    third = next(e for e in confirmed if e["volunteer_id"] == attended[2])
    assert third["hours"] == "3.0" and third["shift_weight"] == "1.50"
    assert third["cross_group"] is True and third["confirmed_by"] == "organizer"
    assert third["activity_date"] == rules.local_date(activity["starts_at"]).isoformat()
    assert [e["volunteer_id"] for e in desk.events("attendance.no_show")] == [absent]
    assert desk.events("attendance.summarized")[-1]["distinct_groups"] == 5

    # Repeating the same confirmation changes nothing; changing hours is a correction.
    again = confirm(desk, activity, {"entries": entries, "no_shows": [absent]}).get_json()
    assert (again["confirmed"], again["corrected"], again["no_shows"]) == (0, 0, 0)
    no_reason = confirm(
        desk, activity, {"entries": [{"volunteer_id": attended[2], "hours": "2.5"}]}
    )
    assert no_reason.get_json()["errors"] == {attended[2]: ["修改已确认的时长须说明原因"]}
    fixed = confirm(
        desk,
        activity,
        {"entries": [{"volunteer_id": attended[2], "hours": "2.5", "reason": "提前半小时离场"}]},
    )
    assert fixed.get_json()["corrected"] == 1
    (correction,) = desk.events("attendance.corrected")
    assert (correction["hours"], correction["previous_hours"], correction["reason"]) == (
        "2.5",
        "3.0",
        "提前半小时离场",
    )
    # Ethnicity never travels: not on any event, in any form.
    for event_type in ("attendance.confirmed", "attendance.summarized", "attendance.corrected"):
        for payload in desk.events(event_type):
            assert not any(group and group in str(payload) for group in GROUPS)

    hours = desk.call("GET", "/api/v1/volunteers/me/hours", attended[2]).get_json()
    assert hours["total_hours"] == 2.5 and hours["items"][0]["title"] == "三月邻里节"


def test_fewer_than_five_attendees_reveal_no_group_figures(desk):
    people = desk.volunteers(3, ethnicities=["汉族", "回族", "维吾尔族"])
    activity = running_activity(desk, people)
    entries = [{"volunteer_id": v, "hours": "2", "reason": "现场登记"} for v in people]
    body = confirm(desk, activity, {"entries": entries}).get_json()
    assert (body["attendees"], body["distinct_groups"], body["cross_group"]) == (3, None, False)
    assert all(e["cross_group"] is False for e in desk.events("attendance.confirmed"))


def test_only_attendees_who_consented_count_toward_the_five_group_figures_need(desk):
    """Issue 22: k ≥ 5 counts the attendees who gave their ethnicity, not all attendees: six came,
    four of them consented (four groups), so no group figure leaves the service."""
    people = desk.volunteers(6, ethnicities=["汉族", "回族", "维吾尔族", "藏族", None, None])
    activity = running_activity(desk, people)
    entries = [{"volunteer_id": v, "hours": "2", "reason": "现场登记"} for v in people]
    body = confirm(desk, activity, {"entries": entries}).get_json()
    assert (body["attendees"], body["distinct_groups"], body["cross_group"]) == (6, None, False)
    assert desk.events("attendance.summarized")[-1]["distinct_groups"] is None
    assert all(e["cross_group"] is False for e in desk.events("attendance.confirmed"))


def test_confirmation_waits_for_the_start_and_stops_at_closing(desk):
    (volunteer,) = desk.volunteers(1)
    later = desk.publish(activity_payload())
    early = confirm(desk, later, {"entries": [{"volunteer_id": volunteer, "hours": "1"}]})
    assert early.status_code == 409 and early.get_json()["detail"] == "活动开始后才能确认时长"
    activity = running_activity(desk, [volunteer])
    desk.publish({"activity_id": activity["activity_id"], "closed_at": utcnow()}, "activity.closed")
    closed = confirm(desk, activity, {"entries": [{"volunteer_id": volunteer, "hours": "1"}]})
    assert closed.status_code == 409
    assert closed.get_json()["detail"] == "活动已关闭，出勤记录已确定，不能再确认时长"
    assert confirm(desk, activity, {}, who=volunteer).status_code == 403


def test_a_volunteer_downloads_an_hours_certificate_that_anyone_can_verify(desk):
    (volunteer,) = desk.volunteers(1)
    assert desk.call("GET", "/api/v1/volunteers/me/certificate.pdf", volunteer).status_code == 409
    activity = running_activity(desk, [volunteer])
    confirm(
        desk,
        activity,
        {"entries": [{"volunteer_id": volunteer, "hours": "3.5", "reason": "按活动时间"}]},
    )
    answer = desk.call("GET", "/api/v1/volunteers/me/certificate.pdf", volunteer)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages)
    assert "志愿服务时长证明" in text
    assert "志愿者1" in text and "三月邻里节" in text and "3.5" in text
    assert "谁组织谁记录" in text
    code = text.split("验证编号：")[1].split()[0]
    assert code.startswith("SLH-")
    # The same records give the same certificate; anyone can check its code.
    again = desk.call("GET", "/api/v1/volunteers/me/certificate.pdf", volunteer)
    assert code in "".join(p.extract_text() for p in PdfReader(io.BytesIO(again.data)).pages)
    # Its verification address is whole (the configured public base URL), also as a QR code
    # that a phone opens, as on the 民族团结之星 certificate.
    url = f"{desk.settings.public_url}/volunteering/verify/{code}"
    assert url.startswith("http://127.0.0.1:8000/")  # the one base URL, by default
    assert url in pdf_text(answer.data).replace("\n", "")
    assert qr_codes(answer.data) == [url]
    checked = desk.client().get(f"/api/v1/hours-certificates/{code}").get_json()
    assert checked["display_name"] == "志愿者1" and checked["total_hours"] == 3.5
    assert checked["records"] == 1
    assert desk.client().get("/api/v1/hours-certificates/SLH-NOPE").status_code == 404


def test_documents_name_the_platform_by_its_configured_public_base_url():
    from events.settings import Settings

    assert Settings.from_env({}).public_url == "http://127.0.0.1:8000"
    configured = Settings.from_env({"SHILIU_PUBLIC_URL": "https://shiliu.example.cn/"})
    assert configured.public_url == "https://shiliu.example.cn"
    # `shiliu dev --port 9000` prints its own address unless one is configured.
    from infra.commands import served_settings

    assert served_settings("127.0.0.1", 9000, {}).public_url == "http://127.0.0.1:9000"
    assert served_settings("0.0.0.0", 8000, {}).public_url == "http://127.0.0.1:8000"
    told = served_settings("0.0.0.0", 9000, {"SHILIU_PUBLIC_URL": "https://shiliu.example.cn"})
    assert told.public_url == "https://shiliu.example.cn"


def test_group_aggregates_need_five_people_and_three_groups():
    assert rules.group_aggregate(4, 4) == (None, False)
    assert rules.group_aggregate(5, 2) == (2, False)
    assert rules.group_aggregate(5, 3) == (3, True)
    assert rules.is_half_hour_step(Decimal("2.5")) and not rules.is_half_hour_step(Decimal("2.4"))
