"""The access matrix's cases of the inbox (issue 21): services/notifications' API, where each
person reaches only their own messages and administrators the deliveries, and web's inbox pages
(see tests/test_access_matrix.py)."""

from __future__ import annotations

from access_support import (
    ADMIN_PAGES,
    PAGES_NEEDING_SIGN_IN,
    Case,
    admin_only,
    api,
    demo_volunteer,
    every,
    form,
    page,
    signed_in,
)

API = "/api/v1/notifications"
NOBODY = "00000000-0000-4000-8000-000000000000"  # a message of no one: nobody may touch it

NOTIFICATION_CASES = [
    # services/notifications: one's own inbox, whoever one is; nothing for the anonymous.
    Case("notifications", "GET", API, signed_in(200)),
    Case("notifications", "GET", f"{API}/unread", signed_in(200)),
    Case("notifications", "POST", f"{API}/read-all", signed_in(200)),
    api(
        "notifications",
        "POST",
        f"{API}/<notification_id>/read",
        signed_in(404),
        notification_id=NOBODY,
    ),
    api(
        "notifications",
        "POST",
        f"{API}/<notification_id>/answer",
        signed_in(404),
        notification_id=NOBODY,
        body=lambda c: {"answer": "coming"},
    ),
    Case("notifications", "GET", f"{API}/preferences", signed_in(200)),
    Case(
        "notifications",
        "PUT",
        f"{API}/preferences",
        signed_in(200),
        body=lambda c: {"muted_kinds": [], "quiet_at_night": True, "outside_channels": True},
    ),
    Case("notifications", "GET", f"{API}/deliveries", admin_only(200)),
    # web: a phone number for the notifications worker's SMS adapter: a system token only, so no
    # person, administrators included.
    api(
        "web",
        "GET",
        "/api/v1/accounts/<account_id>/contact",
        {**every(403), "anonymous": 401},
        account_id=demo_volunteer,
    ),
    # web: the inbox pages (a form posted without its CSRF token changes nothing).
    page("GET", "/inbox", PAGES_NEEDING_SIGN_IN),
    page("GET", "/inbox/<notification_id>", signed_in(404, anonymous=302), notification_id=NOBODY),
    form("/inbox/read-all"),
    form("/inbox/<notification_id>/answer", notification_id=NOBODY),
    page("GET", "/inbox/preferences", PAGES_NEEDING_SIGN_IN),
    form("/inbox/preferences"),
    page("GET", "/admin/notifications", ADMIN_PAGES),
]
