"""民族团结之星 through the one base URL: a year of confirmed attendance reaches the ledger over
the broker; a committee opens a cycle, reviews candidates with their evidence, votes (with
recusals), puts the winners on public notice, upholds an objection, publishes the honor roll;
the certificates verify, and a revoked one shows as revoked."""

from __future__ import annotations

import io
import threading

import pytest
from awards_support import (
    ACTIVITIES,
    POINTS,
    break_tie,
    candidates_of,
    cycle_body,
    days_later,
    decide_objection,
    new_cycle,
    object_to,
    problem_fields,
    recuse,
    snapshot,
    vote,
    with_statement,
)
from notifications_support import told_of
from openpyxl import load_workbook
from pypdf import PdfReader


def test_the_whole_story_from_attendance_to_a_revoked_certificate(city, year, monkeypatch):
    logins, ids = year.logins, year.ids
    cycle = new_cycle(city, year, committee=("aygul_committee", "li", "zhao"))
    assert cycle["status"] == "draft" and cycle["majority"] == 0.667
    cycle_id = cycle["id"]
    base = f"/api/v1/award-cycles/{cycle_id}"

    opened = city.call("POST", f"{base}/open", "committee")
    assert opened.status_code == 200 and opened.get_json()["status"] == "open"

    # Candidates: ranked by points, 王芳 (one activity) is not eligible; evidence is exact.
    listed = candidates_of(city, cycle_id)
    assert [(n, c["points"], c["rank"]) for n, c in listed.items()] == [
        ("阿依古丽", POINTS["aygul"], 1),
        ("古丽娜", POINTS["gulina"], 2),
        ("李委员", POINTS["li"], 3),
        ("马建国", POINTS["ma"], 4),
    ]
    aygul = listed["阿依古丽"]["evidence"]
    assert aygul["points_by_month"] == [
        {"month": "2026-03", "points": 35},
        {"month": "2026-06", "points": 35},
        {"month": "2026-09", "points": 25},
    ]
    assert [(a["title"], a["date"], a["hours"]) for a in aygul["activities"]] == [
        (title, held.date().isoformat(), hours)
        for (_, title, _, held), hours in zip(ACTIVITIES, (3, 3, 2), strict=True)
    ]
    assert aygul["dimensions"] == ["space", "culture", "economy", "society", "psychology"]
    assert aygul["hours"] == 8 and aygul["no_shows"] == []  # hours are numbers in the API
    assert listed["阿依古丽"]["hours"] == 8
    ma = listed["马建国"]
    assert ma["no_shows"] == 1 and ma["evidence"]["no_shows"][0]["title"] == "六月就业帮扶"
    assert ma["evidence"]["points_by_month"][1] == {"month": "2026-06", "points": -5}

    # An organizer of their community tells 阿依古丽's story.
    story = "常年为社区各族居民做翻译，组织邻里节和百家宴，带动新市民融入社区。"
    told = city.call(
        "POST",
        f"{base}/nominations",
        "organizer",
        json={"volunteer_id": ids["aygul"], "story": story},
    )
    assert told.status_code == 200 and told.get_json()["story"] == story

    # 李委员 sits on the committee: recused from themselves and from their team's 古丽娜.
    li = listed["李委员"]
    assert {(v["member_name"], v["decision"]) for v in li["votes"]} == {("李委员", "recused")}
    assert vote(city, cycle_id, logins["li"], li).status_code == 409
    assert vote(city, cycle_id, logins["li"], listed["古丽娜"]).status_code == 409
    # 赵委员 steps aside from 马建国 of their own accord.
    recused = recuse(city, cycle_id, "zhao-committee", ma, "亲属关系")
    assert recused.status_code == 201

    for name, votes in {
        "阿依古丽": [
            ("committee", "approve"),
            ("zhao-committee", "approve"),
            (logins["li"], "approve"),
        ],
        "古丽娜": [("committee", "approve"), ("zhao-committee", "approve")],
        "李委员": [("committee", "approve"), ("zhao-committee", "reject")],
        "马建国": [("committee", "approve"), (logins["li"], "approve")],
    }.items():
        for who, decision in votes:
            assert vote(city, cycle_id, who, listed[name], decision).status_code == 201
    tallied = candidates_of(city, cycle_id)
    assert {n: c["tally"]["outcome"] for n, c in tallied.items()} == {
        "阿依古丽": "approved",
        "古丽娜": "approved",
        "李委员": "rejected",  # one of two: below two thirds
        "马建国": "approved",  # two of the two who may vote
    }
    state = city.call("GET", base, "committee").get_json()
    assert state["winners"] == [
        tallied["阿依古丽"]["candidate_id"],
        tallied["古丽娜"]["candidate_id"],
    ]

    # Public notice: names, units and stories; never a phone number or ethnicity.
    noticed = city.call("POST", f"{base}/notice", "committee")
    assert noticed.status_code == 200 and noticed.get_json()["status"] == "notice"
    public = city.call("GET", f"{base}/notice")
    assert public.status_code == 200
    shown = public.get_json()
    assert [i["name"] for i in shown["items"]] == ["阿依古丽", "古丽娜"]
    assert shown["items"][0]["story"] == story and shown["open_for_objections"]
    assert "1380000" not in public.get_data(as_text=True)
    assert "ethnic" not in public.get_data(as_text=True)
    assert vote(city, cycle_id, "zhao-committee", tallied["马建国"]).status_code == 409

    # A resident objects to 古丽娜; the committee upholds it; 马建国 is next in rank.
    objected = object_to(
        city, cycle_id, logins["wang"], tallied["古丽娜"], "六月活动时长有误，请核实"
    )
    assert objected.status_code == 201, objected.get_json()
    publish_early = city.call("POST", f"{base}/publish", "committee")
    assert publish_early.status_code == 409
    objection_id = objected.get_json()["id"]
    decided = decide_objection(city, cycle_id, objection_id, "uphold", "经核实，时长记录有误")
    assert decided.status_code == 200 and decided.get_json()["status"] == "upheld"
    state = city.call("GET", base, "committee").get_json()
    assert state["next_in_rank"] == tallied["马建国"]["candidate_id"]
    proposed = city.call(
        "POST", f"{base}/proposals", "committee", json={"candidate_id": state["next_in_rank"]}
    )
    assert proposed.status_code == 200, proposed.get_json()
    assert [i["name"] for i in city.call("GET", f"{base}/notice").get_json()["items"]] == [
        "阿依古丽",
        "马建国",
    ]

    # Publishing before the notice ends is refused; after it, the honor roll is out.
    refused = city.call("POST", f"{base}/publish", "committee")
    assert refused.status_code == 409 and "公示期" in refused.get_json()["detail"]
    days_later(monkeypatch, 6)
    published = city.call("POST", f"{base}/publish", "committee")
    assert published.status_code == 200, published.get_json()
    roll = city.call("GET", f"/api/v1/honor-roll?unit_id={year.district}&year=2026").get_json()
    (entry,) = [c for c in roll["cycles"] if c["cycle_id"] == cycle_id]
    assert [(w["name"], w["unit_name"]) for w in entry["winners"]] == [
        ("阿依古丽", "富春社区"),
        ("马建国", "富春社区"),
    ]

    # award.published is published with the certificate codes.
    events = city.published("shiliu.awards", expect=4)
    (announced,) = [e for e in events if e.type == "award.published" and e.key == cycle_id]
    codes = {w["volunteer_id"]: w["certificate_code"] for w in announced.payload["winners"]}
    assert set(codes) == {ids["aygul"], ids["ma"]}

    # The certificates verify, their PDF says so in Chinese; the committee's Excel file is whole.
    code = codes[ids["ma"]]
    checked = city.call("GET", f"/api/v1/certificates/{code}")
    assert checked.status_code == 200 and checked.get_json()["status"] == "valid"
    pdf = city.call("GET", f"/api/v1/certificates/{codes[ids['aygul']]}/pdf")
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for expected in ("荣", "阿依古丽", "2026年度 民族团结之星", "北仑区", codes[ids["aygul"]]):
        assert expected in text, (expected, text)
    export = city.call("GET", f"{base}/export.xlsx", "committee")
    assert export.status_code == 200
    book = load_workbook(io.BytesIO(export.data))
    assert book.sheetnames == ["评选", "候选人", "证据", "投票", "异议", "记录"]
    assert [row[1] for row in book["候选人"].iter_rows(min_row=2, values_only=True)] == [
        "阿依古丽",
        "古丽娜",
        "李委员",
        "马建国",
    ]
    assert book["投票"].max_row == 1 + 9 + 3  # nine votes, three recusals (two automatic)
    assert book["异议"]["D2"].value == "成立"

    # Revoked: the certificate says so, the roll no longer lists them, the world is told.
    revoked = city.call(
        "POST",
        f"{base}/revoke",
        "committee",
        json={"candidate_id": tallied["马建国"]["candidate_id"], "reason": "事迹材料经复核不实"},
    )
    assert revoked.status_code == 200, revoked.get_json()
    checked = city.call("GET", f"/api/v1/certificates/{code}").get_json()
    assert checked["status"] == "revoked" and checked["revoked_reason"] == "事迹材料经复核不实"
    assert city.call("GET", f"/api/v1/certificates/{code}/pdf").status_code == 409
    roll = city.call("GET", f"/api/v1/honor-roll?unit_id={year.district}&year=2026").get_json()
    (entry,) = [c for c in roll["cycles"] if c["cycle_id"] == cycle_id]
    assert [w["name"] for w in entry["winners"]] == ["阿依古丽"]
    assert any(
        e.type == "award.revoked" and e.payload["certificate_code"] == code
        for e in city.published("shiliu.awards", expect=5)
    )

    trail = city.call("GET", f"{base}/audit", "committee").get_json()["items"]
    acts = [item["action"] for item in trail]
    for act in (
        "created",
        "opened",
        "nominated",
        "recused",
        "voted",
        "notice_started",
        "objection_lodged",
        "objection_upheld",
        "proposed",
        "published",
        "revoked",
    ):
        assert act in acts, act


@pytest.fixture(scope="module")
def voting(city, year):
    """An open cycle of 北仑区 judged by 马老师 (committee) and 赵委员."""
    cycle = new_cycle(city, year, committee=("aygul_committee", "zhao"))
    assert (
        city.call("POST", f"/api/v1/award-cycles/{cycle['id']}/open", "committee").status_code
        == 200
    )
    return cycle["id"]


def test_refused_votes_change_nothing(city, year, voting):
    listed = candidates_of(city, voting)
    aygul = listed["阿依古丽"]
    assert vote(city, voting, "committee", aygul).status_code == 201
    before = snapshot(city, voting)

    outsider = vote(city, voting, "organizer", aygul)  # staff, but not on this committee
    assert outsider.status_code == 403 and outsider.get_json()["type"].endswith("not-a-member")
    twice = vote(city, voting, "committee", aygul, "reject")
    assert twice.status_code == 409 and "改票" in twice.get_json()["detail"]
    stranger = city.call(
        "POST",
        f"/api/v1/award-cycles/{voting}/votes",
        "committee",
        json={"candidate_id": "not-a-candidate", "decision": "approve"},
    )
    assert stranger.status_code == 422 and "candidate_id" in problem_fields(stranger)
    wrong = vote(city, voting, "zhao-committee", aygul, "maybe")
    assert wrong.status_code == 422 and "decision" in problem_fields(wrong)
    assert vote(city, voting, None, aygul).status_code == 401
    assert snapshot(city, voting) == before


def test_a_member_on_the_committee_never_votes_on_themselves(city, year):
    cycle = new_cycle(city, year, committee=("li", "zhao"))
    base = f"/api/v1/award-cycles/{cycle['id']}"
    assert city.call("POST", f"{base}/open", year.logins["li"]).status_code == 200
    listed = candidates_of(city, cycle["id"], year.logins["li"])
    before = snapshot(city, cycle["id"])
    for name in ("李委员", "古丽娜"):  # themselves, and a member of their own team
        refused = vote(city, cycle["id"], year.logins["li"], listed[name])
        assert refused.status_code == 409 and refused.get_json()["type"].endswith("recused")
    changed = city.call(
        "PUT",
        f"{base}/votes/{listed['李委员']['candidate_id']}",
        year.logins["li"],
        json={"decision": "approve"},
    )
    assert changed.status_code == 409
    assert snapshot(city, cycle["id"]) == before
    assert listed["马建国"]["tally"]["eligible"] == 2 and listed["李委员"]["tally"]["eligible"] == 1


def test_a_vote_may_change_until_voting_closes_then_nothing_changes(city, year, voting):
    listed = candidates_of(city, voting)
    gulina = listed["古丽娜"]
    assert vote(city, voting, "zhao-committee", gulina, "reject").status_code == 201
    path = f"/api/v1/award-cycles/{voting}/votes/{gulina['candidate_id']}"
    changed = city.call(
        "PUT", path, "zhao-committee", json={"decision": "approve", "comment": "复核后同意"}
    )
    assert changed.status_code == 200 and changed.get_json()["changed_at"]
    assert candidates_of(city, voting)["古丽娜"]["tally"]["approve"] == 1
    for name in ("阿依古丽", "古丽娜"):
        if candidates_of(city, voting)[name]["my_vote"] is None:
            assert vote(city, voting, "committee", listed[name]).status_code == 201
    assert (
        city.call("POST", f"/api/v1/award-cycles/{voting}/notice", "committee").status_code == 200
    )
    before = snapshot(city, voting)
    late = city.call("PUT", path, "zhao-committee", json={"decision": "reject"})
    assert late.status_code == 409 and late.get_json()["type"].endswith("wrong-status")
    assert vote(city, voting, "zhao-committee", listed["马建国"]).status_code == 409
    assert snapshot(city, voting) == before
    early = city.call("POST", f"/api/v1/award-cycles/{voting}/publish", "committee")
    assert early.status_code == 409 and early.get_json()["type"].endswith("notice-not-over")


def test_candidates_tied_at_the_quota_line_are_for_the_committee_to_decide(city, year):
    # In March alone 阿依古丽 and 古丽娜 have 35 points each: one place, two candidates.
    cycle = new_cycle(
        city,
        year,
        committee=("aygul_committee", "zhao"),
        title="2026年3月 民族团结之星",
        period_start="2026-03-01",
        period_end="2026-03-31",
        criteria={"min_points": 30, "min_activities": 1, "min_dimensions": 2, "max_no_shows": 0},
        quota=1,
    )
    base = f"/api/v1/award-cycles/{cycle['id']}"
    city.call("POST", f"{base}/open", "committee")
    listed = candidates_of(city, cycle["id"])
    assert sorted((n, c["rank"]) for n, c in listed.items()) == [("古丽娜", 1), ("阿依古丽", 1)]
    for who in ("committee", "zhao-committee"):
        for candidate in listed.values():
            assert vote(city, cycle["id"], who, candidate).status_code == 201
    state = city.call("GET", base, "committee").get_json()
    assert state["winners"] == [] and state["tie_places"] == 1
    # Each member is told of the tie once, however many votes kept it (award.tie_found).
    for who in ("committee", "zhao-committee"):
        told = told_of(city, who, "tie_to_decide", f"/awards/{cycle['id']}")
        assert len(told) == 1 and "2 位候选人" in told[0]["text"], told
    assert set(state["tie"]) == {c["candidate_id"] for c in listed.values()}
    undecided = city.call("POST", f"{base}/notice", "committee")
    assert undecided.status_code == 409 and undecided.get_json()["type"].endswith("tie-undecided")
    too_many = break_tie(city, cycle["id"], state["tie"], "都好")
    assert too_many.status_code == 422
    chosen = listed["阿依古丽"]["candidate_id"]
    decided = break_tie(city, cycle["id"], [chosen], "服务时长更长、覆盖维度更多")
    assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["winners"] == [chosen]
    assert decided.get_json()["tie_break"]["reason"] == "服务时长更长、覆盖维度更多"
    noticed = city.call("POST", f"{base}/notice", "committee")
    assert noticed.status_code == 200
    shown = city.call("GET", f"{base}/notice").get_json()["items"]
    assert [item["name"] for item in shown] == ["阿依古丽"]
    trail = city.call("GET", f"{base}/audit", "committee").get_json()["items"]
    assert any(t["action"] == "tie_decided" and t["detail"]["chosen"] == [chosen] for t in trail)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quorum": 2}, "quorum"),  # more than the one member
        ({"period_end": "2025-12-31"}, "period_end"),
        ({"majority": 0.3}, "majority"),
        ({"quota": 0}, "quota"),
        ({"committee": []}, "committee"),
        ({"unit_id": "no-such-unit"}, "unit_id"),
        ({"criteria": {"min_points": -1}}, "criteria"),
        ({"title": " "}, "title"),
    ],
)
def test_a_bad_cycle_is_refused_field_by_field_and_nothing_is_created(city, year, change, field):
    before = city.call("GET", "/api/v1/award-cycles?per_page=200", "committee").get_json()["total"]
    body = {**with_statement(city, cycle_body(year, ["zhao"], quorum=1)), **change}
    answer = city.call("POST", "/api/v1/award-cycles", "committee", json=body)
    assert answer.status_code == 422, answer.get_json()
    assert field in problem_fields(answer)
    after = city.call("GET", "/api/v1/award-cycles?per_page=200", "committee").get_json()["total"]
    assert after == before


def test_only_committee_or_administrators_of_the_unit_start_a_cycle(city, year):
    body = with_statement(city, cycle_body(year, ["zhao"], quorum=1))
    assert city.call("POST", "/api/v1/award-cycles", "organizer", json=body).status_code == 403
    # The city's cycle: 赵委员 (committee of the district) may not sit on it; the administrator may.
    citywide = {
        **body,
        "unit_id": city.unit("/nb/").unit_id,
        "committee": [city.account("admin").id],
    }
    assert city.call("POST", "/api/v1/award-cycles", "committee", json=citywide).status_code == 403
    assert city.call("POST", "/api/v1/award-cycles", "admin", json=citywide).status_code == 201


def test_creating_a_cycle_is_idempotent_with_a_key(city, year):
    body = with_statement(city, cycle_body(year, ["zhao"], quorum=1))
    headers = {"Idempotency-Key": "cycle-2026-once"}
    first = city.call("POST", "/api/v1/award-cycles", "committee", json=body, headers=headers)
    again = city.call("POST", "/api/v1/award-cycles", "committee", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    other = city.call(
        "POST", "/api/v1/award-cycles", "committee", json={**body, "quota": 3}, headers=headers
    )
    assert other.status_code == 422


def test_a_cancelled_cycle_takes_no_more_acts(city, year):
    cycle = new_cycle(city, year, committee=("aygul_committee", "zhao"))
    base = f"/api/v1/award-cycles/{cycle['id']}"
    no_reason = city.call("POST", f"{base}/cancel", "committee", json={"reason": ""})
    assert no_reason.status_code == 422
    cancelled = city.call(
        "POST", f"{base}/cancel", "committee", json={"reason": "条件设置有误，重新发起"}
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    for act in ("open", "notice", "publish"):
        assert city.call("POST", f"{base}/{act}", "committee").status_code == 409
    assert city.call("GET", f"{base}/notice").status_code == 404


def test_the_public_sees_no_cycle_before_its_notice_and_strangers_see_none(city, year, voting):
    assert city.call("GET", f"/api/v1/award-cycles/{voting}", None).status_code == 401
    assert (
        city.call("GET", f"/api/v1/award-cycles/{voting}", year.logins["wang"]).status_code == 404
    )
    assert city.call("GET", "/api/v1/certificates/SL-2026-NOSUCH00").status_code == 404
    unknown = city.call("GET", "/api/v1/honor-roll?unit_id=nope")
    assert unknown.status_code == 422


def test_a_member_voting_ten_times_at_once_has_one_vote(city, year):
    cycle = new_cycle(city, year, committee=("aygul_committee", "zhao"))
    city.call("POST", f"/api/v1/award-cycles/{cycle['id']}/open", "committee")
    aygul = candidates_of(city, cycle["id"])["阿依古丽"]
    city.token("zhao-committee")
    answers = []
    barrier = threading.Barrier(10)

    def once():
        barrier.wait()
        answers.append(vote(city, cycle["id"], "zhao-committee", aygul).status_code)

    threads = [threading.Thread(target=once) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201] + [409] * 9
    votes = candidates_of(city, cycle["id"])["阿依古丽"]["votes"]
    assert [(v["member_name"], v["decision"]) for v in votes] == [("赵委员", "approve")]
