"""Statistics: the figures of a unit and the units under it, from the events as they arrive
(in process here; the recount through the broker is tests/test_statistics_recount.py)."""

from __future__ import annotations

from backbone import wait_for
from statistics_support import held

FC, XQ = "/nb/bl/xq/fc/", "/nb/bl/xq/"


def _stats(city, who: str, **query):
    return city.call("GET", "/api/v1/stats", who, query_string=query)


def test_a_street_sees_its_communities_and_ethnic_figures_only_from_five(city):
    xq = city.unit(XQ).unit_id
    before = _stats(city, "admin", unit_id=xq).get_json()["totals"]
    for n in range(4):  # four activities with three or more groups: fewer than five
        held(city, FC, [(f"sv-{n}-{k}", "2") for k in range(6)], audience=30, groups=4)
    held(city, FC, [("sv-x", "1.5")], audience=10, groups=None)

    def grown():
        totals = _stats(city, "admin", unit_id=xq).get_json()["totals"]
        return totals["activities_held"] == before["activities_held"] + 5 and totals

    totals = wait_for(grown, message="the statistics to count the new activities")
    assert totals["attendances"] == before["attendances"] + 25
    assert totals["hours"] == before["hours"] + 4 * 12 + 1.5
    assert totals["audience"] == before["audience"] + 130
    sanjiao = totals["sanjiao"]
    assert sanjiao["shown"] is False and sanjiao["share"] is None
    assert sanjiao["activities_with_three_or_more_groups"] is None  # 4: not shown
    # A fifth one: now five with three or more groups and none with fewer.
    held(city, FC, [(f"sv-5-{k}", "2") for k in range(6)], audience=0, groups=3)
    shown = wait_for(
        lambda: (
            (t := _stats(city, "admin", unit_id=xq).get_json()["totals"])["sanjiao"]["shown"] and t
        ),
        message="the fifth activity",
    )
    assert shown["sanjiao"]["activities_with_three_or_more_groups"] == 5
    assert shown["sanjiao"]["share"] == 1.0

    by_unit = _stats(city, "admin", unit_id=xq, by="unit").get_json()
    fc = next(row for row in by_unit["rows"] if row["key"] == city.unit(FC).unit_id)
    assert fc["label"] == "富春社区" and fc["activities_held"] >= 6
    by_dimension = _stats(city, "admin", unit_id=xq, by="dimension").get_json()["rows"]
    assert {row["key"] for row in by_dimension} == {
        "space",
        "culture",
        "economy",
        "society",
        "psychology",
    }
    ledger = city.call(
        "GET", "/api/v1/stats/activities", "admin", query_string={"unit_id": xq}
    ).get_json()["items"]
    assert any(line["audience"] == 130 - 120 and line["distinct_groups"] is None for line in ledger)


def test_an_organizer_reads_only_the_units_they_hold_a_role_at(city):
    assert _stats(city, "organizer", unit_id=city.unit(FC).unit_id).status_code == 200
    assert _stats(city, "organizer").get_json()["unit"]["path"] == FC  # their own by default
    refused = _stats(city, "organizer", unit_id=city.unit(XQ).unit_id)
    assert refused.status_code == 403 and "下级单位" in refused.get_json()["detail"]
    assert _stats(city, "13800000001").status_code == 403
    assert city.call("GET", "/api/v1/stats").status_code == 401
    assert _stats(city, "admin", unit_id="no-such-unit").status_code == 404
    bad = _stats(city, "admin", **{"from": "2026-12-31", "to": "2026-01-01"})
    assert bad.status_code == 422
    assert _stats(city, "admin", by="week").status_code == 422
    summary = city.call("GET", "/api/v1/stats/summary").get_json()
    assert summary["unit"]["path"] == "/nb/" and summary["activities_held"] >= 0
