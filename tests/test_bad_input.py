"""Bad input is a 4xx problem+json that names the field, and changes nothing (DESIGN §8).

Each story here was once a 500 (issue 17 item 5): deep JSON, lone surrogates, control and
bidirectional override characters, dates outside the platform's range, ids beyond the database's.
"""

from __future__ import annotations

import json

import pytest
from test_activities import activities_count, new_activity
from tests_support import submit

FC = "/nb/bl/xq/fc/"
DEEP = "[" * 1000 + "]" * 1000


def send_json(city, method, path, username, text: str):
    """Send a JSON body as written (a lone surrogate cannot pass through a JSON encoder)."""
    return city.call(method, path, username, data=text, content_type="application/json")


def refused(answer, status: int, *path: str) -> dict:
    """Assert a problem+json refusal whose errors name the field at ``path``."""
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.content_type == "application/problem+json"
    body = answer.get_json()
    errors = body.get("errors", {})
    for key in path:
        assert key in errors, (path, body)
        errors = errors[key]
    assert errors, body
    return body


def json_body_operations(city) -> list[tuple[str, str]]:
    """(method, path) of every operation of the document that takes a JSON body."""
    document = city.client.get("/api/v1/openapi.json").get_json()
    return [
        (method, path.replace("{", "").replace("}", ""))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
        and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def test_json_nested_a_thousand_deep_is_refused_by_every_operation_that_takes_a_body(city):
    operations = json_body_operations(city)
    assert len(operations) >= 30
    for username in (None, "admin"):
        for method, path in operations:
            answer = send_json(city, method.upper(), path, username, DEEP)
            assert answer.status_code < 500, (method, path, answer.get_data(as_text=True))
            assert answer.content_type == "application/problem+json", (method, path)


def test_anonymous_sign_in_and_registration_with_deep_json_are_told_the_body_is_too_deep(city):
    for path in ("/api/v1/auth/token", "/api/v1/accounts"):
        body = refused(send_json(city, "POST", path, None, DEEP), 400, "json")
        assert "嵌套" in body["errors"]["json"][0]


def test_a_lone_surrogate_in_a_title_a_name_or_a_profile_is_refused_by_field(city):
    before = activities_count(city)
    text = json.dumps(new_activity(city, title="TITLE")).replace("TITLE", "\\ud800")
    refused(send_json(city, "POST", "/api/v1/activities", "organizer", text), 422, "json", "title")
    assert activities_count(city) == before

    registration = json.dumps(
        {
            "phone": "13922220001",
            "password": "pomegranate8",
            "name": "NAME",
            "home_unit_id": city.unit(FC).unit_id,
        }
    ).replace("NAME", "\\udfff")
    refused(send_json(city, "POST", "/api/v1/accounts", None, registration), 422, "json", "name")

    change = '{"display_name": "\\ud800"}'
    answer = send_json(city, "PATCH", "/api/v1/me", "13800000001", change)
    refused(answer, 422, "json", "display_name")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "邻里\x00节"),
        ("title", "邻里\n节"),
        ("title", "\u202e节里邻"),
        ("title", "邻里\u2066节\u2069"),
        ("address", "富春\x07社区"),
        ("description", "第一行\x00第二行"),
        ("description", "响铃\x1b[31m"),
    ],
)
def test_control_and_override_characters_are_refused_where_they_do_not_belong(city, field, value):
    before = activities_count(city)
    answer = city.call(
        "POST", "/api/v1/activities", "organizer", json=new_activity(city, **{field: value})
    )
    body = refused(answer, 422, "json", field)
    assert "字符" in body["errors"]["json"][field][0]
    assert activities_count(city) == before


def test_a_description_keeps_its_lines_and_tabs_and_right_to_left_text(city):
    description = "第一行\r\n第二行\n\t缩进\nمەھەللە"
    answer = city.call(
        "POST",
        "/api/v1/activities",
        "organizer",
        json=new_activity(city, description=description, title="ئاي گۈل 邻里节"),
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["description"] == description


def test_a_volunteer_name_with_a_right_to_left_override_is_refused(city):
    answer = city.register("13922220002", name="\u202e丽古依阿")
    refused(answer, 422, "json", "name")
    answer = city.call("PATCH", "/api/v1/me", "13800000001", json={"display_name": "阿\u202e依"})
    refused(answer, 422, "json", "display_name")


def test_standings_before_the_year_2000_are_refused_by_field(city):
    unit_id = city.unit("/nb/").unit_id
    answer = city.call(
        "GET", f"/api/v1/ledger/standings?unit_id={unit_id}&from=0999-01-01", "admin"
    )
    refused(answer, 422, "query", "from")


@pytest.mark.parametrize(
    "moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "1999-12-31T09:00:00Z"]
)
def test_date_times_outside_the_platform_range_are_refused_by_field(city, moment):
    anonymous = city.call("GET", f"/api/v1/activities?from={moment.replace('+', '%2B')}")
    refused(anonymous, 422, "query", "from")

    before = activities_count(city)
    answer = city.call(
        "POST", "/api/v1/activities", "organizer", json=new_activity(city, ends_at=moment)
    )
    refused(answer, 422, "json", "ends_at")
    assert activities_count(city) == before

    draft = city.call("POST", "/api/v1/activities", "organizer", json=new_activity(city)).get_json()
    path = f"/api/v1/activities/{draft['id']}"
    refused(city.call("PATCH", path, "organizer", json={"starts_at": moment}), 422, "json")
    copy = {"starts_at": moment, "ends_at": "2030-03-09T12:00:00+08:00"}
    refused(city.call("POST", f"{path}/copy", "organizer", json=copy), 422, "json", "starts_at")
    assert activities_count(city) == before + 1


def test_a_grant_id_beyond_the_database_range_is_not_found(city):
    account = city.account("organizer")
    for grant_id in (2**31, 2**63, 2**64 + 5):
        answer = city.call("DELETE", f"/api/v1/accounts/{account.id}/roles/{grant_id}", "admin")
        assert answer.status_code == 404, answer.get_data(as_text=True)
        assert answer.content_type == "application/problem+json"
        assert "grant_id" in answer.get_json()["detail"]


@pytest.mark.parametrize("version", [2**64, 2**31, 0])
def test_a_points_rule_version_outside_the_range_is_refused(city, version):
    before = activities_count(city)
    answer = city.call(
        "POST",
        "/api/v1/activities",
        "organizer",
        json=new_activity(city, points_rule_version=version),
    )
    refused(answer, 422, "json", "points_rule_version")
    assert activities_count(city) == before


def test_a_page_beyond_the_database_range_is_refused(city):
    answer = city.call("GET", f"/api/v1/activities?page={2**63}")
    refused(answer, 422, "query", "page")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "邻里\x00节"),
        ("title", "\u202e节里邻"),
        ("description", "第一行\x00"),
        ("starts_at", "9999-12-31T23:59"),
    ],
)
def test_the_activity_page_shows_the_same_rules_beside_the_field(city, field, value):
    client = city.page_client("organizer")
    before = activities_count(city)
    fields = {
        "title": "邻里节",
        "category": "festival",
        "dimensions": ["culture"],
        "host_unit_id": city.unit(FC).unit_id,
        "starts_at": "2030-03-08T09:00",
        "ends_at": "2030-03-08T12:00",
        "shifts-0-name": "志愿者",
        "shifts-0-capacity": "20",
        field: value,
    }
    answer = submit(client, "/organize/activities/new", **fields)
    assert answer.status_code == 422, answer.get_data(as_text=True)[:2000]
    page = answer.get_data(as_text=True)
    assert "字符" in page or "2000-01-01" in page
    assert activities_count(city) == before


def test_registering_on_the_page_with_a_nul_in_the_name_is_refused_beside_the_field(city):
    answer = submit(
        city.page_client(None),
        "/register",
        phone="13922220003",
        password="pomegranate8",
        name="阿依\x00古丽",
        home_unit_id=city.unit(FC).unit_id,
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)[:2000]
    assert "控制字符" in answer.get_data(as_text=True)
    assert city.account("13922220003") is None
