"""The unit tree: administrators add, rename and move units in their scope; every service learns."""

from __future__ import annotations

import logging

from backbone import wait_for
from sqlalchemy import select

from events.envelope import decode
from events.store import outbox
from services.common.app import service_context


def projected_path(city, service: str, unit_id: str):
    """The path a service's projection holds for a unit (None before it learnt of it)."""
    app = city.web if service == "web" else city.apps[service]
    model = app.extensions["shiliu"]
    from importlib import import_module

    view = import_module(
        "web.models" if service == "web" else f"services.{service}.models"
    ).UnitView
    with model.session_factory() as session:
        found = session.get(view, unit_id)
        return found.path if found else None


def test_an_administrator_adds_renames_and_moves_a_unit_and_every_service_follows(city):
    street = city.unit("/nb/bl/xq/")
    added = city.call(
        "POST",
        "/api/v1/units",
        "admin",
        json={"name": "长江社区", "kind": "community", "parent_id": street.unit_id, "slug": "cj"},
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    unit = added.get_json()
    assert unit["path"] == "/nb/bl/xq/cj/"
    team = city.call(
        "POST",
        "/api/v1/units",
        "admin",
        json={
            "name": "长江社区石榴红小队",
            "kind": "volunteer_team",
            "parent_id": unit["id"],
            "slug": "team",
        },
    ).get_json()

    other_street = city.unit("/nb/bl/dq/")
    moved = city.call(
        "PATCH",
        f"/api/v1/units/{unit['id']}",
        "admin",
        json={"parent_id": other_street.unit_id, "name": "长江新村社区"},
    )
    assert moved.status_code == 200
    assert moved.get_json() == {
        **unit,
        "name": "长江新村社区",
        "path": "/nb/bl/dq/cj/",
        "parent_id": other_street.unit_id,
    }
    for service in ("web", "volunteers", "ledger"):
        wait_for(
            lambda s=service: projected_path(city, s, team["id"]) == "/nb/bl/dq/cj/team/",
            message=f"{service} to follow the move",
        )


def test_organizers_and_administrators_of_other_units_cannot_change_the_tree(city):
    community = city.unit("/nb/bl/xq/fc/")
    as_organizer = city.call(
        "PATCH", f"/api/v1/units/{community.unit_id}", "organizer", json={"name": "改名"}
    )
    assert as_organizer.status_code == 403
    assert as_organizer.get_json()["type"] == "urn:shiliu:problem:out-of-scope"


def test_invalid_units_are_refused_with_a_reason(city):
    street = city.unit("/nb/bl/xq/")
    district = city.unit("/nb/bl/")
    cases = [
        ({"name": "", "kind": "community", "parent_id": street.unit_id}, 422, "name"),
        ({"name": "x" * 101, "kind": "community", "parent_id": street.unit_id}, 422, "name"),
        ({"name": "火星", "kind": "planet", "parent_id": street.unit_id}, 422, "kind"),
        ({"name": "飞地", "kind": "community", "parent_id": district.unit_id}, 400, "parent_id"),
        ({"name": "无根", "kind": "community", "parent_id": "nope"}, 404, None),
    ]
    for body, status, field in cases:
        answer = city.call("POST", "/api/v1/units", "admin", json=body)
        assert answer.status_code == status, (body, answer.get_data(as_text=True))
        if field:
            errors = answer.get_json()["errors"]
            assert field in errors.get("json", errors)
    fc = city.unit("/nb/bl/xq/fc/")
    into_itself = city.call(
        "PATCH", f"/api/v1/units/{street.unit_id}", "admin", json={"parent_id": fc.unit_id}
    )
    assert into_itself.status_code in (400, 409)
    nothing = city.call("PATCH", f"/api/v1/units/{street.unit_id}", "admin", json={})
    assert nothing.status_code == 400


def test_the_correlation_id_follows_a_request_into_the_event_and_the_consumer_log(city, caplog):
    caplog.set_level(logging.INFO, logger="events.consumer")
    street = city.unit("/nb/bl/xq/")
    answer = city.call(
        "POST",
        "/api/v1/units",
        "admin",
        headers={"X-Correlation-ID": "req-7f3a9c"},
        json={"name": "追踪社区", "kind": "community", "parent_id": street.unit_id},
    )
    assert answer.headers["X-Correlation-ID"] == "req-7f3a9c"
    unit_id = answer.get_json()["id"]
    factory = service_context(city.apps["activities"]).session_factory
    with factory() as session:
        [raw] = session.scalars(select(outbox.c.value).where(outbox.c.key == unit_id)).all()
    assert decode(raw).correlation_id == "req-7f3a9c"
    wait_for(lambda: projected_path(city, "ledger", unit_id), message="the ledger to apply it")
    applied = [
        r
        for r in caplog.records
        if "req-7f3a9c" in r.getMessage() or getattr(r, "msg", None) and "req-7f3a9c" in str(r.msg)
    ]
    assert applied, "the consumer's log line carries the request's correlation id"
