"""Confirming hours with the form as it comes (issue 20 item 6): it offers check-in to check-out,
or the scheduled length (with that as the reason) where a check-out is missing, never 0; and the
answer names who was confirmed and who was left unconfirmed, and why."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from people import PASSWORD, account_id, bearer, resident, sign_in
from playwright.sync_api import expect
from sqlalchemy import select
from volunteering import FC, activity_payload

from events.envelope import utcnow
from services.common.app import service_context
from services.volunteers import operations
from services.volunteers.models import Attendance, UnitView

pytestmark = pytest.mark.browser


def _signed_up(live, activity_id: str, phone: str) -> None:
    answer = requests.post(
        f"{live.url}/api/v1/activities/{activity_id}/signups",
        json={},
        headers=bearer(live, phone, PASSWORD),
        timeout=10,
    )
    assert answer.status_code == 201, answer.text


def test_the_form_offers_sensible_hours_and_the_answer_names_everyone(live, desk, shoot):
    volunteers = service_context(live.platform.apps["volunteers"]).session_factory
    with volunteers() as session:
        fc = session.scalar(select(UnitView).where(UnitView.path == FC))
    activity = activity_payload(
        starts_in=timedelta(days=1), hours=4, title="确认时长演练", host_unit_id=fc.unit_id
    )
    activity_id = activity["activity_id"]
    with volunteers() as session, session.begin():
        operations.apply_activity_state(session, activity)
    people = {
        name: resident(live, phone, name)
        for phone, name in [
            ("13977770001", "古丽"),  # 2.5 hours from check-in to check-out
            ("13977770002", "巴特尔"),  # left ten minutes after checking in
            ("13977770003", "卓玛"),  # never checked out
            ("13977770004", "马兰"),  # never came
        ]
    }
    for index in range(1, 5):
        _signed_up(live, activity_id, f"1397777000{index}")
    # The activity began three hours ago; the organizer checked people in and out at the door.
    starts = utcnow().replace(microsecond=0) - timedelta(hours=3)
    moved = {**activity, "starts_at": starts, "ends_at": starts + timedelta(hours=4)}
    by = account_id(live, "organizer")
    with volunteers() as session, session.begin():
        operations.apply_activity_state(session, {**moved, "changes": ["starts_at", "ends_at"]})
        for name, out_after in (("古丽", 160), ("巴特尔", 15), ("卓玛", None)):
            arrived = starts + timedelta(minutes=5)
            operations.check_in(session, activity_id, people[name], by=by, now=arrived)
            if out_after:
                left = arrived + timedelta(minutes=out_after)
                operations.check_out(session, activity_id, people[name], by=by, now=left)

    page = desk
    sign_in(page, "organizer", "shiliu2026")
    page.goto(f"/volunteering/organize/{activity_id}/attendance")
    offered = {
        "古丽": ("2.5", ""),
        "巴特尔": ("", ""),  # never 0 by default
        "卓玛": ("4.0", "未签退，按活动时长计"),
        "马兰": ("", ""),
    }
    for name, (hours, reason) in offered.items():
        expect(page.get_by_label(f"时长（小时） · {name}")).to_have_value(hours)
        expect(page.get_by_label(f"原因 · {name}")).to_have_value(reason)
    shoot(page, "offered")

    page.get_by_role("button", name="确认时长").click()
    named = page.locator(".flash.success")
    expect(named).to_contain_text("新确认 2 人")
    expect(named).to_contain_text("古丽 2.5 小时")
    expect(named).to_contain_text("卓玛 4.0 小时")
    left = page.locator(".flash.warning")
    expect(left).to_contain_text("未确认 2 人")
    expect(left).to_contain_text("巴特尔（签到不足半小时，如确认 0 小时请填写 0）")
    expect(left).to_contain_text("马兰（未签到，可勾选缺席）")
    shoot(page, "answered")
    with volunteers() as session:
        hours = {
            r.volunteer_id: (r.status, r.hours)
            for r in session.scalars(
                select(Attendance).where(Attendance.activity_id == activity_id)
            )
        }
    assert {v: str(h) for v, (s, h) in hours.items() if s == "confirmed"} == {
        people["古丽"]: "2.5",
        people["卓玛"]: "4.0",
    }
