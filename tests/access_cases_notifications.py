"""The access matrix's cases of the inbox (issue 21): services/notifications' API, where each
person reaches only their own messages and administrators the deliveries, and web's inbox pages
(see tests/test_access_matrix.py)."""

from __future__ import annotations

from access_support import (
    ADMIN_PAGES,
    CSRF_REFUSED,
    PAGES_NEEDING_SIGN_IN,
    Case,
    admin_only,
    every,
    signed_in,
)

API = "/api/v1/notifications"
NOBODY = "00000000-0000-4000-8000-000000000000"  # a message of no one: nobody may touch it

NOTIFICATION_CASES = [
    # services/notifications: one's own inbox, whoever one is; nothing for the anonymous.
    Case("notifications", "GET", API, signed_in(200)),
    Case("notifications", "GET", f"{API}/unread", signed_in(200)),
    Case("notifications", "POST", f"{API}/read-all", signed_in(200)),
    Case(
        "notifications",
        "POST",
        f"{API}/<notification_id>/read",
        signed_in(404),
        path=lambda c: f"{API}/{NOBODY}/read",
    ),
    Case(
        "notifications",
        "POST",
        f"{API}/<notification_id>/answer",
        signed_in(404),
        path=lambda c: f"{API}/{NOBODY}/answer",
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
    Case(
        "web",
        "GET",
        "/api/v1/accounts/<account_id>/contact",
        {**every(403), "anonymous": 401},
        path=lambda c: f"/api/v1/accounts/{c.account('13800000001').id}/contact",
    ),
    # web: the inbox pages (a form posted without its CSRF token changes nothing).
    Case("web", "GET", "/inbox", PAGES_NEEDING_SIGN_IN, page=True),
    Case(
        "web",
        "GET",
        "/inbox/<notification_id>",
        signed_in(404, anonymous=302),
        path=lambda c: f"/inbox/{NOBODY}",
        page=True,
    ),
    Case("web", "POST", "/inbox/read-all", CSRF_REFUSED, page=True),
    Case(
        "web",
        "POST",
        "/inbox/<notification_id>/answer",
        CSRF_REFUSED,
        path=lambda c: f"/inbox/{NOBODY}/answer",
        page=True,
    ),
    Case("web", "GET", "/inbox/preferences", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/inbox/preferences", CSRF_REFUSED, page=True),
    Case("web", "GET", "/admin/notifications", ADMIN_PAGES, page=True),
]
