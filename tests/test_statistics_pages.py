"""The statistics pages (issue 22): /stats for staff in their scope, its Excel file read back,
the honor roll's public summary; each number the statistics service's own answer."""

from __future__ import annotations

import re
from dataclasses import replace
from io import BytesIO

import pytest
from backbone import wait_for
from databases import one_engine
from openpyxl import load_workbook
from statistics_support import held

FC, XQ, HS = "/nb/bl/xq/fc/", "/nb/bl/xq/", "/nb/bl/dq/hs/"
NOT_SHOWN = "不足 5，不显示"


city_engine = one_engine("What the pages show does not depend on the database engine: SQLite only.")


@pytest.fixture(scope="module")
def counted(city):
    """Two activities of 富春社区 and one of 横山社区 took place, counted by statistics."""
    held(city, FC, [("pv-1", "2"), ("pv-2", "3")], audience=40, groups=None)
    held(city, FC, [("pv-3", "1.5")], audience=5, groups=None)
    held(city, HS, [("pv-4", "2")], audience=12, groups=None)

    def report():
        answer = _api(city, "admin", unit_id=city.unit("/nb/").unit_id, by="unit").get_json()
        return answer["totals"]["activities_held"] >= 3 and answer

    return wait_for(report, message="statistics to count the three activities")


def _api(city, who: str, path: str = "/api/v1/stats", **query):
    return city.call("GET", path, who, query_string=query)


def _page(city, who: str | None, path: str, status: int = 200) -> str:
    answer = city.page_client(who).get(path)
    assert answer.status_code == status, answer.get_data(as_text=True)[:2000]
    return answer.get_data(as_text=True)


def _cells(html: str, table: str) -> list[list[str]]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        ]
        for r in rows
    ]


def test_the_city_administrator_sees_the_districts_with_the_service_s_figures(city, counted):
    html = _page(city, "admin", "/stats")  # the city by default: their highest unit
    rows = _cells(html, "stats-units")
    by_name = {row[0]: row for row in rows}
    assert set(by_name) == {"北仑区", "海曙区"}
    bl = next(r for r in counted["rows"] if r["label"] == "北仑区")
    assert by_name["北仑区"][1:4] == [
        str(bl["activities_held"]),
        str(bl["attendances"]),
        str(bl["volunteers"]),
    ]
    assert bl["activities_held"] >= 3 and bl["attendances"] >= 4
    totals = re.search(r'data-figure="activities_held"><dt>[^<]+</dt>\s*<dd>(\d+)</dd>', html)
    assert totals and int(totals.group(1)) == counted["totals"]["activities_held"]
    # A district is a link one level further down, for the same period.
    bl_id = city.unit("/nb/bl/").unit_id
    assert f'href="/stats?unit_id={bl_id}&amp;from=' in html
    # The charts are SVG drawn here, the months' numbers in their titles; no script among them.
    assert 'id="stats-months"' in html and 'id="stats-dimensions"' in html
    assert "<script" not in html.split('id="stats-months"', 1)[1]
    dimensions, categories = html.split('id="stats-dimensions"', 1)[1].split(
        'id="stats-categories"'
    )
    lane = r'class="lane" data-key="(\w+)" data-value="(\d+)"'
    by_dimension = {k: int(v) for k, v in re.findall(lane, dimensions)}
    assert set(by_dimension) == {"space", "culture", "economy", "society", "psychology"}
    assert by_dimension["culture"] >= 3 and by_dimension["space"] == 0
    assert dict(re.findall(lane, categories))["festival"] == str(bl["activities_held"])
    # No activity with five consenting attendees: the 三交 index is words, never a number.
    sanjiao = html.split('id="stats-sanjiao"', 1)[1]
    assert NOT_SHOWN in sanjiao and "定义" in sanjiao
    assert "fewer than 5: not shown" in _page(city, "admin", "/stats?lang=en")


def test_a_street_drills_into_a_community_and_sorts_by_a_column(city, counted):
    xq = city.unit(XQ).unit_id
    html = _page(city, "bl-admin", f"/stats?unit_id={xq}&sort=activities_held&order=desc")
    rows = _cells(html, "stats-units")
    held_counts = [int(r[1]) for r in rows]
    assert held_counts == sorted(held_counts, reverse=True) and rows[0][0] == "富春社区"
    ascending = _cells(
        _page(city, "bl-admin", f"/stats?unit_id={xq}&sort=activities_held&order=asc"),
        "stats-units",
    )
    assert [r[0] for r in ascending][-1] == "富春社区"
    fc = city.unit(FC).unit_id
    community = _page(city, "bl-admin", f"/stats?unit_id={fc}")
    trail = re.sub(r"<[^>]+>", " ", community.split('id="stats-trail">', 1)[1].split("</ol>")[0])
    assert trail.split() == ["宁波市", "北仑区", "新碶街道", "富春社区"]
    # A community has no units below; what it hosted itself is its own row, not a link.
    own = _cells(community, "stats-units")
    assert own[0][0] == "富春社区（本级）" and f'data-unit="{fc}"' in community
    api = _api(city, "bl-admin", unit_id=fc).get_json()["totals"]
    assert own[0][1] == str(api["activities_held"])
    assert api["activities_held"] >= 2 and api["attendances"] >= 3


def test_an_organizer_of_a_community_reads_only_their_own(city, counted):
    assert "富春社区" in _page(city, "organizer", "/stats")
    for path in (XQ, "/nb/", HS):
        unit_id = city.unit(path).unit_id
        refused = _page(city, "organizer", f"/stats?unit_id={unit_id}", status=403)
        assert "只能查看你所在单位及下级单位的统计" in refused
        assert _api(city, "organizer", unit_id=unit_id).status_code == 403
        export = city.page_client("organizer").get(f"/stats/export.xlsx?unit_id={unit_id}")
        assert export.status_code == 403
    _page(city, "13800000001", "/stats", status=403)
    assert city.page_client(None).get("/stats").status_code == 302  # to sign in
    assert "stats-link" in _page(city, "organizer", "/organize")
    assert "stats-link" not in _page(city, "13800000001", "/me")


def test_the_excel_file_has_every_sheet_and_the_api_s_totals(city, counted):
    xq = city.unit(XQ).unit_id
    answer = city.page_client("admin").get(f"/stats/export.xlsx?unit_id={xq}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(BytesIO(answer.data))
    assert book.sheetnames == ["总计", "下级单位", "月份", "类别", "维度", "活动台账"]
    totals = {row[0]: row[1] for row in book["总计"].iter_rows(values_only=True) if row}
    api = _api(city, "admin", unit_id=xq).get_json()["totals"]
    assert totals["活动场次"] == api["activities_held"] >= 2
    assert totals["服务人次"] == api["attendances"]
    assert totals["志愿服务时长（小时）"] == api["hours"]
    assert totals["受众人次"] == api["audience"]
    assert totals["三交指数"] == NOT_SHOWN  # words where a count under five would be
    units = [row[0] for row in book["下级单位"].iter_rows(min_row=2, values_only=True)]
    assert "富春社区" in units and "松花江社区" in units
    ledger = list(book["活动台账"].iter_rows(values_only=True))
    assert ledger[0][:3] == ("日期", "活动", "主办单位")
    lines = _api(city, "admin", "/api/v1/stats/activities", unit_id=xq).get_json()["items"]
    assert len(ledger) - 1 == len(lines)
    mine = [row for row in ledger[1:] if row[6] == 5 and row[7] == 40]
    assert mine and mine[0][2] == "富春社区" and mine[0][4] == "文化、社会"
    assert mine[0][8] == NOT_SHOWN


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-40", "日期格式应为 年-月-日，例如 2026-01-31"),
        ("to=yesterday", "日期格式应为 年-月-日，例如 2026-01-31"),
        ("from=2026-12-31&to=2026-01-01", "开始日期不能晚于结束日期"),
    ],
)
def test_a_bad_period_is_named_never_a_server_error(city, counted, query, message):
    html = _page(city, "admin", f"/stats?{query}", status=400)
    assert message in html and 'class="field invalid"' in html
    export = city.page_client("admin").get(f"/stats/export.xlsx?{query}")
    assert export.status_code == 400 and message in export.get_data(as_text=True)
    api = city.call("GET", f"/api/v1/stats?{query}", "admin")
    assert api.status_code == 422 and api.get_json()["errors"]


def test_an_unknown_unit_or_sort_is_an_answer_never_a_server_error(city, counted):
    assert "没有这个单位" in _page(city, "admin", "/stats?unit_id=no-such-unit", status=404)
    _page(city, "admin", f"/stats?unit_id={'x' * 80}", status=422)
    assert city.page_client("admin").get("/stats/export.xlsx?unit_id=nope").status_code == 404
    unsorted = _cells(_page(city, "admin", "/stats?sort=nonsense&order=sideways"), "stats-units")
    assert [row[0] for row in unsorted] == ["北仑区", "海曙区"]  # as the service lists them


def test_the_honor_roll_tells_this_year_and_hides_it_without_the_service(city, counted):
    summary = _api(city, None, "/api/v1/stats/summary").get_json()
    html = _page(city, None, "/honors")
    hours = summary["hours"]
    shown = f"{int(hours) if float(hours).is_integer() else hours}"
    assert (
        f"今年 {summary['activities_held']} 场活动、{summary['attendances']} 人次、{shown} 小时"
        in html
    )
    assert summary["activities_held"] >= 3
    web = city.web
    apps = web.config["SHILIU_SERVICE_APPS"]
    kept, settings = apps.pop("statistics"), web.extensions["shiliu"].settings
    urls = {**settings.service_urls, "statistics": "http://127.0.0.1:9"}  # nothing listens
    web.extensions["shiliu"].settings = replace(settings, service_urls=urls)
    try:
        away = _page(city, None, "/honors")
        assert 'id="year-summary"' not in away and "光荣榜" in away
        assert "服务暂时无法访问" in _page(city, "admin", "/stats", status=503)
    finally:
        apps["statistics"] = kept
        web.extensions["shiliu"].settings = settings
