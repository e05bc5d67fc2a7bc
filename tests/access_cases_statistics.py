"""The access matrix's cases of statistics (issue 22): staff read the figures of the units they
hold a role at and below; volunteers and other units' staff are refused; the year's summary is
public (see tests/test_access_matrix.py)."""

from __future__ import annotations

from access_support import Case, every, unit_id

FC = "/nb/bl/xq/fc/"


def of_fc(suffix: str = ""):
    """The path of a statistics call about 富春社区."""
    return lambda c: f"/api/v1/stats{suffix}?unit_id={unit_id(FC)(c)}"


# Staff covering 富春社区: its organizer, the district's committee member, the city's administrator.
STAFF_OF_FC = {
    **every(403),
    "anonymous": 401,
    "organizer_in": 200,
    "committee": 200,
    "admin": 200,
}

STATISTICS_CASES = [
    Case("statistics", "GET", "/api/v1/stats", STAFF_OF_FC, path=of_fc()),
    Case("statistics", "GET", "/api/v1/stats/activities", STAFF_OF_FC, path=of_fc("/activities")),
    Case("statistics", "GET", "/api/v1/stats/summary", every(200), path=of_fc("/summary")),
]
