"""The access matrix's shared parts: the personas, what a case is, and the states its paths need
(fresh activities, sign-ups, award cycles in each stage, certificates), made on the city."""

from __future__ import annotations

import itertools
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from awards_support import days_later as later
from backbone import wait_for
from ledger_support import confirmed
from volunteering import city_activity, city_code, city_operation

from events import catalog
from infra.registry import PARTS
from services.common.app import service_context
from services.ledger.awards import operations as award_ops
from services.ledger.handlers import HANDLERS

PERSONAS = ("anonymous", "volunteer", "organizer_in", "organizer_out", "committee", "admin")
ACCOUNTS = {
    "anonymous": None,
    "volunteer": "13800000001",  # lives in 富春社区
    "organizer_in": "organizer",  # organizer of 富春社区
    "organizer_out": "organizer-hs",  # organizer of 横山社区, another street
    "committee": "committee",  # committee member of 北仑区
    "admin": "admin",  # administrator of 宁波市
}
serial = itertools.count(1)


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


PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>")  # <name> or <converter:name> of a URL rule


def filled(rule: str, **fill):
    """The concrete path of a rule as a function of the city: each placeholder replaced by
    ``fill[name]`` (a function of the city, or a value)."""

    def value(city, name: str) -> str:
        given = fill[name]
        return str(given(city) if callable(given) else given)

    return lambda city: PLACEHOLDER.sub(lambda m: value(city, m.group(1)), rule)


def api(app: str, method: str, rule: str, expect: dict[str, int], body=None, **fill) -> Case:
    """A case of a JSON route of ``app``, called with a bearer token; ``fill`` gives the rule's
    placeholders, if it has any (see ``filled``), ``body`` the JSON body (a function of the
    city)."""
    return Case(app, method, rule, expect, path=filled(rule, **fill) if fill else None, body=body)


def page(method: str, rule: str, expect: dict[str, int], **fill) -> Case:
    """A case of one of web's pages, called through a signed-in session; ``fill`` gives the
    rule's placeholders, if it has any (see ``filled``)."""
    return Case("web", method, rule, expect, page=True, path=filled(rule, **fill) if fill else None)


def form(rule: str, **fill) -> Case:
    """A page's form posted without its CSRF token: refused for everyone, and nothing changes."""
    return page("POST", rule, CSRF_REFUSED, **fill)


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


def prepared_resident(city) -> str:
    """The resident ``prepare`` made (holding a role that can be revoked)."""
    return city.resident


def draft(city) -> str:
    """A fresh draft of 富春社区 (its id)."""
    return fresh_activity(city, "draft")


def published(city) -> str:
    """A fresh published activity of 富春社区 (its id)."""
    return fresh_activity(city, "published")


def upcoming(city) -> str:
    """A fresh upcoming activity of 富春社区 the volunteers service knows (its id)."""
    return city_activity(city)["activity_id"]


def starting_soon(city) -> str:
    """Like ``upcoming``, starting in a few minutes (its check-in open)."""
    return city_activity(city, starts_in=SOON)["activity_id"]


def demo_volunteer(city):
    return city.account("13800000001").id


def activity_case(
    method: str, suffix: str, expect: dict[str, int], body=None, prepare=None, **made
):
    """A case of the volunteers service's route ``/api/v1/activities/<activity_id>`` + suffix, on
    a fresh activity of 富春社区 (``made`` as ``city_activity`` takes it), prepared by
    ``prepare(city, activity)`` where the case needs it: what that returns fills <signup_id>."""
    rule = f"/api/v1/activities/<activity_id>{suffix}"

    def path(city):
        activity = city_activity(city, **made)
        extra = prepare(city, activity) if prepare else None
        return filled(rule, activity_id=activity["activity_id"], signup_id=extra)(city)

    return Case("volunteers", method, rule, expect, path=path, body=body)


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
    return city.register(f"1370002{next(serial):04d}").get_json()["id"]


def disabled_resident(city) -> str:
    """A newly registered volunteer of 富春社区, disabled by the city's administrator."""
    account_id = fresh_resident(city)
    answer = city.call(
        "POST", f"/api/v1/accounts/{account_id}/disable", "admin", json={"reason": "矩阵测试"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return account_id


# ---- award cycles ------------------------------------------------------------------------
# Candidates come from ledger rows that the fixture writes through the ledger's own handler:
# the demo volunteer 25 points, two residents 15 each (a tie when two places are left).


@contextmanager
def days_later(days: int):
    """Let the awards' calendar run on for a moment (publishing waits for the notice's end)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        later(monkeypatch, days)
        yield


def award_cycle(city, state: str = "open", quota: int = 1, unit_id=None, period=None) -> str:
    """A cycle of 北仑区 (or ``unit_id``) for this year (or ``period``, two dates) judged by the
    demo committee member alone, brought to ``state``; its path."""
    year = award_ops.today().year
    start, end = period or (f"{year}-01-01", f"{year}-12-31")
    body = {
        "title": f"矩阵评选{next(serial)}",
        "unit_id": unit_id or city.unit("/nb/bl/").unit_id,
        "period_start": str(start),
        "period_end": str(end),
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


def cycle_case(
    method: str, suffix: str, expect: dict[str, int], state: str = "open", body=None, quota=1
) -> Case:
    """A case of the ledger's route ``/api/v1/award-cycles/<cycle_id>`` + suffix, on a fresh
    cycle brought to ``state`` (see ``award_cycle``)."""

    def path(city):
        return award_cycle(city, state, quota) + suffix

    rule = f"/api/v1/award-cycles/<cycle_id>{suffix}"
    return Case("ledger", method, rule, expect, path=path, body=body)


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


def prepare(city):
    """The demo city plus an organizer of another street and a grant that can be revoked."""
    created = city.add_staff(
        "organizer-hs", "横山社区 王主任", "hengshan2026", "organizer", "/nb/bl/dq/hs/"
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    city.token("organizer-hs", "hengshan2026")
    resident = city.register("13700009999", name="被授权的居民").get_json()["id"]
    grant = city.grant(resident, "organizer", FC)
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
    second = city.add_staff("admin-two", "第二位管理员", "second2026", "admin", "/nb/")
    assert second.status_code == 201, second.get_data(as_text=True)
    city.token("admin-two", "second2026")

    def asked(points: int, reason: str) -> str:
        body = {"volunteer_id": demo_volunteer(city), "points": points, "reason": reason}
        answer = city.call("POST", "/api/v1/ledger/adjustments", "admin-two", json=body)
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.get_json()["id"]

    city.adjustment_to_approve = asked(3, "补记讲解岗位")
    city.adjustment_to_reject = asked(4, "重复申请")
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


def outcomes(city, case) -> dict[str, int]:
    """What each persona gets from a case's route."""
    found = {}
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
        found[persona] = answer.status_code
    return found
