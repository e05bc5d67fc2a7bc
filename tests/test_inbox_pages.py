"""The inbox on the pages (issue 21): the unread count on every page (and none when the
notifications service is away), the messages in the page's language with their city time,
opening one marks it read and lands on its activity, a reminder's 来不了了 cancels the sign-up
so the next on the waitlist gets the place (and is told), what one wants to be told, and the
administrators' page of outside deliveries."""

from __future__ import annotations

import re
import socket
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from inbox_support import (
    flashed,
    inbox,
    message_of,
    resident,
    sign_up,
    small_activity,
)
from tests_support import csrf

from events.settings import city_zone
from services.common.app import service_context
from services.notifications import channels, reminders


def _page(city, who: str, path: str, status: int = 200) -> str:
    answer = city.page_client(who).get(path)
    assert answer.status_code == status, (path, answer.status_code)
    return answer.get_data(as_text=True)


def _unread(city, who: str) -> int:
    return city.call("GET", "/api/v1/notifications/unread", who).get_json()["unread"]


def _badges(html: str) -> list[str]:
    return re.findall(r'class="badge" data-unread="(\d+)"', html)


def test_the_badge_counts_unread_messages_and_opening_one_lands_on_its_activity(city):
    amina = resident(city, "阿米娜")
    activity = small_activity(city, "消息测试·邻里节", capacity=5)
    sign_up(city, amina, activity)
    item = message_of(city, amina, "signup_confirmed", activity)
    assert _unread(city, amina) == 1

    html = _page(city, amina, "/activities")
    assert _badges(html) == ["1", "1"]  # in the header and on the phone's tab bar
    assert 'aria-label="消息（1 条未读）"' in html

    listed = _page(city, amina, "/inbox")
    entry = listed[listed.index(f'id="message-{item["id"]}"') :].split("</li>")[0]
    assert "message unread" in listed and "未读" in entry
    assert f"报名成功：「{activity['title']}」" in entry
    when = datetime.fromisoformat(item["created_at"]).astimezone(city_zone())
    assert when.strftime("%Y-%m-%d %H:%M") in entry  # the city's time, not UTC
    english = _page(city, amina, "/inbox?lang=en")
    assert f"Signed up: “{activity['title']}”" in english and "Mark all as read" in english

    opened = city.page_client(amina).get(f"/inbox/{item['id']}")
    assert opened.status_code == 302
    assert opened.headers["Location"] == f"/activities/{activity['id']}"
    assert _unread(city, amina) == 0
    after = _page(city, amina, "/activities")
    assert _badges(after) == [] and "条未读" not in after
    assert "message unread" not in _page(city, amina, "/inbox")
    # Someone else's message is not theirs to open.
    other = resident(city, "古丽")
    assert city.page_client(other).get(f"/inbox/{item['id']}").status_code == 404


def test_mark_all_read_and_the_unread_filter(city):
    bilal = resident(city, "比拉尔")
    for title in ("消息测试·普通话角", "消息测试·百家宴"):
        activity = small_activity(city, title, capacity=5)
        sign_up(city, bilal, activity)
        message_of(city, bilal, "signup_confirmed", activity)
    client = city.page_client(bilal)
    only_unread = client.get("/inbox?unread=1").get_data(as_text=True)
    assert only_unread.count('class="message unread') == 2
    done = client.post("/inbox/read-all", data={"csrf_token": csrf(only_unread)})
    assert done.status_code == 302
    assert "已全部标为已读" in flashed(client.get("/inbox").get_data(as_text=True))
    assert _unread(city, bilal) == 0
    assert "还没有未读消息" in _page(city, bilal, "/inbox?unread=1")
    assert _page(city, bilal, "/inbox").count('class="message') == 2


def _closed_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]  # closed again: nothing listens there


def test_without_the_notifications_service_pages_render_without_the_badge(city):
    who = resident(city, "卡米拉")
    message_of(city, who, "signup_confirmed", sign_up_somewhere(city, who))
    web = city.web
    apps = web.config["SHILIU_SERVICE_APPS"]
    kept, settings = apps.pop("notifications"), web.extensions["shiliu"].settings
    urls = {**settings.service_urls, "notifications": f"http://127.0.0.1:{_closed_port()}"}
    web.extensions["shiliu"].settings = replace(settings, service_urls=urls)
    try:
        html = _page(city, who, "/activities")
        assert _badges(html) == [] and ">消息<" in html  # the link stays, the count goes
        down = _page(city, who, "/inbox", status=503)
        assert "服务暂时无法访问，请稍后再试" in down
    finally:
        apps["notifications"] = kept
        web.extensions["shiliu"].settings = settings
    assert _badges(_page(city, who, "/activities")) == ["1", "1"]


def sign_up_somewhere(city, who: str) -> dict:
    activity = small_activity(city, "消息测试·法律咨询", capacity=5)
    sign_up(city, who, activity)
    return activity


def test_preferences_are_saved_and_essential_kinds_cannot_be_turned_off(city):
    who = resident(city, "迪丽")
    client = city.page_client(who)
    form = client.get("/inbox/preferences").get_data(as_text=True)
    promoted = re.search(r'<input type="checkbox" name="kinds" value="signup_promoted"[^>]*>', form)
    assert "checked disabled" in promoted.group(0) and "不能关闭" in form
    kinds = city.call("GET", "/api/v1/notifications/preferences", who).get_json()["kinds"]
    everything = [k["name"] for k in kinds]
    wanted = [k for k in everything if k != "hours_confirmed"]
    saved = client.post(
        "/inbox/preferences",
        data={"csrf_token": csrf(form), "kinds": wanted, "outside_channels": "1"},
    )
    assert saved.status_code == 302
    assert "消息设置已保存" in flashed(client.get("/inbox/preferences").get_data(as_text=True))
    chosen = city.call("GET", "/api/v1/notifications/preferences", who).get_json()
    assert chosen["muted_kinds"] == ["hours_confirmed"]
    assert chosen["quiet_at_night"] is False and chosen["outside_channels"] is True
    page = client.get("/inbox/preferences").get_data(as_text=True)
    assert not re.search(r'value="hours_confirmed" checked', page)
    assert re.search(r'name="outside_channels" value="1" checked', page)

    # A form without an essential kind asks to turn it off: refused, with the reason.
    refused = client.post(
        "/inbox/preferences",
        data={"csrf_token": csrf(form), "kinds": [k for k in wanted if k != "signup_promoted"]},
    )
    assert refused.status_code == 422
    assert "这些消息关系到你是否要到场，不能关闭：候补转正" in refused.get_data(as_text=True)
    after = city.call("GET", "/api/v1/notifications/preferences", who).get_json()
    assert after["muted_kinds"] == ["hours_confirmed"] and after["outside_channels"] is True


def _promotion(city, title: str) -> tuple[dict, str, str]:
    """An activity of one place: the first holds it, the second waits."""
    activity = small_activity(city, title, capacity=1, starts_in=timedelta(days=3))
    first, second = resident(city, "先报名的人"), resident(city, "候补的人")
    assert sign_up(city, first, activity)["status"] == "confirmed"
    assert sign_up(city, second, activity)["status"] == "waitlisted"
    return activity, first, second


def test_administrators_see_the_outside_deliveries_and_volunteers_are_refused(city):
    activity, first, second = _promotion(city, "消息测试·转正通知")
    cancelled = city.call("DELETE", f"/api/v1/activities/{activity['id']}/signups/me", first)
    assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
    message_of(city, second, "signup_promoted", activity)
    notifications = service_context(city.apps["notifications"]).session_factory
    assert channels.deliver_due(notifications, channels.LogAdapter()) >= 1

    page = _page(city, "admin", "/admin/notifications")
    assert "SHILIU_NOTIFY_ADAPTER=log" in page and "消息不会离开本机" in page
    row = page[page.index("候补的人") :].split("</tr>")[0]
    assert f"你已从候补转为正式报名：「{activity['title']}」" in row
    assert "已发送" in row and "✓" in row  # the attempt, with its time
    assert 'href="/admin/notifications"' in _page(city, "admin", "/admin/accounts")
    assert "候补的人" in _page(city, "admin", "/admin/notifications?state=sent")
    assert "候补的人" not in _page(city, "admin", "/admin/notifications?state=failed")
    assert "请选择待发送" in _page(city, "admin", "/admin/notifications?state=lost", status=400)
    assert "只有管理员" in _page(city, first, "/admin/notifications", status=403)


def _due(city, activity: dict) -> None:
    """The reminders of the activity come due: the clock an hour before its start."""
    notifications = service_context(city.apps["notifications"]).session_factory
    assert reminders.send_due(notifications, now=activity["starts_at"] - timedelta(hours=1)) >= 2


def test_a_reminder_answered_cant_come_gives_the_place_to_the_waitlist(city):
    activity, first, second = _promotion(city, "消息测试·提醒")
    message_of(city, first, "signup_confirmed", activity)  # its reminders are planned
    message_of(city, second, "signup_waitlisted", activity)
    _due(city, activity)
    reminder = message_of(city, first, "reminder_two_hours", activity)
    assert reminder["answerable"]
    client = city.page_client(first)
    listed = client.get("/inbox").get_data(as_text=True)
    entry = listed[listed.index(f'id="message-{reminder["id"]}"') :].split("</li>")[0]
    assert "两小时后开始" in entry and ">还会来<" in entry and ">来不了了<" in entry
    token = csrf(listed)
    answer = f"/inbox/{reminder['id']}/answer"
    assert client.post(answer, data={"csrf_token": token, "answer": "maybe"}).status_code == 400

    done = client.post(answer, data={"csrf_token": token, "answer": "not_coming"})
    assert done.status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    assert f"已取消你在「{activity['title']}」的报名，名额会让给候补的志愿者。谢谢你告诉我们" in (
        flashed(page)
    )
    mine = city.call("GET", f"/api/v1/activities/{activity['id']}/signups/me", first).get_json()
    assert mine["signup"] is None or mine["signup"]["status"] == "cancelled"
    theirs = city.call("GET", f"/api/v1/activities/{activity['id']}/signups/me", second)
    assert theirs.get_json()["signup"]["status"] == "confirmed"
    promoted = message_of(city, second, "signup_promoted", activity)
    assert promoted["link"] == f"/activities/{activity['id']}"
    answered = next(i for i in inbox(city, first)["items"] if i["id"] == reminder["id"])
    assert answered["answer"] == "not_coming" and not answered["answerable"]
    assert "你已回复：来不了了，报名已取消" in page

    again = client.post(answer, data={"csrf_token": token, "answer": "coming"})
    assert again.status_code == 302
    assert "这条提醒已经不能回复了：活动已开始或你已回复过" in flashed(
        client.get("/inbox").get_data(as_text=True)
    )


def test_a_reminder_answered_still_coming_keeps_the_place(city):
    activity = small_activity(city, "消息测试·还会来", capacity=2)
    who = resident(city, "努尔")
    sign_up(city, who, activity)
    message_of(city, who, "signup_confirmed", activity)  # its reminders are planned
    _due(city, activity)
    reminder = message_of(city, who, "reminder_day_before", activity)
    client = city.page_client(who)
    token = csrf(client.get("/inbox").get_data(as_text=True))
    done = client.post(
        f"/inbox/{reminder['id']}/answer", data={"csrf_token": token, "answer": "coming"}
    )
    assert done.status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    assert f"好的，到时见！你已回复还会来参加「{activity['title']}」" in flashed(page)
    assert "你已回复：还会来" in page
    mine = city.call("GET", f"/api/v1/activities/{activity['id']}/signups/me", who).get_json()
    assert mine["signup"]["status"] == "confirmed"
    answered = next(i for i in inbox(city, who)["items"] if i["id"] == reminder["id"])
    assert answered["answer"] == "coming" and answered["read_at"]


@pytest.fixture(autouse=True)
def _no_leftover_service_change(city):
    """Every test finds the notifications service in place (the outage test puts it back)."""
    yield
    assert "notifications" in city.web.config["SHILIU_SERVICE_APPS"]
