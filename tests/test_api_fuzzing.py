"""Schemathesis over every operation of the one OpenAPI document (issue 17 item 6).

Requests made from the document itself — valid ones and invalid ones, anonymous and as the
city's administrator — never get a 5xx, and every answer is what the document says: its
status is declared, its content type too (errors are problem+json), its body fits the schema.
The run is bounded (a few examples per operation and mode) and derandomized, so it is the same
run every time and fits the suite's time on both engines.
"""

from __future__ import annotations

import contextlib

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 10}
SETTINGS = dict(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


@pytest.fixture(scope="module")
def api(city):
    """The merged document, loaded by schemathesis from the in-process gateway."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", city.client.application)


def operations(api) -> list:
    found = [result.ok() for result in api.get_all_operations()]
    assert len(found) >= 70
    return found


# The examples of each operation and mode, by (operation, mode): generated once and sent by both
# identities on both engines. Generating them is most of the fuzzing's time, and derandomized
# generation made the very same examples for each identity and engine anyway.
_EXAMPLES: dict[tuple[str, GenerationMode], list] = {}


def examples(operation, mode: GenerationMode) -> list:
    """One operation's bounded, derandomized examples of one mode (none where nothing of it can
    be made invalid: no parameters, no body)."""
    key = (operation.label, mode)
    if key not in _EXAMPLES:
        made: list = []

        @hypothesis.settings(max_examples=EXAMPLES[mode], **SETTINGS)
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def collect(case):
            made.append(case)

        with contextlib.suppress(hypothesis.errors.Unsatisfiable):
            collect()
        _EXAMPLES[key] = made
    return _EXAMPLES[key]


def fuzz(operation, mode: GenerationMode, headers: dict, app) -> None:
    """Send one operation's examples of one mode to the app, failing on the first broken answer."""
    for case in examples(operation, mode):
        case.call_and_validate(headers=headers, checks=CHECKS, app=app)


def test_no_request_the_document_describes_breaks_an_operation_or_its_promises(city, api):
    failures = []
    admin = city.as_("admin")
    for operation in operations(api):
        for mode in EXAMPLES:
            for headers in ({}, admin):
                try:
                    fuzz(operation, mode, headers, city.client.application)
                except (Exception, BaseExceptionGroup) as failure:  # reported together below
                    who = "admin" if headers else "anonymous"
                    failures.append(f"{operation.label} [{mode.value}, {who}]: {failure}")
    assert not failures, "\n\n".join(failures)
