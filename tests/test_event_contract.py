"""The event contract: every type of DESIGN.md §4 is in the catalog, and its wire form is pinned."""

from __future__ import annotations

from pathlib import Path

import pytest

from events import catalog
from events.envelope import Event, MalformedEvent, decode, utcnow

CONTRACTS = Path(__file__).parent / "contracts"

# DESIGN.md §4, copied by hand: a type dropped from the catalog fails here.
DESIGNED = {
    "shiliu.units": ["unit.created", "unit.updated"],
    "shiliu.activities": [
        "activity.published",
        "activity.updated",
        "activity.cancelled",
        "activity.completed",
        "activity.closed",
    ],
    "shiliu.volunteers": ["volunteer.registered", "volunteer.updated"],
    "shiliu.signups": [
        "signup.confirmed",
        "signup.waitlisted",
        "signup.promoted",
        "signup.cancelled",
    ],
    "shiliu.attendance": [
        "attendance.checked_in",
        "attendance.checked_out",
        "attendance.confirmed",
        "attendance.corrected",
        "attendance.no_show",
        "attendance.summarized",  # added by the sign-up and attendance issue (an aggregate)
    ],
    "shiliu.points": ["points.awarded", "points.reversed", "points.adjusted"],
    "shiliu.awards": [
        "award.cycle_opened",
        "award.candidates_listed",
        "award.notice_started",
        "award.published",
        "award.revoked",
        # added by the notifications issue (#21): what the committee and objectors are told of
        "award.tie_found",
        "award.objection_lodged",
        "award.objection_decided",
    ],
    "shiliu.accounts": ["account.access_revoked"],  # added by the security issue (#18)
}
KEYS = {
    "shiliu.units": "unit_id",
    "shiliu.activities": "activity_id",
    "shiliu.volunteers": "volunteer_id",
    "shiliu.signups": "volunteer_id",
    "shiliu.attendance": "volunteer_id",
    "shiliu.points": "volunteer_id",
    "shiliu.awards": "cycle_id",
    "shiliu.accounts": "account_id",
}
ALL = [(topic, name) for topic, names in DESIGNED.items() for name in names]
# Types whose key is not their topic's usual one: an activity-level fact on a volunteer topic.
KEY_EXCEPTIONS = {"attendance.summarized": "activity_id"}


def pinned_event(entry: catalog.EventType) -> Event:
    """The example of a type, with every generated envelope field fixed."""
    event = catalog.make_event(entry.name, entry.schema().load(entry.example), producer="contract")
    return Event(
        type=event.type,
        version=event.version,
        key=event.key,
        payload=event.payload,
        producer=event.producer,
        id="00000000-0000-4000-8000-000000000001",
        occurred_at="2026-03-08T06:00:00.000000Z",
        correlation_id="c0ffee",
    )


@pytest.mark.parametrize(("topic", "name"), ALL)
def test_every_designed_event_type_is_in_the_catalog_on_its_topic_and_key(topic, name):
    entry = catalog.get(name, 1)
    assert entry.topic == topic
    assert entry.key_field == KEY_EXCEPTIONS.get(name, KEYS[topic])


def test_the_catalog_has_no_type_the_design_does_not_know():
    assert {(e.topic, e.name) for e in catalog.all_types()} == set(ALL)


@pytest.mark.parametrize(("topic", "name"), ALL)
def test_serialized_form_is_pinned(topic, name):
    entry = catalog.get(name, 1)
    golden = (CONTRACTS / f"{name}.v1.json").read_bytes().strip()
    assert pinned_event(entry).encode() == golden
    # ... and what is on the wire loads back into the same payload.
    decoded = decode(golden)
    assert decoded.type == name and decoded.key == str(entry.example[entry.key_field])
    assert entry.dump(entry.load(decoded.payload)) == decoded.payload


def test_no_payload_schema_carries_phone_or_ethnicity():
    for entry in catalog.all_types():
        names = set(entry.schema().fields)
        assert not names & {"phone", "mobile", "ethnicity", "ethnic_group", "nation"}, entry.name


def test_consumers_ignore_fields_added_later():
    entry = catalog.get("unit.created")
    loaded = entry.load({**entry.example, "added_in_a_later_release": 1})
    assert "added_in_a_later_release" not in loaded


def test_a_payload_that_breaks_its_schema_is_refused_when_built():
    with pytest.raises(catalog.InvalidPayload) as caught:
        catalog.make_event("unit.created", {"unit_id": "u1", "name": "x"}, producer="t")
    assert "kind" in caught.value.messages


def _checked_in(shift_id: str | None, now) -> dict:
    """An ``attendance.checked_in`` payload: v-1 at a-1 by the live code."""
    return {
        "attendance_id": "r-1",
        "volunteer_id": "v-1",
        "activity_id": "a-1",
        "shift_id": shift_id,
        "checked_in_at": now,
        "method": "code",
    }


def test_a_payload_given_in_its_json_form_is_validated_once_and_kept_as_it_is():
    now = utcnow()
    payload = _checked_in("s-1", now)
    dumped = catalog.make_event("attendance.checked_in", payload, producer="t")
    given = catalog.make_event(
        "attendance.checked_in",
        {**payload, "checked_in_at": now.isoformat()},
        producer="t",
        serialized=True,
    )
    assert given.payload == dumped.payload and given.key == dumped.key
    with pytest.raises(catalog.InvalidPayload) as caught:
        catalog.make_event(
            "attendance.checked_in",
            {**payload, "checked_in_at": "yesterday", "method": "by-pigeon"},
            producer="t",
            serialized=True,
        )
    assert {"checked_in_at", "method"} <= set(caught.value.messages)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "empty"),
        (b"\xff\xfe", "UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"id": "x"}', "lacks"),
        (
            b'{"id":"nope","type":"unit.created","version":1,"occurred_at":"","producer":"",'
            b'"key":"","correlation_id":"","payload":{}}',
            "not a UUID",
        ),
    ],
)
def test_malformed_messages_are_named_as_such(raw, reason):
    with pytest.raises(MalformedEvent, match=reason):
        decode(raw)
