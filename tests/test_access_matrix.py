"""Every route of every app, for every kind of caller: who may do what, and who may not.

Routes come from the apps' URL maps, so a new route without an entry here fails this test. The
cases are in tests/access_cases_services.py, tests/access_cases_web.py and (the inbox's, of
services/notifications and web) tests/access_cases_notifications.py, what they share in
tests/access_support.py.
"""

from __future__ import annotations

import pytest
from access_cases_notifications import NOTIFICATION_CASES
from access_cases_services import SERVICE_CASES
from access_cases_statistics import STATISTICS_CASES
from access_cases_web import WEB_CASES
from access_support import outcomes, prepare, routes
from databases import one_engine

CASES = [*SERVICE_CASES, *WEB_CASES, *NOTIFICATION_CASES, *STATISTICS_CASES]


city_engine = one_engine("Who may do what does not depend on the database: SQLite only, for speed.")


@pytest.fixture(scope="module")
def matrix_city(city):
    """The demo city plus an organizer of another street and a grant that can be revoked."""
    return prepare(city)


def test_every_route_has_an_entry(matrix_city):
    listed = {(case.app, case.method, case.rule) for case in CASES}
    assert routes(matrix_city) - listed == set(), "routes without an access-matrix entry"
    assert listed - routes(matrix_city) == set(), "entries for routes that no longer exist"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.app}:{c.method}:{c.rule}")
def test_access(matrix_city, case):
    assert outcomes(matrix_city, case) == case.expect
