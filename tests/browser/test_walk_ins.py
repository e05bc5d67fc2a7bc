"""Walk-ins are seen (issue 20 item 5): someone who checks in without a sign-up is on the
organizer's roster and counted on the live screen (and, once their hours are confirmed, among the
activities of their 我的活动: tests/browser/test_volunteering_journeys.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from people import resident, sign_in
from playwright.sync_api import expect
from sqlalchemy import select
from volunteering import FC, activity_payload

from services.common.app import service_context
from services.volunteers import operations, rules
from services.volunteers.models import ActivityView, UnitView

pytestmark = pytest.mark.browser


def test_a_walk_in_is_on_the_roster_and_counted_on_the_live_screen(live, desk, shoot):
    volunteers = service_context(live.platform.apps["volunteers"]).session_factory
    with volunteers() as session:
        fc = session.scalar(select(UnitView).where(UnitView.path == FC))
    activity = activity_payload(
        starts_in=-timedelta(minutes=10),
        title="普通话角（欢迎路过的邻居）",
        host_unit_id=fc.unit_id,
        walk_ins_allowed=True,
    )
    activity_id = activity["activity_id"]
    with volunteers() as session, session.begin():
        operations.apply_activity_state(session, activity)
    walker = resident(live, "13977770021", "努尔兰")
    sign_in(desk, "organizer", "shiliu2026")
    desk.clock.install()  # the screen's timers run on a clock the test can move on
    desk.goto(f"/volunteering/organize/{activity_id}/live")
    expect(desk.locator("#checked-in")).to_have_text("0")
    expect(desk.locator("#walked-in")).to_have_text("0")

    with volunteers() as session, session.begin():
        code, _ = operations.checkin_code(session.get(ActivityView, activity_id))
        operations.check_in(session, activity_id, walker, code=code)
    # The screen counts them at its next refresh (the code's next step), without a reload:
    # its clock is moved past the step rather than waited for.
    desk.clock.fast_forward((rules.CODE_STEP_SECONDS + 1) * 1000)
    expect(desk.locator("#walked-in")).to_have_text("1", timeout=40_000)
    expect(desk.locator("#checked-in")).to_have_text("1")
    shoot(desk, "live-screen-counts-walk-ins")

    desk.goto(f"/volunteering/organize/{activity_id}/roster")
    expect(desk.locator("#roster")).to_contain_text("还没有人报名")
    row = desk.locator("#walk-ins tbody tr", has_text="努尔兰")
    expect(row).to_be_visible()
    expect(desk.locator("#walk-ins-heading")).to_contain_text("· 1")
    shoot(desk, "roster-with-walk-ins")
