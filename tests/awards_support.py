"""The people and the year of a 民族团结之星 selection in the demonstration city.

Attendance goes the real way: activities published on the broker, volunteers sign up through
the API, the organizer confirms hours (and a no-show) through the API, and the ledger earns the
points from the events it consumes. The year, per volunteer (5 points + 10 per hour):

| who                   | 三月邻里节 (文化, 社会) | 六月就业帮扶 (经济) | 九月心理疏导 (空间, 心理) | points |
| 阿依古丽 (demo)        | 3 h = 35              | 3 h = 35          | 2 h = 25               | 95     |
| 古丽娜 (石榴红 team)    | 3 h = 35              | 3 h = 35          | —                      | 70     |
| 李委员 (team, committee)| 2 h = 25              | 2 h = 25          | 1 h = 15               | 65     |
| 马建国                 | 2 h = 25              | no-show −5        | 2 h = 25               | 45     |
| 王芳                   | 1 h = 15              | —                 | —                      | 15     |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backbone import wait_for
from sqlalchemy import select
from volunteering import activity_payload

from events import catalog
from services.common.app import service_context
from services.ledger.awards import operations as award_ops
from services.ledger.awards.operations import notice as award_notice
from services.ledger.awards.operations import publication as award_publication
from services.ledger.models import ActivityView as LedgerActivity
from services.ledger.models import VolunteerView as LedgerVolunteer
from services.volunteers.models import ActivityView

FC = "/nb/bl/xq/fc/"

# Where the awards read the city's calendar: the notice and publication workflows, and the
# package's own name (the API's default year of the honor roll).
AWARD_CALENDARS = (award_ops, award_notice, award_publication)


def days_later(monkeypatch, days: int) -> None:
    """Let the awards' calendar run on ``days`` days (the notice period is counted in days)."""
    real = award_ops.today
    for module in AWARD_CALENDARS:
        monkeypatch.setattr(module, "today", lambda: real() + timedelta(days=days))


PASSWORD = "pomegranate8"
ACTIVITIES = (
    ("march", "三月邻里节", ["culture", "society"], datetime(2026, 3, 8, 1, 0, tzinfo=UTC)),
    ("june", "六月就业帮扶", ["economy"], datetime(2026, 6, 12, 1, 0, tzinfo=UTC)),
    ("sept", "九月心理疏导", ["space", "psychology"], datetime(2026, 9, 20, 1, 0, tzinfo=UTC)),
)
# volunteer key -> {activity key: hours, or "no-show"}
ATTENDANCE = {
    "aygul": {"march": "3", "june": "3", "sept": "2"},
    "gulina": {"march": "3", "june": "3"},
    "li": {"march": "2", "june": "2", "sept": "1"},
    "ma": {"march": "2", "june": "no-show", "sept": "2"},
    "wang": {"march": "1"},
}
POINTS = {"aygul": 95, "gulina": 70, "li": 65, "ma": 45, "wang": 15}


@dataclass
class Year:
    """Who is who in the selection: volunteer ids, usernames, activity ids, unit ids."""

    ids: dict[str, str]
    logins: dict[str, str]
    activities: dict[str, str]
    district: str
    team: str


def _projected(city, activity_id: str, starts_at) -> bool:
    with service_context(city.apps["volunteers"]).session_factory() as session:
        seen = session.get(ActivityView, activity_id)
        volunteers_know = seen is not None and seen.starts_at == starts_at
    with service_context(city.apps["ledger"]).session_factory() as session:
        ledger_knows = session.get(LedgerActivity, activity_id) is not None
    return volunteers_know and ledger_knows


def _publish(city, payload: dict, event_type: str) -> None:
    city.deliver([catalog.make_event(event_type, payload, producer="activities")])
    wait_for(
        lambda: _projected(city, payload["activity_id"], payload["starts_at"]),
        timeout=60,
        message="the activity to reach volunteers and the ledger",
    )


def _balance(city, volunteer_id: str) -> int:
    answer = city.call("GET", f"/api/v1/ledger/volunteers/{volunteer_id}", "admin")
    return answer.get_json()["balance"] if answer.status_code == 200 else 0


def live_a_year(city) -> Year:
    """Register the people, run the three activities and wait for the ledger's points."""
    district, team = city.unit("/nb/bl/").unit_id, city.unit("/nb/bl/xq/slh/").unit_id
    logins = {"aygul": "13800000001"}
    people = (
        ("gulina", "13966660001", "古丽娜", team),
        ("li", "13966660002", "李委员", team),
        ("ma", "13966660003", "马建国", None),
        ("wang", "13966660004", "王芳", None),
    )
    for key, phone, name, team_id in people:
        answer = city.register(phone, name=name, team_id=team_id)
        assert answer.status_code == 201, answer.get_json()
        logins[key] = phone
        city.token(phone, PASSWORD)
    ids = {key: city.account(login).id for key, login in logins.items()}
    granted = city.grant(ids["li"], "committee", "/nb/bl/")
    assert granted.status_code == 201, granted.get_json()
    city._tokens.pop(logins["li"])
    city.token(logins["li"], PASSWORD)  # a fresh token that carries the committee role
    staff = city.add_staff("zhao-committee", "赵委员", PASSWORD, "committee", "/nb/bl/")
    assert staff.status_code == 201, staff.get_json()
    city.token("zhao-committee", PASSWORD)
    logins["zhao"], ids["zhao"] = "zhao-committee", staff.get_json()["id"]
    wait_for(
        lambda: all(_knows(city, ids[k]) for k in ATTENDANCE),
        timeout=60,
        message="the ledger to know the volunteers",
    )

    fc = city.unit(FC)
    activity_ids = {}
    for key, title, dimensions, held_at in ACTIVITIES:
        payload = activity_payload(
            host_unit_id=fc.unit_id, host_unit_path=fc.path, title=title, dimensions=dimensions
        )
        _publish(city, payload, "activity.published")
        base = f"/api/v1/activities/{payload['activity_id']}"
        present = [who for who, plan in ATTENDANCE.items() if key in plan]
        for who in present:
            signed = city.call("POST", f"{base}/signups", logins[who], json={})
            assert signed.status_code == 201, signed.get_json()
        moved = {
            **payload,
            "starts_at": held_at,
            "ends_at": held_at + timedelta(hours=3),
            "changes": ["starts_at", "ends_at"],
        }
        _publish(city, moved, "activity.updated")
        entries = [
            {"volunteer_id": ids[who], "hours": ATTENDANCE[who][key], "reason": "组织者确认"}
            for who in present
            if ATTENDANCE[who][key] != "no-show"
        ]
        missing = [ids[who] for who in present if ATTENDANCE[who][key] == "no-show"]
        confirmed = city.call(
            "POST",
            f"{base}/attendance/confirm",
            "organizer",
            json={"entries": entries, "no_shows": missing},
        )
        assert confirmed.status_code == 200, confirmed.get_json()
        activity_ids[key] = payload["activity_id"]
    for who, points in POINTS.items():
        wait_for(
            lambda v=ids[who], p=points: _balance(city, v) == p,
            timeout=60,
            message=f"{who}'s {points} points in the ledger",
        )
    return Year(ids, logins, activity_ids, district, team)


def _knows(city, volunteer_id: str) -> bool:
    with service_context(city.apps["ledger"]).session_factory() as session:
        return (
            session.scalar(
                select(LedgerVolunteer.volunteer_id).where(
                    LedgerVolunteer.volunteer_id == volunteer_id
                )
            )
            is not None
        )


def cycle_body(year: Year, committee: list[str], **overrides) -> dict:
    """A cycle of 北仑区 for 2026 with criteria this year's people can meet."""
    body = {
        "title": "2026年度 民族团结之星",
        "unit_id": year.district,
        "period_start": "2026-01-01",
        "period_end": "2026-12-31",
        "criteria": {"min_points": 40, "min_activities": 2, "min_dimensions": 3, "max_no_shows": 1},
        "quota": 2,
        "committee": [year.ids[who] for who in committee],
        "quorum": 2,
        "majority": 0.667,
        "notice_days": 5,
    }
    body.update(overrides)
    return body


def with_statement(city, body: dict, by: str = "committee") -> dict:
    """The cycle's body with web's signed word on its committee's roles (what the page adds)."""
    answer = city.call(
        "POST", "/api/v1/auth/staff-statement", by, json={"account_ids": body["committee"]}
    )
    assert answer.status_code == 200, answer.get_json()
    return {**body, "committee_statement": answer.get_json()["statement"]}


# ---- calls the award tests make ------------------------------------------------------------


def new_cycle(city, year, committee=("aygul_committee",), by="committee", **overrides):
    members = [m for m in committee if m != "aygul_committee"]
    body = cycle_body(year, members, **overrides)
    if "aygul_committee" in committee:
        body["committee"].insert(0, city.account("committee").id)
    answer = city.call("POST", "/api/v1/award-cycles", by, json=with_statement(city, body))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def candidates_of(city, cycle_id, who="committee") -> dict[str, dict]:
    answer = city.call("GET", f"/api/v1/award-cycles/{cycle_id}/candidates", who)
    assert answer.status_code == 200, answer.get_json()
    return {item["name"]: item for item in answer.get_json()["items"]}


def vote(city, cycle_id, who, candidate, decision="approve", comment="事迹突出"):
    return city.call(
        "POST",
        f"/api/v1/award-cycles/{cycle_id}/votes",
        who,
        json={"candidate_id": candidate["candidate_id"], "decision": decision, "comment": comment},
    )


def recuse(city, cycle_id, who, candidate, reason: str):
    """A committee member steps aside from a candidate; the answer."""
    body = {"candidate_id": candidate["candidate_id"], "reason": reason}
    return city.call("POST", f"/api/v1/award-cycles/{cycle_id}/recusals", who, json=body)


def object_to(city, cycle_id, who, candidate, reason: str):
    """A resident objects to a proposed winner while the cycle is on notice; the answer."""
    body = {"candidate_id": candidate["candidate_id"], "reason": reason}
    return city.call("POST", f"/api/v1/award-cycles/{cycle_id}/objections", who, json=body)


def decide_objection(city, cycle_id, objection_id, decision: str, reason: str, who="committee"):
    """The committee upholds or dismisses an objection; the answer."""
    path = f"/api/v1/award-cycles/{cycle_id}/objections/{objection_id}/decision"
    return city.call("POST", path, who, json={"decision": decision, "reason": reason})


def break_tie(city, cycle_id, candidate_ids: list, reason: str, who="committee"):
    """The committee chooses among candidates tied at the quota line; the answer."""
    body = {"candidate_ids": candidate_ids, "reason": reason}
    return city.call("POST", f"/api/v1/award-cycles/{cycle_id}/tie-break", who, json=body)


def problem_fields(answer) -> dict:
    """The per-field messages of a 422 (schema errors come under ``json``)."""
    errors = answer.get_json()["errors"]
    return errors.get("json", errors)


def snapshot(city, cycle_id) -> tuple:
    """What a refused act must leave untouched: every vote and the audit trail."""
    votes = {
        name: sorted((v["member_id"], v["decision"], v["comment"]) for v in c["votes"])
        for name, c in candidates_of(city, cycle_id).items()
    }
    trail = city.call("GET", f"/api/v1/award-cycles/{cycle_id}/audit", "committee").get_json()
    return votes, len(trail["items"])
