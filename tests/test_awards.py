"""民族团结之星 through the one base URL: a year of confirmed attendance reaches the ledger over
the broker; a committee opens a cycle, reviews candidates with their evidence, votes (with
recusals), puts the winners on public notice, upholds an objection, publishes the honor roll;
the certificates verify, and a revoked one shows as revoked."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from awards_support import ACTIVITIES, POINTS, cycle_body, live_a_year
from backbone import read_topic
from openpyxl import load_workbook
from pypdf import PdfReader

from events.envelope import decode
from services.ledger.awards import operations as award_ops


@pytest.fixture(scope="module")
def year(city):
    """The demonstration city after a year of volunteering (see awards_support)."""
    return live_a_year(city)


def _new_cycle(city, year, committee=("aygul_committee",), by="committee", **overrides):
    members = [m for m in committee if m != "aygul_committee"]
    body = cycle_body(year, members, **overrides)
    if "aygul_committee" in committee:
        body["committee"].insert(0, city.account("committee").id)
    answer = city.call("POST", "/api/v1/award-cycles", by, json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _candidates(city, cycle_id, who="committee") -> dict[str, dict]:
    answer = city.call("GET", f"/api/v1/award-cycles/{cycle_id}/candidates", who)
    assert answer.status_code == 200, answer.get_json()
    return {item["name"]: item for item in answer.get_json()["items"]}


def _vote(city, cycle_id, who, candidate, decision="approve", comment="事迹突出"):
    return city.call(
        "POST",
        f"/api/v1/award-cycles/{cycle_id}/votes",
        who,
        json={"candidate_id": candidate["candidate_id"], "decision": decision, "comment": comment},
    )


def _later(monkeypatch, days: int) -> None:
    """Let the city's calendar run on (the notice period is counted in days)."""
    real = award_ops.ledger.today
    monkeypatch.setattr(award_ops, "today", lambda: real() + timedelta(days=days))


def test_the_whole_story_from_attendance_to_a_revoked_certificate(city, year, monkeypatch):
    logins, ids = year.logins, year.ids
    cycle = _new_cycle(city, year, committee=("aygul_committee", "li", "zhao"))
    assert cycle["status"] == "draft" and cycle["majority"] == 0.667
    cycle_id = cycle["id"]
    base = f"/api/v1/award-cycles/{cycle_id}"

    opened = city.call("POST", f"{base}/open", "committee")
    assert opened.status_code == 200 and opened.get_json()["status"] == "open"

    # Candidates: ranked by points, 王芳 (one activity) is not eligible; evidence is exact.
    listed = _candidates(city, cycle_id)
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
        for (_, title, _, held), hours in zip(ACTIVITIES, ("3", "3", "2"), strict=True)
    ]
    assert aygul["dimensions"] == ["space", "culture", "economy", "society", "psychology"]
    assert aygul["hours"] == "8" and aygul["no_shows"] == []
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
    assert _vote(city, cycle_id, logins["li"], li).status_code == 409
    assert _vote(city, cycle_id, logins["li"], listed["古丽娜"]).status_code == 409
    # 赵委员 steps aside from 马建国 of their own accord.
    recused = city.call(
        "POST",
        f"{base}/recusals",
        "zhao-committee",
        json={"candidate_id": ma["candidate_id"], "reason": "亲属关系"},
    )
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
            assert _vote(city, cycle_id, who, listed[name], decision).status_code == 201
    tallied = _candidates(city, cycle_id)
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
    assert _vote(city, cycle_id, "zhao-committee", tallied["马建国"]).status_code == 409

    # A resident objects to 古丽娜; the committee upholds it; 马建国 is next in rank.
    objected = city.call(
        "POST",
        f"{base}/objections",
        logins["wang"],
        json={
            "candidate_id": tallied["古丽娜"]["candidate_id"],
            "reason": "六月活动时长有误，请核实",
        },
    )
    assert objected.status_code == 201, objected.get_json()
    publish_early = city.call("POST", f"{base}/publish", "committee")
    assert publish_early.status_code == 409
    decided = city.call(
        "POST",
        f"{base}/objections/{objected.get_json()['id']}/decision",
        "committee",
        json={"decision": "uphold", "reason": "经核实，时长记录有误"},
    )
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
    _later(monkeypatch, 6)
    published = city.call("POST", f"{base}/publish", "committee")
    assert published.status_code == 200, published.get_json()
    roll = city.call("GET", f"/api/v1/honor-roll?unit_id={year.district}&year=2026").get_json()
    (entry,) = [c for c in roll["cycles"] if c["cycle_id"] == cycle_id]
    assert [(w["name"], w["unit_name"]) for w in entry["winners"]] == [
        ("阿依古丽", "富春社区"),
        ("马建国", "富春社区"),
    ]

    # award.published is on the broker with the certificate codes.
    records = read_topic(city.platform.settings, "shiliu.awards", expect=4)
    events = [decode(r.value) for r in records]
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

    # Revoked: the certificate says so, the roll no longer lists them, the broker is told.
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
    records = read_topic(city.platform.settings, "shiliu.awards", expect=5)
    assert any(
        e.type == "award.revoked" and e.payload["certificate_code"] == code
        for e in (decode(r.value) for r in records)
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
