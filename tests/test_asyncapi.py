"""The event contract is documented in AsyncAPI 3, and the document is valid."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from events import catalog
from events.asyncapi import document
from infra.cli import main

SPEC = (
    Path(__file__).resolve().parent.parent
    / ".tools/node_modules/@asyncapi/specs/schemas/3.0.0.json"
)


@pytest.fixture(scope="module")
def validator():
    """A validator built from the official schema of the @asyncapi/specs npm package."""
    schema = json.loads(SPEC.read_text())
    return jsonschema.Draft7Validator(schema)


def test_shiliu_events_asyncapi_prints_a_valid_asyncapi_3_document(validator):
    result = CliRunner().invoke(main, ["events", "asyncapi"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert doc["asyncapi"] == "3.0.0"


def test_every_event_type_is_a_message_on_its_channel():
    doc = document()
    for entry in catalog.all_types():
        channel = doc["channels"][entry.topic.removeprefix("shiliu.")]
        assert channel["address"] == entry.topic
        assert f"{entry.name}.v{entry.version}" in channel["messages"]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda doc: doc["components"]["messages"]["unit.created.v1"].update(contentType=5),
        lambda doc: doc["operations"]["publish-units"].update(action="publish"),
        lambda doc: doc.pop("info"),
    ],
)
def test_the_validator_really_rejects_a_broken_document(validator, breakage):
    doc = document()
    breakage(doc)
    assert list(validator.iter_errors(doc))
