"""The access matrix's cases of statistics (issue 22): staff read the figures of the units they
hold a role at and below, through the API and on web's /stats pages (the page and its Excel
file); volunteers and other units' staff are refused, anonymous visitors of the pages are sent
to sign in; the year's summary is public (see tests/test_access_matrix.py)."""

from __future__ import annotations

from access_support import Case, every, unit_id

FC = "/nb/bl/xq/fc/"


def of_fc(suffix: str = "", base: str = "/api/v1/stats"):
    """The path of a statistics call (or page) about 富春社区."""
    return lambda c: f"{base}{suffix}?unit_id={unit_id(FC)(c)}"


# Staff covering 富春社区: its organizer, the district's committee member, the city's administrator.
STAFF_OF_FC = {
    **every(403),
    "anonymous": 401,
    "organizer_in": 200,
    "committee": 200,
    "admin": 200,
}

STAFF_OF_FC_PAGES = {**STAFF_OF_FC, "anonymous": 302}

STATISTICS_CASES = [
    Case("statistics", "GET", "/api/v1/stats", STAFF_OF_FC, path=of_fc()),
    Case("statistics", "GET", "/api/v1/stats/activities", STAFF_OF_FC, path=of_fc("/activities")),
    Case("statistics", "GET", "/api/v1/stats/summary", every(200), path=of_fc("/summary")),
    # web's pages: the same people; signed out, the sign-in page.
    Case("web", "GET", "/stats", STAFF_OF_FC_PAGES, page=True, path=of_fc(base="/stats")),
    Case(
        "web",
        "GET",
        "/stats/export.xlsx",
        STAFF_OF_FC_PAGES,
        page=True,
        path=of_fc("/export.xlsx", base="/stats"),
    ),
]
