"""Who may sit on a 民族团结之星 committee, and who may read what of its review.

Review is confidential (issue 20, item 8): the committee of a cycle reads who voted
what and who objected; everyone else who may see the cycle (an organizer of a community below,
an administrator of the district) reads the tallies and the outcome, and an audit trail where a
vote is "a committee member's" and an objection "a resident's". The objector, signed in, finds
their own objection with the committee's decision on "我的资料" and on the notice. Only
committee members and administrators at the cycle's unit or above sit on its committee, and only
on web's signed word on their roles."""

from __future__ import annotations

import io
import json
import re

import pytest
from awards_support import cycle_body, decide_objection, object_to, recuse, with_statement
from databases import one_engine
from notifications_support import told_of
from openpyxl import load_workbook

city_engine = one_engine("Who may read what does not depend on the database engine: SQLite only.")


@pytest.fixture(scope="module")
def objected(city, year):
    """A cycle of 北仑区 judged by 马老师 (the demo committee member), 李委员 and 赵委员 (who
    changed a vote; 李委员 stepped aside from 阿依古丽), on public notice, where 王芳 has
    objected to 古丽娜: (cycle id, candidates by name, the objection)."""
    body = cycle_body(year, ["li", "zhao"])
    body["committee"].insert(0, city.account("committee").id)
    made = city.call("POST", "/api/v1/award-cycles", "committee", json=with_statement(city, body))
    assert made.status_code == 201, made.get_json()
    base = f"/api/v1/award-cycles/{made.get_json()['id']}"
    assert city.call("POST", f"{base}/open", "committee").status_code == 200
    listed = city.call("GET", f"{base}/candidates", "committee").get_json()["items"]
    listed = {c["name"]: c for c in listed}
    for name in ("阿依古丽", "古丽娜", "马建国"):
        for who in ("committee", "zhao-committee"):
            vote = {"candidate_id": listed[name]["candidate_id"], "decision": "approve"}
            assert city.call("POST", f"{base}/votes", who, json=vote).status_code == 201
    changed = city.call(
        "PUT",
        f"{base}/votes/{listed['马建国']['candidate_id']}",
        "zhao-committee",
        json={"decision": "abstain", "comment": "再看看"},
    )
    assert changed.status_code == 200, changed.get_json()
    cycle_id = made.get_json()["id"]
    recused = recuse(city, cycle_id, year.logins["li"], listed["阿依古丽"], "与候选人是邻居")
    assert recused.status_code == 201, recused.get_json()
    assert city.call("POST", f"{base}/notice", "committee").status_code == 200
    lodged = object_to(city, cycle_id, year.logins["wang"], listed["古丽娜"], "六月活动时长有误")
    assert lodged.status_code == 201, lodged.get_json()
    return cycle_id, listed, lodged.get_json()


VOTING_ACTS = ("voted", "vote_changed", "recused")
NOT_ON_THE_COMMITTEE = ("organizer", "bl-admin")


def _get(city, path: str, who: str):
    answer = city.call("GET", path, who)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("who", NOT_ON_THE_COMMITTEE)
def test_staff_outside_the_committee_read_tallies_not_named_votes_nor_the_objector(
    city, year, objected, who
):
    cycle_id, _listed, _objection = objected
    base = f"/api/v1/award-cycles/{cycle_id}"
    candidates = {c["name"]: c for c in _get(city, f"{base}/candidates", who)["items"]}
    aygul = candidates["阿依古丽"]
    assert aygul["tally"]["approve"] == 2 and aygul["tally"]["outcome"] == "approved"
    assert candidates["马建国"]["tally"]["abstain"] == 1
    for name, candidate in candidates.items():
        assert candidate["votes"] == [], name

    trail = _get(city, f"{base}/audit", who)["items"]
    hidden = {item["action"]: item for item in trail if item["actor_id"] is None}
    assert set(hidden) == {*VOTING_ACTS, "objection_lodged"}
    assert hidden["objection_lodged"]["anonymous_as"] == "resident"
    for act in VOTING_ACTS:
        item = hidden[act]
        assert item["anonymous_as"] == "committee_member", act
        assert set(item["detail"]) <= {"candidate_id"}, item  # no name, decision, reason
    assert "by" not in hidden["objection_lodged"]["detail"]
    everything = json.dumps(trail, ensure_ascii=False)
    assert year.ids["wang"] not in everything and "王芳" not in everything
    assert "与候选人是邻居" not in everything and "李委员" not in everything

    objections = _get(city, f"{base}/objections", who)["items"]
    assert objections and all(o["lodged_by"] is None for o in objections)

    workbook = city.call("GET", f"{base}/export.xlsx", who)
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.data))
    assert book["投票"].max_row == 1  # the heading only
    cells = " ".join(
        str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
    )
    assert "王芳" not in cells and year.ids["wang"] not in cells
    assert "一位居民" in cells and "一位评审委员" in cells


def test_the_committee_reads_who_voted_what_and_who_objected(city, year, objected):
    cycle_id, _listed, _objection = objected
    base = f"/api/v1/award-cycles/{cycle_id}"
    candidates = {c["name"]: c for c in _get(city, f"{base}/candidates", "zhao-committee")["items"]}
    assert {(v["member_name"], v["decision"]) for v in candidates["马建国"]["votes"]} == {
        ("北仑区评审委员 马老师", "approve"),
        ("赵委员", "abstain"),
    }
    trail = _get(city, f"{base}/audit", "committee")["items"]
    (lodged,) = [item for item in trail if item["action"] == "objection_lodged"]
    assert lodged["actor_id"] == year.ids["wang"] and lodged["detail"]["by"] == "王芳"
    assert all(item["anonymous_as"] is None for item in trail)
    (objection,) = _get(city, f"{base}/objections", "zhao-committee")["items"]
    assert objection["lodged_by"] == year.ids["wang"]
    votes = load_workbook(io.BytesIO(city.call("GET", f"{base}/export.xlsx", "committee").data))[
        "投票"
    ]
    assert votes.max_row > 1


def test_the_pages_show_an_outsider_the_outcome_and_the_committee_the_names(city, objected):
    cycle_id, _listed, objection = objected
    path = f"/awards/{cycle_id}"
    organizer = city.page_client("organizer")
    page = _text(organizer.get(path))
    assert "各委员的投票" not in page and "赵委员：赞成" not in page
    assert re.search(r"赞成 <strong>2</strong>", page)  # the tally is there
    trail = organizer.get(f"{path}/audit")
    html = _text(trail)
    assert trail.status_code == 200
    assert "王芳" not in html and "一位居民" in html and "一位评审委员" in html
    assert "赵委员" not in re.sub(r"<tr data-action=\"created\".*?</tr>", "", html, flags=re.S)
    english = _text(organizer.get(f"{path}/audit?lang=en"))
    assert "A resident" in english and "A committee member" in english
    organizer.get(f"{path}?lang=zh")

    assert "提出人" not in page
    member = city.page_client("committee")
    seen = _text(member.get(path))
    assert "各委员的投票" in seen
    card = seen[seen.index(f'id="objection-{objection["id"]}"') :]
    assert "提出人：王芳" in card[: card.index("</article>")]
    assert "王芳" in _text(member.get(f"{path}/audit"))


def test_the_objector_learns_the_decision_on_their_objection(city, year, objected):
    cycle_id, listed, objection = objected
    wang = year.logins["wang"]
    mine = _get(city, "/api/v1/award-objections/mine", wang)["items"]
    (pending,) = [o for o in mine if o["id"] == objection["id"]]
    assert pending["status"] == "pending" and pending["candidate_name"] == "古丽娜"
    assert pending["cycle_id"] == cycle_id and pending["cycle_title"] == "2026年度 民族团结之星"
    assert pending["reason"] == "六月活动时长有误" and pending["decision_reason"] is None
    assert "decided_by_name" not in pending  # the committee decides, as one
    assert city.call("GET", "/api/v1/award-objections/mine").status_code == 401
    others = _get(city, "/api/v1/award-objections/mine", year.logins["ma"])["items"]
    assert objection["id"] not in {o["id"] for o in others}

    decided = decide_objection(
        city, cycle_id, objection["id"], "dismiss", "经核实，六月活动时长无误"
    )
    assert decided.status_code == 200, decided.get_json()
    (dismissed,) = [
        o
        for o in _get(city, "/api/v1/award-objections/mine", wang)["items"]
        if o["id"] == objection["id"]
    ]
    assert dismissed["status"] == "dismissed"
    assert dismissed["decision_reason"] == "经核实，六月活动时长无误"
    assert dismissed["decided_at"]
    # The committee was told of the objection, and the objector is told of the decision.
    for who in ("committee", "zhao-committee"):
        assert len(told_of(city, who, "objection_to_decide", f"/awards/{cycle_id}")) == 1
    (told,) = told_of(city, wang, "objection_decided", "/me")
    assert "不成立" in told["text"] and "2026年度 民族团结之星" in told["text"]

    resident = city.page_client(wang)
    me = _text(resident.get("/me"))
    section = me[me.index('id="my-objections"') :]
    for fact in ("我的异议", "古丽娜", "不成立", "经核实，六月活动时长无误", "六月活动时长有误"):
        assert fact in section, fact
    assert f'href="/notices/{cycle_id}"' in section
    notice = _text(resident.get(f"/notices/{cycle_id}"))
    assert 'id="my-objections"' in notice and "经核实，六月活动时长无误" in notice
    english = _text(resident.get("/me?lang=en"))
    assert "My objections" in english and "Dismissed" in english
    resident.get("/me?lang=zh")
    # Someone who has objected to nothing sees no such section.
    assert 'id="my-objections"' not in _text(city.page_client(year.logins["ma"]).get("/me"))
    assert 'id="my-objections"' not in _text(
        city.page_client(year.logins["ma"]).get(f"/notices/{cycle_id}")
    )


# ---- who may sit on a committee ---------------------------------------------------------------


def _refused_members(answer) -> str:
    assert answer.status_code == 422, answer.get_json()
    body = answer.get_json()
    assert body["type"] == "urn:shiliu:problem:committee-not-eligible"
    return body["detail"]


def test_only_committee_members_and_administrators_at_the_unit_or_above_sit_on_a_committee(
    city, year
):
    ids = year.ids
    # A volunteer (古丽娜), an organizer of a community below, and an id nobody holds.
    for member, named in (
        (ids["gulina"], "古丽娜"),
        (city.account("organizer").id, city.account("organizer").id),
        ("no-such-account", "no-such-account"),
    ):
        body = with_statement(
            city, {**cycle_body(year, ["zhao"]), "committee": [ids["zhao"], member]}
        )
        detail = _refused_members(city.call("POST", "/api/v1/award-cycles", "committee", json=body))
        assert named in detail and "赵委员" not in detail

    # Without web's word on them, members other than the caller are not taken on trust.
    bare = cycle_body(year, ["zhao"], quorum=1)
    assert ids["zhao"] in _refused_members(
        city.call("POST", "/api/v1/award-cycles", "committee", json=bare)
    )
    # A statement web did not sign is refused.
    forged = {**bare, "committee_statement": "e30.e30.c2lnbmF0dXJl"}
    answer = city.call("POST", "/api/v1/award-cycles", "committee", json=forged)
    assert answer.status_code == 422
    assert answer.get_json()["type"] == "urn:shiliu:problem:statement-invalid"

    # 李委员 (committee at the district, though also a volunteer) and the city's administrator sit.
    body = with_statement(
        city,
        {**cycle_body(year, ["li", "zhao"]), "committee": [ids["li"], city.account("admin").id]},
    )
    seated = city.call("POST", "/api/v1/award-cycles", "committee", json=body)
    assert seated.status_code == 201, seated.get_json()
    names = {m["name"] for m in seated.get_json()["committee_members"]}
    assert names == {"李委员", city.account("admin").display_name}


def test_only_staff_who_choose_committees_get_web_s_word_on_roles(city, year):
    answer = city.call(
        "POST",
        "/api/v1/auth/staff-statement",
        "13800000001",
        json={"account_ids": [year.ids["zhao"]]},
    )
    assert answer.status_code == 403
