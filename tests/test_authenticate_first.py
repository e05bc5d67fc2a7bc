"""Who is asking comes before what they ask: 401, then 403, then 422 (issue 18 item 8).

A caller who may not ask learns nothing from the answer: not which fields a body needs, not
which grants or cycles exist.
"""

from __future__ import annotations

from databases import one_engine

# What anyone may call without signing in (the document says so with an empty security entry).
PUBLIC = {
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/password-forgot"),
    ("post", "/api/v1/accounts"),
    ("get", "/api/v1/units"),
    ("get", "/api/v1/activities"),
    ("get", "/api/v1/activities/{activity_id}"),
    ("get", "/api/v1/ledger/rules"),
    ("get", "/api/v1/award-cycles/{cycle_id}/notice"),
    ("get", "/api/v1/award-notices"),
    ("get", "/api/v1/honor-roll"),
    ("get", "/api/v1/certificates/{code}"),
    ("get", "/api/v1/certificates/{code}/pdf"),
    ("get", "/api/v1/hours-certificates/{code}"),
    ("get", "/api/v1/stats/summary"),
}


city_engine = one_engine("The order of the checks does not depend on the database.")


def operations(city) -> dict[tuple[str, str], dict]:
    document = city.client.get("/api/v1/openapi.json").get_json()
    return {
        (method, path): operation
        for path, entries in document["paths"].items()
        for method, operation in entries.items()
        if method != "parameters"
    }


def concrete(path: str) -> str:
    return path.replace("{grant_id}", "1").replace("{", "").replace("}", "")


def test_the_document_says_which_operations_need_a_token(city):
    declared = operations(city)
    public = {key for key, operation in declared.items() if {} in operation["security"]}
    assert public == {key for key in PUBLIC if key in declared}
    assert all(operation["security"] for operation in declared.values())


def test_an_anonymous_caller_of_any_operation_that_needs_a_token_is_asked_to_sign_in(city):
    for (method, path), operation in operations(city).items():
        if {} in operation["security"]:
            continue
        for body in ("{}", '{"title": 1', "[" * 1000):
            answer = city.call(
                method.upper(), concrete(path), data=body, content_type="application/json"
            )
            assert answer.status_code == 401, (method, path, body[:20], answer.status_code)
            assert answer.content_type == "application/problem+json"


def test_an_anonymous_partial_activity_is_refused_before_its_fields_are_checked(city):
    answer = city.call("POST", "/api/v1/activities", json={"title": "半个活动"})
    assert answer.status_code == 401
    assert "errors" not in answer.get_json()


def test_an_anonymous_objection_is_refused_before_its_fields_are_checked(city):
    answer = city.call("POST", "/api/v1/award-cycles/no-such-cycle/objections", json={})
    assert answer.status_code == 401
    assert "errors" not in answer.get_json()


def test_a_volunteer_with_a_partial_activity_is_told_they_may_not_rather_than_what_is_missing(
    city,
):
    answer = city.call("POST", "/api/v1/activities", "13800000001", json={"title": "半个活动"})
    assert answer.status_code == 403
    assert "errors" not in answer.get_json()


def test_a_volunteer_probing_role_grants_cannot_tell_which_exist(city):
    organizer = city.account("organizer").id
    existing = city.call("GET", "/api/v1/me", "organizer").get_json()
    assert existing["roles"]
    grants = city.call("GET", "/api/v1/accounts?q=organizer", "admin").get_json()["items"]
    grant_ids = [g["id"] for a in grants if a["id"] == organizer for g in a["grants"]]
    assert grant_ids
    answers = {
        city.call(
            "DELETE", f"/api/v1/accounts/{organizer}/roles/{grant_id}", "13800000001"
        ).status_code
        for grant_id in (grant_ids[0], 999_999, 2**63)
    }
    assert answers == {403}
    still = city.call("GET", "/api/v1/me", "organizer").get_json()["roles"]
    assert still == existing["roles"]
