"""Every route of every app, for every kind of caller: who may do what, and who may not.

Routes come from the apps' URL maps, so a new route without an entry here fails this test.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from awards_support import days_later as later
from awards_support import with_statement
from backbone import wait_for
from ledger_support import confirmed
from volunteering import city_activity, city_code, city_operation

from events import catalog
from infra.registry import PARTS
from services.common.app import service_context
from services.ledger.awards import operations as award_ops
from services.ledger.handlers import HANDLERS


@pytest.fixture(scope="module")
def city_engine() -> str:
    """Who may do what does not depend on the database: SQLite only, for speed."""
    return "sqlite"


PERSONAS = ("anonymous", "volunteer", "organizer_in", "organizer_out", "committee", "admin")
ACCOUNTS = {
    "anonymous": None,
    "volunteer": "13800000001",  # lives in 富春社区
    "organizer_in": "organizer",  # organizer of 富春社区
    "organizer_out": "organizer-hs",  # organizer of 横山社区, another street
    "committee": "committee",  # committee member of 北仑区
    "admin": "admin",  # administrator of 宁波市
}
_serial = itertools.count(1)


def every(status: int) -> dict[str, int]:
    return dict.fromkeys(PERSONAS, status)


def signed_in(status: int, anonymous: int = 401) -> dict[str, int]:
    return {**every(status), "anonymous": anonymous}


def admin_only(status: int, anonymous: int = 401, others: int = 403) -> dict[str, int]:
    return {**every(others), "anonymous": anonymous, "admin": status}


@dataclass
class Case:
    """One route: how to call it, and what each persona gets."""

    app: str
    method: str
    rule: str
    expect: dict[str, int]
    path: object = None  # a function of the city giving the concrete path
    body: object = None  # a function of the city giving a JSON body
    page: bool = False  # called through web's session instead of a bearer token
    extra: dict = field(default_factory=dict)


def organizers(status: int) -> dict[str, int]:
    """Organizers of the host unit (and administrators above it) may; nobody else."""
    return {**admin_only(status), "organizer_in": status}


def activity_body(city) -> dict:
    return {
        "title": "社区百家宴",
        "category": "festival",
        "dimensions": ["culture"],
        "host_unit_id": city.unit(FC).unit_id,
        "starts_at": "2031-03-10T06:00:00+00:00",
        "ends_at": "2031-03-10T09:00:00+00:00",
    }


def fresh_activity(city, status: str) -> str:
    """A new activity of the 富春社区 in the given status, made by the administrator."""
    admin = city.as_("admin")
    body = activity_body(city)
    if status in ("published", "completed"):  # already started, so it can be completed
        body.update(starts_at="2020-01-01T06:00:00+00:00", ends_at="2020-01-01T09:00:00+00:00")
    created = city.client.post("/api/v1/activities", headers=admin, json=body).get_json()
    steps = {"draft": [], "published": ["publish"], "completed": ["publish", "complete"]}[status]
    for step in steps:
        answer = city.client.post(f"/api/v1/activities/{created['id']}/{step}", headers=admin)
        assert answer.status_code == 200, answer.get_data(as_text=True)
    return created["id"]


def unit_id(path):
    return lambda city: city.unit(path).unit_id


def demo_volunteer(city):
    return city.account("13800000001").id


def activity_path(suffix: str = "", prepare=None, **overrides):
    """A path under a fresh activity of 富春社区 (prepared as the case needs)."""

    def make(city):
        activity = city_activity(city, **overrides)
        extra = prepare(city, activity) if prepare else None
        return f"/api/v1/activities/{activity['activity_id']}{suffix}".format(extra=extra)

    return make


def volunteer_signed_up(city, activity):
    return city_operation(city, "sign_up", activity["activity_id"], demo_volunteer(city)).id


def volunteer_checked_in(city, activity):
    volunteer_signed_up(city, activity)
    moved = {**activity, "starts_at": activity["starts_at"] - timedelta(days=2, minutes=10)}
    moved["ends_at"] = moved["starts_at"] + timedelta(hours=3)
    city_operation(city, "apply_activity_state", moved)
    city_operation(city, "check_in", activity["activity_id"], demo_volunteer(city), by="organizer")


def current_code(city):
    """A body with the live code of the activity in the case's path."""
    return {"code": city_code(city, {"activity_id": city.case_path.split("/")[4]})}


def certificate_code(city):
    activity = city_activity(city, starts_in=-timedelta(minutes=10), walk_ins_allowed=True)
    volunteer = demo_volunteer(city)
    city_operation(city, "check_in", activity["activity_id"], volunteer, by="organizer")
    entry = {"volunteer_id": volunteer, "hours": Decimal("2"), "reason": "矩阵测试"}
    city_operation(
        city, "confirm_attendance", activity["activity_id"], by="x", entries=[entry], no_shows=[]
    )
    return city_operation(city, "issue_certificate", volunteer)[0].code


def fresh_resident(city) -> str:
    """A newly registered volunteer of 富春社区 (for acts that change the whole account)."""
    return city.register(f"1370002{next(_serial):04d}").get_json()["id"]


def disabled_resident(city) -> str:
    """A newly registered volunteer of 富春社区, disabled by the city's administrator."""
    account_id = fresh_resident(city)
    answer = city.call(
        "POST", f"/api/v1/accounts/{account_id}/disable", "admin", json={"reason": "矩阵测试"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return account_id


def organize_path(page: str):
    """The path of an organizer's volunteering page of a fresh activity."""
    return lambda c: f"/volunteering/organize/{city_activity(c)['activity_id']}/{page}"


# ---- award cycles ------------------------------------------------------------------------
# Candidates come from ledger rows that the fixture writes through the ledger's own handler:
# the demo volunteer 25 points, two residents 15 each (a tie when two places are left).


@contextmanager
def days_later(days: int):
    """Let the awards' calendar run on for a moment (publishing waits for the notice's end)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        later(monkeypatch, days)
        yield


def award_cycle(city, state: str = "open", quota: int = 1) -> str:
    """A cycle of 北仑区 judged by the demo committee member alone, brought to ``state``."""
    year = award_ops.today().year
    body = {
        "title": f"矩阵评选{next(_serial)}",
        "unit_id": city.unit("/nb/bl/").unit_id,
        "period_start": f"{year}-01-01",
        "period_end": f"{year}-12-31",
        "criteria": {"min_points": 0, "min_activities": 1, "min_dimensions": 0, "max_no_shows": 5},
        "quota": quota,
        "committee": [city.account("committee").id],
        "quorum": 1,
        "majority": 0.5,
        "notice_days": 1,
    }
    created = city.call("POST", "/api/v1/award-cycles", "committee", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    base = f"/api/v1/award-cycles/{created.get_json()['id']}"
    steps = {
        "draft": [],
        "open": ["open"],
        "voted": ["open", "approve"],
        "notice": ["open", "approve", "notice"],
        "objected": ["open", "approve", "notice", "object"],
        "upheld": ["open", "approve", "notice", "object", "uphold"],
        "published": ["open", "approve", "notice", "publish"],
    }[state]
    for step in steps:
        if step == "approve":
            for candidate in city.call("GET", f"{base}/candidates", "committee").get_json()[
                "items"
            ]:
                vote = {"candidate_id": candidate["candidate_id"], "decision": "approve"}
                city.call("POST", f"{base}/votes", "committee", json=vote)
            continue
        if step == "object":
            winner = city.call("GET", base, "committee").get_json()["winners"][0]
            objection = {"candidate_id": winner, "reason": "矩阵测试提出的异议"}
            city.objection = city.call("POST", f"{base}/objections", "admin", json=objection)
            continue
        if step == "uphold":
            decision = {"decision": "uphold", "reason": "矩阵测试"}
            oid = city.objection.get_json()["id"]
            city.call("POST", f"{base}/objections/{oid}/decision", "committee", json=decision)
            continue
        with days_later(2 if step == "publish" else 0):
            answer = city.call("POST", f"{base}/{step}", "committee")
        assert answer.status_code == 200, (step, answer.get_data(as_text=True))
    return base


def cycle_path(state: str = "open", suffix: str = "", quota: int = 1):
    """The path of (something under) a fresh cycle in a state."""
    return lambda c: award_cycle(c, state, quota) + suffix


def case_cycle(city) -> str:
    return "/".join(city.case_path.split("/")[:5])


def first_candidate(city) -> str:
    listed = city.call("GET", f"{case_cycle(city)}/candidates", "committee").get_json()["items"]
    return listed[0]["candidate_id"]


def voted_path(city) -> str:
    base = award_cycle(city, "open")
    city.case_path = base
    vote = {"candidate_id": first_candidate(city), "decision": "approve"}
    city.call("POST", f"{base}/votes", "committee", json=vote)
    return f"{base}/votes/{vote['candidate_id']}"


def objection_path(city) -> str:
    base = award_cycle(city, "objected")
    return f"{base}/objections/{city.objection.get_json()['id']}/decision"


def certificate(city) -> str:
    base = award_cycle(city, "published")
    return city.call("GET", f"{base}/candidates", "committee").get_json()["items"][0][
        "certificate_code"
    ]


CYCLE_READERS = {**signed_in(200), "volunteer": 404}  # staff of the district's branch, members
CYCLE_RUNNERS = {**admin_only(200), "committee": 200}  # its committee, administrators above


def page_cycle(city, stage: str) -> str:
    """The id of one cycle per stage for the page cases (made once, then reused)."""
    made = city.__dict__.setdefault("page_cycles", {})
    if stage not in made:
        made[stage] = award_cycle(city, stage).rsplit("/", 1)[-1]
    return made[stage]


def award_certificate(city) -> str:
    """A certificate code of the published page cycle."""
    listed = city.call(
        "GET", f"/api/v1/award-cycles/{page_cycle(city, 'published')}/candidates", "committee"
    )
    return next(c["certificate_code"] for c in listed.get_json()["items"] if c["certificate_code"])


ORGANIZERS_ONLY = {**admin_only(200), "organizer_in": 200}
UNIT_ORGANIZER_PAGES = {**ORGANIZERS_ONLY, "anonymous": 302}  # only the host unit's organizers
SOON = timedelta(minutes=10)


FC, XQ, SH = "/nb/bl/xq/fc/", "/nb/bl/xq/", "/nb/bl/xq/sh/"
PAGES_NEEDING_SIGN_IN = signed_in(200, anonymous=302)
ADMIN_PAGES = admin_only(200, anonymous=302)
CSRF_REFUSED = every(400)
ORGANIZER_PAGES = {
    **ADMIN_PAGES,
    "organizer_in": 200,
    "organizer_out": 200,
}  # a form posted without its CSRF token changes nothing
# A cycle of 北仑区: its committee and every staff member of the district's branch see it; to
# anyone else it does not exist.
CYCLE_PAGES = {**PAGES_NEEDING_SIGN_IN, "volunteer": 404}

CASES = [
    # Health and metrics hold no personal data; operators keep /metrics inside their network.
    *[
        Case(app, "GET", rule, every(200))
        for app in PARTS
        for rule in ("/healthz", "/readyz", "/metrics")
    ],
    # Every part's readiness, the gateway's /readyz (web asks the services).
    Case("web", "GET", "/readyz/parts", every(200)),
    # services/activities
    Case("activities", "GET", "/api/v1/units", every(200)),
    Case(
        "activities",
        "POST",
        "/api/v1/units",
        admin_only(201),
        body=lambda c: {
            "name": f"新建社区{next(_serial)}",
            "kind": "community",
            "parent_id": c.unit(XQ).unit_id,
        },
    ),
    Case(
        "activities",
        "PATCH",
        "/api/v1/units/<unit_id>",
        admin_only(200),
        path=lambda c: f"/api/v1/units/{c.unit(SH).unit_id}",
        body=lambda c: {"name": f"松花江社区{next(_serial)}"},
    ),
    Case(
        "activities", "POST", "/api/v1/activities", organizers(201), body=lambda c: activity_body(c)
    ),
    Case("activities", "GET", "/api/v1/activities", every(200)),
    Case(
        "activities",
        "GET",
        "/api/v1/activities/<activity_id>",
        every(200),
        path=lambda c: f"/api/v1/activities/{fresh_activity(c, 'published')}",
    ),
    Case(
        "activities",
        "PATCH",
        "/api/v1/activities/<activity_id>",
        organizers(200),
        path=lambda c: f"/api/v1/activities/{fresh_activity(c, 'draft')}",
        body=lambda c: {"title": "改过的标题"},
    ),
    *[
        Case(
            "activities",
            "POST",
            f"/api/v1/activities/<activity_id>/{step}",
            organizers(200),
            path=lambda c, step=step, status=status: (
                f"/api/v1/activities/{fresh_activity(c, status)}/{step}"
            ),
            body=(lambda c: {"reason": "天气原因"}) if step == "cancel" else None,
        )
        for step, status in (
            ("publish", "draft"),
            ("cancel", "published"),
            ("complete", "published"),
            ("close", "completed"),
        )
    ],
    Case(
        "activities",
        "POST",
        "/api/v1/activities/<activity_id>/copy",
        organizers(201),
        path=lambda c: f"/api/v1/activities/{fresh_activity(c, 'published')}/copy",
        body=lambda c: {
            "starts_at": "2031-05-01T06:00:00+00:00",
            "ends_at": "2031-05-01T09:00:00+00:00",
        },
    ),
    # services/volunteers
    Case(
        "volunteers",
        "PUT",
        "/api/v1/volunteers/<volunteer_id>",
        {**every(403), "anonymous": 401},
        path=lambda c: f"/api/v1/volunteers/{demo_volunteer(c)}",
        body=lambda c: {"display_name": "冒名", "home_unit_id": c.unit(FC).unit_id},
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/volunteers/<volunteer_id>",
        {**signed_in(200), "organizer_out": 403},
        path=lambda c: f"/api/v1/volunteers/{demo_volunteer(c)}",
    ),
    Case("volunteers", "GET", "/api/v1/volunteers", {**signed_in(200), "volunteer": 403}),
    # services/volunteers: sign-up, check-in, attendance (staff accounts have no volunteer
    # profile, so they cannot sign up or check in for themselves)
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/signups",
        {**signed_in(409), "volunteer": 201},
        path=activity_path("/signups"),
        body=lambda c: {},
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/activities/<activity_id>/signups/me",
        signed_in(200),
        path=activity_path("/signups/me"),
    ),
    Case(
        "volunteers",
        "DELETE",
        "/api/v1/activities/<activity_id>/signups/me",
        {**signed_in(404), "volunteer": 200},
        path=activity_path("/signups/me", prepare=volunteer_signed_up),
    ),
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/signups/<signup_id>/removal",
        ORGANIZERS_ONLY,
        path=activity_path("/signups/{extra}/removal", prepare=volunteer_signed_up),
        body=lambda c: {"reason": "测试移出"},
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/activities/<activity_id>/signups",
        ORGANIZERS_ONLY,
        path=activity_path("/signups"),
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/activities/<activity_id>/checkin-code",
        ORGANIZERS_ONLY,
        path=activity_path("/checkin-code", starts_in=SOON),
    ),
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/checkins",
        {**signed_in(409), "volunteer": 201},
        path=activity_path("/checkins", starts_in=SOON, walk_ins_allowed=True),
        body=current_code,
    ),
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/checkouts",
        {**signed_in(409), "volunteer": 200},
        path=activity_path("/checkouts", prepare=volunteer_checked_in),
        body=current_code,
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/activities/<activity_id>/attendance",
        ORGANIZERS_ONLY,
        path=activity_path("/attendance"),
    ),
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/attendance/confirm",
        ORGANIZERS_ONLY,
        path=activity_path("/attendance/confirm", starts_in=-SOON),
        body=lambda c: {"entries": [], "no_shows": []},
    ),
    Case("volunteers", "GET", "/api/v1/volunteers/me/signups", signed_in(200)),
    Case("volunteers", "GET", "/api/v1/volunteers/me/hours", signed_in(200)),
    Case(
        "volunteers",
        "GET",
        "/api/v1/volunteers/me/certificate.pdf",
        {**signed_in(404), "volunteer": 200},  # staff have no volunteer profile
        path=lambda c: (certificate_code(c), "/api/v1/volunteers/me/certificate.pdf")[1],
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/hours-certificates/<code>",
        every(200),
        path=lambda c: f"/api/v1/hours-certificates/{certificate_code(c)}",
    ),
    # services/ledger
    Case(
        "ledger",
        "GET",
        "/api/v1/ledger/volunteers/<volunteer_id>",
        {**signed_in(200), "organizer_out": 403},
        path=lambda c: f"/api/v1/ledger/volunteers/{demo_volunteer(c)}",
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/ledger/standings",
        {**signed_in(200), "volunteer": 403, "organizer_out": 403},
        path=lambda c: f"/api/v1/ledger/standings?unit_id={c.unit(FC).unit_id}",
    ),
    Case("ledger", "GET", "/api/v1/ledger/verify", admin_only(200)),
    Case("ledger", "GET", "/api/v1/ledger/adjustments", admin_only(200)),
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments",
        admin_only(201),
        body=lambda c: {"volunteer_id": demo_volunteer(c), "points": 2, "reason": "补记签到"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments/<adjustment_id>/approve",
        admin_only(200),
        path=lambda c: f"/api/v1/ledger/adjustments/{c.adjustment_to_approve}/approve",
    ),
    Case("ledger", "GET", "/api/v1/ledger/rules", every(200)),
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/rules",
        admin_only(201),
        body=lambda c: {"effective_from": (date.today() + timedelta(days=2)).isoformat()},
    ),
    # services/ledger: award cycles
    Case("ledger", "GET", "/api/v1/award-cycles", signed_in(200)),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles",
        {**admin_only(201), "committee": 201},
        body=lambda c: with_statement(
            c,
            {
                "title": "2026年度 民族团结之星",
                "unit_id": c.unit("/nb/bl/").unit_id,
                "period_start": "2026-01-01",
                "period_end": "2026-12-31",
                "quota": 3,
                "committee": [c.account("committee").id],
                "quorum": 1,
            },
        ),
    ),
    Case("ledger", "GET", "/api/v1/award-cycles/<cycle_id>", CYCLE_READERS, path=cycle_path()),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/open",
        CYCLE_RUNNERS,
        path=cycle_path("draft", "/open"),
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/candidates",
        CYCLE_READERS,
        path=cycle_path("open", "/candidates"),
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/nominations",
        {**CYCLE_READERS, "organizer_out": 403},  # only staff over the candidate's community
        path=cycle_path("open", "/nominations"),
        body=lambda c: {"volunteer_id": demo_volunteer(c), "story": "多年坚持为各族邻居义务翻译。"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/votes",
        {**admin_only(403), "committee": 201},  # members only, administrators too
        path=cycle_path("open", "/votes"),
        body=lambda c: {"candidate_id": first_candidate(c), "decision": "approve"},
    ),
    Case(
        "ledger",
        "PUT",
        "/api/v1/award-cycles/<cycle_id>/votes/<candidate_id>",
        {**admin_only(403), "committee": 200},
        path=voted_path,
        body=lambda c: {"decision": "abstain", "comment": "再想想"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/recusals",
        {**admin_only(403), "committee": 201},
        path=cycle_path("open", "/recusals"),
        body=lambda c: {"candidate_id": first_candidate(c), "reason": "亲属关系"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/tie-break",
        CYCLE_RUNNERS,
        path=cycle_path("voted", "/tie-break", quota=2),
        body=lambda c: {
            "candidate_ids": [c.call("GET", case_cycle(c), "committee").get_json()["tie"][0]],
            "reason": "服务时长相同，按报名先后",
        },
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/notice",
        CYCLE_RUNNERS,
        path=cycle_path("voted", "/notice"),
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/notice",
        every(200),
        path=cycle_path("notice", "/notice"),
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/objections",
        CYCLE_READERS,
        path=cycle_path("notice", "/objections"),
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/objections",
        signed_in(201),
        path=cycle_path("notice", "/objections"),
        body=lambda c: {
            "candidate_id": c.call("GET", case_cycle(c), "committee").get_json()["winners"][0],
            "reason": "请核实服务时长",
        },
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/objections/<objection_id>/decision",
        CYCLE_RUNNERS,
        path=objection_path,
        body=lambda c: {"decision": "dismiss", "reason": "经核实，时长无误"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/proposals",
        CYCLE_RUNNERS,
        path=cycle_path("upheld", "/proposals"),
        body=lambda c: {
            "candidate_id": c.call("GET", case_cycle(c), "committee").get_json()["next_in_rank"]
        },
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/publish",
        {**CYCLE_RUNNERS, "committee": 409, "admin": 409},  # allowed, once the notice is over
        path=cycle_path("notice", "/publish"),
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/revoke",
        CYCLE_RUNNERS,
        path=cycle_path("published", "/revoke"),
        body=lambda c: {"reason": "评选程序有误，全部撤销"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/cancel",
        CYCLE_RUNNERS,
        path=cycle_path("open", "/cancel"),
        body=lambda c: {"reason": "重新发起"},
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/audit",
        CYCLE_READERS,
        path=cycle_path("open", "/audit"),
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/export.xlsx",
        CYCLE_READERS,
        path=cycle_path("voted", "/export.xlsx"),
    ),
    Case("ledger", "GET", "/api/v1/award-notices", every(200)),
    Case(
        "ledger",
        "GET",
        "/api/v1/honor-roll",
        every(200),
        path=lambda c: f"/api/v1/honor-roll?unit_id={c.unit('/nb/bl/').unit_id}",
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/certificates/<code>",
        every(200),
        path=lambda c: f"/api/v1/certificates/{certificate(c)}",
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/certificates/<code>/pdf",
        every(200),
        path=lambda c: f"/api/v1/certificates/{certificate(c)}/pdf",
    ),
    Case("ledger", "GET", "/api/v1/award-certificates/mine", signed_in(200)),
    # web: JSON API
    Case(
        "web",
        "POST",
        "/api/v1/auth/token",
        every(200),
        body=lambda c: {"username": "13800000001", "password": "shiliu2026"},
    ),
    # Anyone may spend a refresh token; one that was never issued is refused for everyone.
    Case(
        "web",
        "POST",
        "/api/v1/auth/refresh",
        every(401),
        body=lambda c: {"refresh_token": "never-issued"},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/auth/staff-statement",
        {**admin_only(200), "committee": 200},
        body=lambda c: {"account_ids": [c.account("committee").id]},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/accounts",
        every(201),
        body=lambda c: {
            "phone": f"1370000{next(_serial):04d}",
            "password": "pomegranate8",
            "name": "新居民",
            "home_unit_id": c.unit(FC).unit_id,
        },
    ),
    Case("web", "GET", "/api/v1/me", signed_in(200)),
    Case(
        "web",
        "PATCH",
        "/api/v1/me",
        {**signed_in(400), "volunteer": 200},
        body=lambda c: {"languages": ["普通话"]},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/me/password",
        signed_in(400),
        body=lambda c: {"current_password": "not-mine-1", "new_password": "whatever2026"},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/staff",
        admin_only(201),
        body=lambda c: {
            "username": f"staff{next(_serial)}",
            "name": "社工",
            "password": "helper2026",
            "role": "organizer",
            "unit_id": c.unit(FC).unit_id,
        },
    ),
    Case("web", "GET", "/api/v1/accounts", admin_only(200)),
    Case(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/roles",
        admin_only(201),
        path=lambda c: f"/api/v1/accounts/{c.resident}/roles",
        body=lambda c: {"role": "committee", "unit_id": c.unit(FC).unit_id},
    ),
    Case(
        "web",
        "DELETE",
        "/api/v1/accounts/<account_id>/roles/<int:grant_id>",
        admin_only(204),
        path=lambda c: f"/api/v1/accounts/{c.resident}/roles/{c.grant_to_revoke}",
    ),
    # Account care: each call disables (or enables) an account of its own.
    Case(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/disable",
        admin_only(200),
        path=lambda c: f"/api/v1/accounts/{fresh_resident(c)}/disable",
        body=lambda c: {"reason": "矩阵测试"},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/enable",
        admin_only(200),
        path=lambda c: f"/api/v1/accounts/{disabled_resident(c)}/enable",
    ),
    Case(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/password-reset",
        admin_only(201),
        path=lambda c: f"/api/v1/accounts/{c.resident}/password-reset",
    ),
    # Anyone may set a password with a code; a code that was never issued is refused for all.
    Case(
        "web",
        "POST",
        "/api/v1/auth/password-reset",
        every(400),
        body=lambda c: {
            "username": "13700000000",
            "code": "ABCDE-FGHJK",
            "new_password": "a1b2c3d4e5",
        },
    ),
    # Anyone may ask for a code by SMS, and everyone gets the same answer.
    Case(
        "web",
        "POST",
        "/api/v1/auth/password-forgot",
        every(202),
        body=lambda c: {"username": f"1370001{next(_serial):04d}"},
    ),
    Case("web", "GET", "/api/v1/audit", admin_only(200)),
    Case("web", "GET", "/api/v1/openapi.json", every(200)),
    Case("web", "GET", "/api/v1/docs/", every(200), page=True),
    Case(
        "web",
        "GET",
        "/api/v1/docs/<path:path>",
        every(200),
        page=True,
        path=lambda c: "/api/v1/docs/swagger-ui.css",
    ),
    # web: pages
    Case("web", "GET", "/", every(200), page=True),
    Case("web", "GET", "/favicon.ico", every(301), page=True),
    Case("web", "GET", "/register", every(200), page=True),
    Case("web", "POST", "/register", CSRF_REFUSED, page=True),
    Case("web", "GET", "/login", every(200), page=True),
    Case("web", "POST", "/login", CSRF_REFUSED, page=True),
    Case("web", "POST", "/logout", CSRF_REFUSED, page=True),
    Case("web", "GET", "/me", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/me", CSRF_REFUSED, page=True),
    Case("web", "GET", "/me/password", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/me/password", CSRF_REFUSED, page=True),
    Case("web", "GET", "/admin/units", ADMIN_PAGES, page=True),
    Case("web", "POST", "/admin/units", CSRF_REFUSED, page=True),
    Case("web", "GET", "/admin/accounts", ADMIN_PAGES, page=True),
    Case("web", "POST", "/admin/accounts", CSRF_REFUSED, page=True),
    Case(
        "web",
        "GET",
        "/admin/accounts/<account_id>",
        ADMIN_PAGES,
        page=True,
        path=lambda c: f"/admin/accounts/{demo_volunteer(c)}",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{demo_volunteer(c)}",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>/roles/<int:grant_id>/revoke",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{c.resident}/roles/{c.grant_to_revoke}/revoke",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>/disable",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{c.resident}/disable",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>/enable",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{c.resident}/enable",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>/password-reset",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{c.resident}/password-reset",
    ),
    Case("web", "GET", "/admin/sms", ADMIN_PAGES, page=True),
    Case("web", "GET", "/password/forgot", every(200), page=True),
    Case("web", "POST", "/password/forgot", CSRF_REFUSED, page=True),
    Case("web", "GET", "/password/reset", every(200), page=True),
    Case("web", "POST", "/password/reset", CSRF_REFUSED, page=True),
    Case("web", "GET", "/admin/audit", ADMIN_PAGES, page=True),
    Case("web", "GET", "/activities", every(200), page=True),
    Case(
        "web",
        "GET",
        "/activities/<activity_id>",
        every(200),
        page=True,
        path=lambda c: f"/activities/{fresh_activity(c, 'published')}",
    ),
    Case("web", "GET", "/organize", ORGANIZER_PAGES, page=True),
    Case("web", "GET", "/organize/activities/new", ORGANIZER_PAGES, page=True),
    Case("web", "POST", "/organize/activities/new", CSRF_REFUSED, page=True),
    *[
        Case(
            "web",
            "GET",
            # Another unit's draft does not exist for an organizer outside it.
            rule,
            {**ORGANIZER_PAGES, "organizer_out": 404},
            page=True,
            path=lambda c, rule=rule: rule.replace("<activity_id>", fresh_activity(c, "draft")),
        )
        for rule in (
            "/organize/activities/<activity_id>",
            "/organize/activities/<activity_id>/edit",
        )
    ],
    Case(
        "web",
        "POST",
        "/organize/activities/<activity_id>/edit",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/organize/activities/{fresh_activity(c, 'draft')}/edit",
    ),
    Case(
        "web",
        "POST",
        "/organize/activities/<activity_id>/<step>",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/organize/activities/{fresh_activity(c, 'draft')}/publish",
    ),
    # web: volunteering pages
    Case(
        "web",
        "GET",
        "/volunteering/activities/<activity_id>",
        PAGES_NEEDING_SIGN_IN,
        page=True,
        path=lambda c: f"/volunteering/activities/{city_activity(c)['activity_id']}",
    ),
    Case(
        "web",
        "POST",
        "/activities/<activity_id>/signup",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/activities/{city_activity(c)['activity_id']}/signup",
    ),
    Case(
        "web",
        "POST",
        "/activities/<activity_id>/signup/cancel",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/activities/{city_activity(c)['activity_id']}/signup/cancel",
    ),
    Case("web", "GET", "/volunteering/me", PAGES_NEEDING_SIGN_IN, page=True),
    Case(
        "web",
        "GET",
        "/volunteering/me/certificate.pdf",
        {**every(302), "volunteer": 200},  # the others have no confirmed hours: back to the list
        page=True,
        path=lambda c: (certificate_code(c), "/volunteering/me/certificate.pdf")[1],
    ),
    Case(
        "web",
        "GET",
        "/volunteering/verify/<code>",
        every(200),
        page=True,
        path=lambda c: f"/volunteering/verify/{certificate_code(c)}",
    ),
    Case(
        "web",
        "GET",
        "/volunteering/checkin/<activity_id>",
        PAGES_NEEDING_SIGN_IN,
        page=True,
        path=lambda c: f"/volunteering/checkin/{city_activity(c, starts_in=SOON)['activity_id']}",
    ),
    Case(
        "web",
        "POST",
        "/volunteering/checkin/<activity_id>",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/volunteering/checkin/{city_activity(c, starts_in=SOON)['activity_id']}",
    ),
    *[
        Case(
            "web",
            "GET",
            f"/volunteering/organize/<activity_id>/{page}",
            UNIT_ORGANIZER_PAGES,
            page=True,
            path=organize_path(page),
        )
        for page in ("roster", "live", "live.json", "attendance")
    ],
    *[
        Case(
            "web",
            "POST",
            f"/volunteering/organize/<activity_id>/{action}",
            CSRF_REFUSED,
            page=True,
            path=organize_path(action.replace("<signup_id>", "s-1")),
        )
        for action in ("signups/<signup_id>/remove", "checkins", "attendance")
    ],
    # web: 民族团结之星 pages
    Case("web", "GET", "/awards", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "GET", "/awards/new", {**ADMIN_PAGES, "committee": 200}, page=True),
    Case("web", "POST", "/awards/new", CSRF_REFUSED, page=True),
    *[
        Case(
            "web",
            "GET",
            rule,
            CYCLE_PAGES,
            page=True,
            path=lambda c, rule=rule: rule.replace("<cycle_id>", page_cycle(c, "draft")),
        )
        for rule in (
            "/awards/<cycle_id>",
            "/awards/<cycle_id>/audit",
            "/awards/<cycle_id>/export.xlsx",
        )
    ],
    *[
        Case(
            "web",
            "POST",
            rule,
            CSRF_REFUSED,
            page=True,
            path=lambda c, rule=rule: (
                rule.replace("<cycle_id>", page_cycle(c, "draft"))
                .replace("<candidate_id>", "c-1")
                .replace("<objection_id>", "o-1")
                .replace("<step>", "open")
            ),
        )
        for rule in (
            "/awards/<cycle_id>/<step>",
            "/awards/<cycle_id>/candidates/<candidate_id>/vote",
            "/awards/<cycle_id>/candidates/<candidate_id>/recuse",
            "/awards/<cycle_id>/candidates/<candidate_id>/story",
            "/awards/<cycle_id>/objections/<objection_id>/decision",
        )
    ],
    Case("web", "GET", "/notices", every(200), page=True),
    Case(
        "web",
        "GET",
        "/notices/<cycle_id>",
        every(200),
        page=True,
        path=lambda c: f"/notices/{page_cycle(c, 'notice')}",
    ),
    Case(
        "web",
        "POST",
        "/notices/<cycle_id>/objections",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/notices/{page_cycle(c, 'notice')}/objections",
    ),
    Case("web", "GET", "/honors", every(200), page=True),
    Case("web", "GET", "/honors/verify", every(200), page=True),
    Case(
        "web",
        "GET",
        "/honors/verify/<code>",
        every(200),
        page=True,
        path=lambda c: f"/honors/verify/{award_certificate(c)}",
    ),
    Case(
        "web",
        "GET",
        "/honors/certificates/<code>.pdf",
        every(200),
        page=True,
        path=lambda c: f"/honors/certificates/{award_certificate(c)}.pdf",
    ),
    Case("web", "GET", "/points", PAGES_NEEDING_SIGN_IN, page=True),
    Case(
        "web",
        "GET",
        "/points/standings",
        {**PAGES_NEEDING_SIGN_IN, "volunteer": 403},
        page=True,
    ),
    Case("web", "GET", "/points/rules", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/points/rules", CSRF_REFUSED, page=True),
    Case("web", "GET", "/points/adjustments", ADMIN_PAGES, page=True),
    Case("web", "POST", "/points/adjustments", CSRF_REFUSED, page=True),
    Case(
        "web",
        "POST",
        "/points/adjustments/<adjustment_id>/approve",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/points/adjustments/{c.adjustment_to_approve}/approve",
    ),
]


def app_of(city, name):
    return city.web if name == "web" else city.apps[name]


def routes(city) -> set[tuple[str, str, str]]:
    found = set()
    for name in PARTS:
        for rule in app_of(city, name).url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add((name, method, rule.rule))
    return found


@pytest.fixture(scope="module")
def matrix_city(city):
    """The demo city plus an organizer of another street and a grant that can be revoked."""
    admin = city.as_("admin")
    created = city.client.post(
        "/api/v1/staff",
        headers=admin,
        json={
            "username": "organizer-hs",
            "name": "横山社区 王主任",
            "password": "hengshan2026",
            "role": "organizer",
            "unit_id": city.unit("/nb/bl/dq/hs/").unit_id,
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    city._tokens["organizer-hs"] = city.token("organizer-hs", "hengshan2026")
    resident = city.register("13700009999", name="被授权的居民").get_json()["id"]
    grant = city.client.post(
        f"/api/v1/accounts/{resident}/roles",
        headers=admin,
        json={"role": "organizer", "unit_id": city.unit(FC).unit_id},
    )
    city.resident, city.grant_to_revoke = resident, grant.get_json()["id"]
    # A second administrator asks for an adjustment that the first may approve; the ledger
    # must know the demo volunteer first.
    wait_for(
        lambda: (
            city.call(
                "GET", f"/api/v1/ledger/volunteers/{demo_volunteer(city)}", "admin"
            ).status_code
            == 200
        ),
        message="the ledger to know the demo volunteer",
    )
    second = city.client.post(
        "/api/v1/staff",
        headers=admin,
        json={
            "username": "admin-two",
            "name": "第二位管理员",
            "password": "second2026",
            "role": "admin",
            "unit_id": city.unit("/nb/").unit_id,
        },
    )
    assert second.status_code == 201, second.get_data(as_text=True)
    city._tokens["admin-two"] = city.token("admin-two", "second2026")
    asked = city.call(
        "POST",
        "/api/v1/ledger/adjustments",
        "admin-two",
        json={"volunteer_id": demo_volunteer(city), "points": 3, "reason": "补记讲解岗位"},
    )
    assert asked.status_code == 201, asked.get_data(as_text=True)
    city.adjustment_to_approve = asked.get_json()["id"]
    second_resident = city.register("13700009998", name="另一位居民").get_json()["id"]
    for volunteer, hours in ((demo_volunteer(city), "2"), (resident, "1"), (second_resident, "1")):
        wait_for(
            lambda v=volunteer: (
                city.call("GET", f"/api/v1/ledger/volunteers/{v}", "admin").status_code == 200
            ),
            message="the ledger to know the volunteer",
        )
        attended(city, volunteer, hours)
    return city


def attended(city, volunteer_id: str, hours: str) -> None:
    """Confirmed attendance applied by the ledger's own handler (as its consumer would)."""
    event = confirmed(f"at-{volunteer_id}", volunteer_id, hours, day=award_ops.today())
    payload = catalog.get(event.type).load(event.payload)
    with service_context(city.apps["ledger"]).session_factory() as session, session.begin():
        HANDLERS[event.type](session, event, payload)


def test_every_route_has_an_entry(matrix_city):
    listed = {(case.app, case.method, case.rule) for case in CASES}
    assert routes(matrix_city) - listed == set(), "routes without an access-matrix entry"
    assert listed - routes(matrix_city) == set(), "entries for routes that no longer exist"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.app}:{c.method}:{c.rule}")
def test_access(matrix_city, case):
    city = matrix_city
    outcomes = {}
    for persona in PERSONAS:  # the administrator goes last: their call may change the state
        path = case.path(city) if case.path else case.rule
        city.case_path = path
        body = case.body(city) if case.body else None
        username = ACCOUNTS[persona]
        if case.page:
            client = city.page_client(username)
            answer = client.open(
                path, method=case.method, data={} if case.method == "POST" else None
            )
        elif case.rule in ("/healthz", "/readyz", "/readyz/parts", "/metrics"):
            answer = app_of(city, case.app).test_client().open(path, method=case.method)
        else:
            answer = city.call(case.method, path, username, json=body)
        outcomes[persona] = answer.status_code
    assert outcomes == case.expect
