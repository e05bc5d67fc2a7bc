"""One OpenAPI document for the one base URL, valid, complete, with an interactive page."""

from __future__ import annotations

import re

import pytest
from databases import one_engine
from marshmallow import Schema
from openapi_spec_validator import validate

from infra.registry import PARTS
from web.openapi import SchemaClash, merge

city_engine = one_engine("The document does not depend on the database.")


def api_rules(city) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every /api/ route of every part, from the URL maps."""
    found = set()
    for name in PARTS:
        app = city.web if name == "web" else city.apps[name]
        for rule in app.url_map.iter_rules():
            if not rule.rule.startswith("/api/v1/") or rule.rule.startswith(
                ("/api/v1/docs", "/api/v1/openapi")
            ):
                continue
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            found |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_the_document_is_valid_openapi_and_lists_every_api_route(city):
    answer = city.client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.get_json()
    validate(document)
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops if m != "parameters"}
    assert api_rules(city) - documented == set()
    assert "bearer" in document["components"]["securitySchemes"]


def test_every_operation_parses_its_arguments_with_one_schema_made_up_front(city):
    """Given a schema class, webargs would build a new instance on every request (copying every
    field), which cost a check-in more than parsing its body; the parts' Blueprint hands it one
    instance, made when the operation is declared."""
    counted = 0
    for name in PARTS:
        app = city.web if name == "web" else city.apps[name]
        for endpoint, view in app.view_functions.items():
            for argument in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                assert isinstance(argument["schema"], Schema), (name, endpoint)
                counted += 1
    assert counted >= 40


def test_the_interactive_page_is_served_without_the_internet(city):
    page = city.client.get("/api/v1/docs/")
    assert page.status_code == 200 and b"/api/v1/openapi.json" in page.data
    bundle = city.client.get("/api/v1/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.data) > 100_000


def test_two_parts_may_not_define_different_schemas_under_one_name():
    one = {"components": {"schemas": {"Thing": {"type": "object"}}}}
    other = {"components": {"schemas": {"Thing": {"type": "string"}}}}
    assert merge({"a": one, "b": one})["components"]["schemas"] == {"Thing": {"type": "object"}}
    with pytest.raises(SchemaClash):
        merge({"a": one, "b": other})


def test_every_service_answers_bad_input_with_problem_json(city):
    """DESIGN §8: a 422 from any part is problem+json with per-field messages."""
    token = city.as_("admin")
    for path in ("/api/v1/activities", "/api/v1/ledger/adjustments", "/api/v1/award-cycles"):
        answer = city.client.post(path, headers=token, json={"title": 1})
        body = answer.get_json()
        assert answer.status_code == 422, (path, body)
        assert answer.content_type == "application/problem+json", path
        assert body["type"] == "urn:shiliu:problem:validation" and body["errors"]["json"], path


def test_every_operation_declares_its_success_and_its_errors_as_problem_json(city):
    """Issue 17 item 6: the document tells the truth about what each operation answers."""
    document = city.client.get("/api/v1/openapi.json").get_json()
    shared = document["components"]["responses"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (method, path)
            for code, response in responses.items():
                if code == "default" or code.startswith(("4", "5")):
                    if "$ref" in response:
                        response = shared[response["$ref"].rsplit("/", 1)[1]]
                    content = response["content"]
                    assert list(content) == ["application/problem+json"], (method, path, code)
                    assert content["application/problem+json"]["schema"]["$ref"].endswith(
                        "/Problem"
                    )


def test_decimals_are_numbers_in_the_answers_as_the_document_says(city):
    document = city.client.get("/api/v1/openapi.json").get_json()
    shift = document["components"]["schemas"]["ShiftOut"]["properties"]["hour_weight"]
    assert shift["type"] == "number"
    listed = city.client.get("/api/v1/activities").get_json()["items"]
    weights = [s["hour_weight"] for a in listed for s in a["shifts"] if s["hour_weight"]]
    assert weights and all(isinstance(w, float) for w in weights)


def test_hours_are_numbers_wherever_the_document_names_them(city):
    """Issue 19 item 3: hours are numbers in the API, never decimal strings."""
    schemas = city.client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    hours = {
        f"{name}.{prop}": spec
        for name, schema in schemas.items()
        for prop, spec in schema.get("properties", {}).items()
        if prop.endswith("hours")
    }
    assert {"AttendanceOut.hours", "VolunteerLedgerOut.hours", "RuleOut.max_hours"} <= set(hours)
    assert {key for key, spec in hours.items() if spec.get("type") != "number"} == set()
