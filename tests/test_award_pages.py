"""民族团结之星 on the pages (Flask's test client through web, the ledger behind it for real): a
committee member starts a cycle on the form and reads the API's objections beside the fields;
reviews the evidence and votes; a resident objects on the public notice; the committee decides,
publishes, revokes; anyone verifies a certificate. Refused forms come back with a message a
person can act on and a 4xx, never a 500."""

from __future__ import annotations

import re

from awards_support import PASSWORD, cycle_body, days_later, with_statement
from databases import one_engine
from pdf_support import qr_codes

from services.common.app import service_context

city_engine = one_engine(
    "Pages do not depend on the database engine (test_awards covers both): SQLite only."
)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _text(answer) -> str:
    return answer.get_data(as_text=True)


def _card(html: str, element_id: str) -> str:
    """The HTML of one <article> by id (a candidate's card, an objection)."""
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</article>", start)]


def _cycle(city, year, **overrides) -> dict:
    """A cycle of 北仑区 made through the API by the demo committee member, with 李委员 and 赵委员."""
    body = cycle_body(year, ["li", "zhao"], **overrides)
    body["committee"].insert(0, city.account("committee").id)
    answer = city.call("POST", "/api/v1/award-cycles", "committee", json=with_statement(city, body))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _candidates(city, cycle_id) -> dict[str, dict]:
    answer = city.call("GET", f"/api/v1/award-cycles/{cycle_id}/candidates", "committee")
    return {c["name"]: c for c in answer.get_json()["items"]}


def _on_notice(city, year) -> tuple[str, dict[str, dict]]:
    """A cycle whose winners (阿依古丽, 古丽娜) are on public notice, voted through the API;
    马建国 is approved too, next in rank."""
    cycle_id = _cycle(city, year)["id"]
    base = f"/api/v1/award-cycles/{cycle_id}"
    assert city.call("POST", f"{base}/open", "committee").status_code == 200
    listed = _candidates(city, cycle_id)
    for name in ("阿依古丽", "古丽娜", "马建国"):
        for who in ("committee", "zhao-committee"):
            body = {"candidate_id": listed[name]["candidate_id"], "decision": "approve"}
            assert city.call("POST", f"{base}/votes", who, json=body).status_code == 201
    assert city.call("POST", f"{base}/notice", "committee").status_code == 200
    return cycle_id, listed


def test_a_committee_member_starts_a_cycle_on_the_form_with_the_design_defaults(city, year):
    client = city.page_client("committee")
    form = client.get("/awards/new")
    html = _text(form)
    assert form.status_code == 200
    for name, value in (
        ("min_points", "200"),
        ("min_activities", "6"),
        ("min_dimensions", "3"),
        ("max_no_shows", "2"),
        ("majority", "0.667"),
        ("notice_days", "5"),
    ):
        assert re.search(rf'name="{name}"[^>]*value="{value}"', html), name
    units = re.search(r'<select[^>]*name="unit_id".*?</select>', html, re.S).group(0)
    assert "北仑区" in units and "宁波市" not in units  # only where I hold the committee role
    assert "赵委员" in html and "李委员" in html  # staff accounts to choose the committee from

    members = [city.account("committee").id, year.ids["zhao"]]
    fields = {
        "csrf_token": _csrf(html),
        "title": "2026年度 民族团结之星（页面）",
        "unit_id": year.district,
        "period_start": "2026-12-31",
        "period_end": "2026-01-01",
        "min_points": "40",
        "min_activities": "2",
        "min_dimensions": "3",
        "max_no_shows": "1",
        "quota": "2",
        "committee": members,
        "quorum": "3",
        "majority": "0.667",
        "notice_days": "5",
    }
    refused = client.post("/awards/new", data=fields)
    page = _text(refused)
    assert refused.status_code == 422
    assert re.search(r'data-field="period_end">[^<]*结束日期不能早于开始日期', page)
    assert 'value="2026年度 民族团结之星（页面）"' in page  # what was typed is kept
    fields.update(period_start="2026-01-01", period_end="2026-12-31")
    for change, field, message in (
        ({}, "quorum", "法定人数不能多于评审委员人数"),
        ({"min_dimensions": "7", "quorum": "2"}, "min_dimensions", "维度数须在 0 到 5 之间"),
        ({"quota": "0", "quorum": "2"}, "quota", "须在 1 到 1000 之间"),
    ):
        refused = client.post("/awards/new", data={**fields, **change})
        assert refused.status_code == 422
        assert re.search(rf'data-field="{field}">[^<]*{message}', _text(refused)), field

    no_quota = client.post("/awards/new", data={**fields, "quota": ""})
    assert no_quota.status_code == 422 and 'data-field="quota">必填' in _text(no_quota)
    not_a_share = client.post("/awards/new", data={**fields, "majority": "x"})
    assert not_a_share.status_code == 422
    assert "请填写 0.5 到 1 之间的小数" in _text(not_a_share)

    created = client.post("/awards/new", data={**fields, "quorum": ""})
    assert created.status_code == 302, _text(created)
    cycle_page = client.get(created.headers["Location"])
    html = _text(cycle_page)
    assert cycle_page.status_code == 200 and "草稿" in html and "赵委员" in html
    assert "评选已创建（草稿）" in html
    assert "至少 2 位委员投票" in html  # no quorum typed: more than half of two members

    assert city.page_client("13800000001").get("/awards/new").status_code == 403
    assert "2026年度 民族团结之星（页面）" in _text(client.get("/awards"))


def test_the_committee_reviews_the_evidence_and_votes_on_the_cycle_page(city, year):
    cycle_id = _cycle(city, year)["id"]
    path = f"/awards/{cycle_id}"
    client = city.page_client("committee")
    draft = _text(client.get(path))
    opened = client.post(f"{path}/open", data={"csrf_token": _csrf(draft)})
    assert opened.status_code == 302
    page = client.get(path)
    html = _text(page)
    assert page.status_code == 200 and "评审中" in html and "评审已开始" in html
    listed = _candidates(city, cycle_id)
    names = re.findall(
        r'class="card a-candidate[^"]*" id="candidate-[^"]+" data-name="([^"]+)"', html
    )
    assert names == ["阿依古丽", "古丽娜", "李委员", "马建国"]
    aygul = _card(html, f"candidate-{listed['阿依古丽']['candidate_id']}")
    for evidence in ("2026-03", "2026-06", "2026-09", "三月邻里节", "2026-03-08", "3 小时"):
        assert evidence in aygul, evidence
    for dimension in ("空间", "文化", "经济", "社会", "心理"):
        assert f'<span class="tag">{dimension}</span>' in aygul
    ma = _card(html, f"candidate-{listed['马建国']['candidate_id']}")
    assert "六月就业帮扶" in ma.split("no-shows")[-1]  # the no-show, by name
    assert "-5" in ma  # June's points went negative

    # A vote without a decision comes back beside the card, with a 422.
    token = _csrf(html)
    target = listed["阿依古丽"]["candidate_id"]
    vote_path = f"{path}/candidates/{target}/vote"
    empty = client.post(vote_path, data={"csrf_token": token, "comment": "很好"})
    assert empty.status_code == 422
    card = _card(_text(empty), f"candidate-{target}")
    assert "请选择赞成、反对或弃权" in card and "很好" in card

    assert (
        client.post(vote_path, data={"csrf_token": token, "decision": "approve"}).status_code == 302
    )
    voted = _text(client.get(path))
    card = _card(voted, f"candidate-{target}")
    assert "已投票：赞成" in voted and "我已投：赞成" in card and "修改投票" in card
    changed = client.post(
        vote_path,
        data={"csrf_token": token, "decision": "reject", "comment": "再看看", "change": "1"},
    )
    assert changed.status_code == 302
    mine = city.call("GET", f"/api/v1/award-cycles/{cycle_id}/candidates", "committee").get_json()
    assert next(c for c in mine["items"] if c["candidate_id"] == target)["my_vote"] == "reject"

    # Recusing needs a reason; 李委员 is recused from their own and their team's candidacies.
    recuse_path = f"{path}/candidates/{listed['马建国']['candidate_id']}/recuse"
    no_reason = client.post(recuse_path, data={"csrf_token": token, "reason": ""})
    assert no_reason.status_code == 422 and "请写明回避原因" in _text(no_reason)
    li_page = _text(city.page_client(year.logins["li"]).get(path))
    for name in ("李委员", "古丽娜"):
        card = _card(li_page, f"candidate-{listed[name]['candidate_id']}")
        assert 'class="a-recused my-vote">回避' in card and "vote-form" not in card

    # The same page in English: labels, dimensions and the automatic recusal's reason.
    english = city.page_client(year.logins["li"]).get(f"{path}?lang=en")
    text = re.sub(r"<[^>]+>", " ", _text(english))
    for label in ("Points by month", "Activities attended", "Dimensions covered", "Psychological"):
        assert label in text, label
    assert "Recused: Stepped aside automatically: the candidate themselves" in " ".join(
        text.split()
    )
    for chinese in ("每月积分", "参加的活动", "自动回避", "；"):
        assert chinese not in text, chinese

    # An organizer of 富春社区 reads the evidence and tells the story; they cannot vote.
    organizer = city.page_client("organizer")
    assert f'href="{path}"' in _text(organizer.get("/awards"))  # the district's cycle is listed
    seen = _text(organizer.get(path))
    assert "vote-form" not in seen and "story-form" in seen
    story_path = f"{path}/candidates/{target}/story"
    short = organizer.post(
        story_path,
        data={"csrf_token": _csrf(seen), "volunteer_id": year.ids["aygul"], "story": "很好"},
    )
    assert short.status_code == 422 and "事迹请至少写 10 个字" in _text(short)
    story = "常年为社区各族居民做翻译，组织邻里节和百家宴。"
    told = organizer.post(
        story_path,
        data={"csrf_token": _csrf(seen), "volunteer_id": year.ids["aygul"], "story": story},
    )
    assert told.status_code == 302 and story in _text(client.get(path))
    not_a_member = organizer.post(
        vote_path, data={"csrf_token": _csrf(seen), "decision": "approve"}
    )
    assert not_a_member.status_code == 403
    assert "只有本评选的评审委员可以投票" in _text(not_a_member)

    # The Excel file and the record pass through web.
    export = client.get(f"{path}/export.xlsx")
    assert export.status_code == 200 and export.content_type.startswith(
        "application/vnd.openxmlformats"
    )
    trail = _text(client.get(f"{path}/audit"))
    for act in ("发起评选", "开始评审", "投票", "改票", "推荐并填写事迹"):
        assert act in trail, act
    assert city.page_client("13800000001").get(path).status_code == 404


def test_a_resident_objects_on_the_public_notice_and_the_committee_decides(city, year):
    cycle_id, listed = _on_notice(city, year)
    anonymous = city.page_client(None)
    assert f"/notices/{cycle_id}" in _text(anonymous.get("/notices"))
    public = anonymous.get(f"/notices/{cycle_id}")
    html = _text(public)
    assert public.status_code == 200
    assert "阿依古丽" in html and "古丽娜" in html and "马建国" not in html
    assert "登录后可对此人选提出异议" in html and "objection-form" not in html
    assert "1380000" not in html  # never a phone number

    resident = city.page_client(year.logins["wang"])
    page = _text(resident.get(f"/notices/{cycle_id}"))
    target = listed["古丽娜"]["candidate_id"]
    objection = {"csrf_token": _csrf(page), "candidate_id": target, "reason": ""}
    no_reason = resident.post(f"/notices/{cycle_id}/objections", data=objection)
    assert no_reason.status_code == 422
    assert "请写明异议的理由（至少 5 个字）" in _card(_text(no_reason), f"candidate-{target}")
    nobody = resident.post(
        f"/notices/{cycle_id}/objections", data={**objection, "candidate_id": ""}
    )
    assert nobody.status_code == 422 and "请选择要提出异议的人选" in _text(nobody)
    in_english = resident.post(f"/notices/{cycle_id}/objections?lang=en", data=objection)
    assert in_english.status_code == 422
    assert "Please give the reason for your objection (at least 5 characters)" in _text(in_english)
    resident.get("/notices?lang=zh")  # back to Chinese (the choice is remembered)
    objection["reason"] = "六月活动时长有误，请核实"
    lodged = resident.post(f"/notices/{cycle_id}/objections", data=objection)
    assert lodged.status_code == 302
    assert "异议已提交" in _text(resident.get(lodged.headers["Location"]))
    twice = resident.post(f"/notices/{cycle_id}/objections", data=objection)
    assert twice.status_code == 409 and "你已对这位候选人提出过异议" in _text(twice)

    committee = city.page_client("committee")
    path = f"/awards/{cycle_id}"
    html = _text(committee.get(path))
    objections = city.call(
        "GET", f"/api/v1/award-cycles/{cycle_id}/objections", "committee"
    ).get_json()["items"]
    (lodged_one,) = objections
    card = _card(html, f"objection-{lodged_one['id']}")
    assert "六月活动时长有误" in card and "待处理" in card
    decide = f"{path}/objections/{lodged_one['id']}/decision"
    undecided = committee.post(decide, data={"csrf_token": _csrf(html), "reason": "已核实"})
    assert undecided.status_code == 422 and "请选择异议成立或不成立" in _text(undecided)
    upheld = committee.post(
        decide, data={"csrf_token": _csrf(html), "decision": "uphold", "reason": "经核实，时长有误"}
    )
    assert upheld.status_code == 302
    after = _text(committee.get(path))
    assert "成立" in _card(after, f"objection-{lodged_one['id']}")
    assert "递补 马建国" in after  # a place is free: the next in rank may be proposed
    proposed = committee.post(
        f"{path}/propose",
        data={"csrf_token": _csrf(after), "candidate_id": listed["马建国"]["candidate_id"]},
    )
    assert proposed.status_code == 302
    early = committee.post(f"{path}/publish", data={"csrf_token": _csrf(after)})
    assert early.status_code == 409 and "公示期至" in _text(early)
    shown = _text(anonymous.get(f"/notices/{cycle_id}"))
    assert "古丽娜" not in shown and "马建国" in shown


def test_publication_fills_the_honor_roll_and_certificates_verify(city, year, monkeypatch):
    cycle_id, listed = _on_notice(city, year)
    path = f"/awards/{cycle_id}"
    committee = city.page_client("committee")
    days_later(monkeypatch, 6)
    token = _csrf(_text(committee.get(path)))
    published = committee.post(f"{path}/publish", data={"csrf_token": token})
    assert published.status_code == 302, _text(published)
    assert "光荣榜已发布" in _text(committee.get(path))

    anonymous = city.page_client(None)
    roll = anonymous.get(f"/honors?unit_id={year.district}&year=2026")
    html = _text(roll)
    assert roll.status_code == 200
    section = html[html.index(f'data-cycle="{cycle_id}"') :]
    assert "阿依古丽" in section and "古丽娜" in section
    bad_year = anonymous.get(f"/honors?unit_id={year.district}&year=1900")
    assert bad_year.status_code == 422
    assert 'data-field="year">须在 2000 到 2100 之间' in _text(bad_year)
    not_a_year = anonymous.get(f"/honors?unit_id={year.district}&year=abc")
    assert not_a_year.status_code == 422 and "年度须为数字" in _text(not_a_year)
    assert anonymous.get("/honors?unit_id=nowhere").status_code == 422

    codes = {c["name"]: c["certificate_code"] for c in _candidates(city, cycle_id).values()}
    code = codes["阿依古丽"]
    verified = anonymous.get(f"/honors/verify/{code}")
    html = _text(verified)
    assert verified.status_code == 200 and "有效证书" in html
    for fact in ("阿依古丽", "富春社区", "2026年度 民族团结之星", "北仑区"):
        assert fact in html
    pdf = anonymous.get(f"/honors/certificates/{code}.pdf")
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    # Its QR code opens the public verification page, whichever way the PDF was fetched.
    public = service_context(city.web).settings.public_url
    assert qr_codes(pdf.data) == [f"{public}/honors/verify/{code}"]
    assert anonymous.get(f"/honors/verify?code={code.lower()}").status_code == 302
    assert anonymous.get("/honors/verify?code=").status_code == 422
    unknown = anonymous.get("/honors/verify/SL-2026-NOSUCHXX")
    assert unknown.status_code == 404
    assert "没有这个编号的证书" in _text(unknown)
    assert anonymous.get("/honors/certificates/SL-2026-NOSUCHXX.pdf").status_code == 404
    for odd in (f"/honors/certificates/{code}%0A.pdf", "/honors/verify/%0A", "/honors/verify/.."):
        assert anonymous.get(odd).status_code < 500, odd

    mine = _text(city.page_client("13800000001").get("/volunteering/me"))
    assert code in mine and "我的荣誉" in mine

    html = _text(committee.get(path))
    nobody = committee.post(f"{path}/revoke", data={"csrf_token": token, "reason": "复核"})
    assert nobody.status_code == 422 and "请选择要撤销表彰的获评人" in _text(nobody)
    revoked = committee.post(
        f"{path}/revoke",
        data={
            "csrf_token": token,
            "candidate_id": listed["古丽娜"]["candidate_id"],
            "reason": "事迹材料经复核不实",
        },
    )
    assert revoked.status_code == 302
    gone = anonymous.get(f"/honors/verify/{codes['古丽娜']}")
    assert gone.status_code == 200
    assert "已被撤销" in _text(gone) and "事迹材料经复核不实" in _text(gone)
    refused_pdf = anonymous.get(f"/honors/certificates/{codes['古丽娜']}.pdf")
    assert refused_pdf.status_code == 302


def test_a_tie_at_the_quota_line_is_decided_on_the_cycle_page(city, year):
    # 王芳 and 马建国 each earn 60 points in 2025 by manual adjustments; one place, both approved.
    second = city.add_staff("admin-awards", "第二位管理员", PASSWORD, "admin", "/nb/")
    assert second.status_code == 201, second.get_json()
    city.token("admin-awards", PASSWORD)
    for who in ("wang", "ma"):
        body = {"volunteer_id": year.ids[who], "points": 60, "reason": "补记", "date": "2025-06-01"}
        asked = city.call("POST", "/api/v1/ledger/adjustments", "admin-awards", json=body)
        approve = f"/api/v1/ledger/adjustments/{asked.get_json()['id']}/approve"
        assert city.call("POST", approve, "admin").status_code == 200
    criteria = {"min_points": 50, "min_activities": 0, "min_dimensions": 0, "max_no_shows": 0}
    cycle_id = _cycle(
        city,
        year,
        title="2025年度 民族团结之星",
        period_start="2025-01-01",
        period_end="2025-12-31",
        criteria=criteria,
        quota=1,
        quorum=1,
    )["id"]
    base = f"/api/v1/award-cycles/{cycle_id}"
    assert city.call("POST", f"{base}/open", "committee").status_code == 200
    listed = _candidates(city, cycle_id)
    assert sorted(listed) == ["王芳", "马建国"]
    for candidate in listed.values():
        body = {"candidate_id": candidate["candidate_id"], "decision": "approve"}
        assert city.call("POST", f"{base}/votes", "committee", json=body).status_code == 201

    client = city.page_client("committee")
    path = f"/awards/{cycle_id}"
    html = _text(client.get(path))
    assert "有 2 位获得通过的候选人积分相同" in html and 'name="candidate_ids"' in html
    token = _csrf(html)
    none_chosen = client.post(f"{path}/tie-break", data={"csrf_token": token, "reason": "服务更久"})
    assert none_chosen.status_code == 422 and "请选出入选的候选人" in _text(none_chosen)
    both = {
        "csrf_token": token,
        "candidate_ids": [c["candidate_id"] for c in listed.values()],
        "reason": "服务更久",
    }
    too_many = client.post(f"{path}/tie-break", data=both)
    assert too_many.status_code == 422
    assert "请从并列的 2 位候选人中选出 1 位" in _text(too_many)
    in_english = client.post(f"{path}/tie-break?lang=en", data=both)
    assert "Choose 1 of the 2 tied candidates" in _text(in_english)
    client.get("/awards?lang=zh")
    decided = client.post(
        f"{path}/tie-break",
        data={**both, "candidate_ids": [listed["马建国"]["candidate_id"]]},
    )
    assert decided.status_code == 302
    html = _text(client.get(path))
    assert "并列人选已决定" in html and "并列人选已由委员会决定：服务更久" in html
    assert re.search(r'id="would-win">马建国<', html)
