"""The access matrix's cases of web's routes: its JSON API and its pages (see
tests/test_access_matrix.py)."""

from __future__ import annotations

from access_support import (
    ADMIN_PAGES,
    CSRF_REFUSED,
    CYCLE_PAGES,
    FC,
    ORGANIZER_PAGES,
    PAGES_NEEDING_SIGN_IN,
    SOON,
    UNIT_ORGANIZER_PAGES,
    Case,
    admin_only,
    award_certificate,
    certificate_code,
    demo_volunteer,
    disabled_resident,
    every,
    fresh_activity,
    fresh_resident,
    organize_path,
    page_cycle,
    serial,
    signed_in,
)
from volunteering import city_activity

WEB_CASES = [
    # web: JSON API
    Case(
        "web",
        "POST",
        "/api/v1/auth/token",
        every(200),
        body=lambda c: {"username": "13800000001", "password": "shiliu2026"},
    ),
    # Anyone may spend a refresh token; one that was never issued is refused for everyone.
    Case(
        "web",
        "POST",
        "/api/v1/auth/refresh",
        every(401),
        body=lambda c: {"refresh_token": "never-issued"},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/auth/staff-statement",
        {**admin_only(200), "committee": 200},
        body=lambda c: {"account_ids": [c.account("committee").id]},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/accounts",
        every(201),
        body=lambda c: {
            "phone": f"1370000{next(serial):04d}",
            "password": "pomegranate8",
            "name": "新居民",
            "home_unit_id": c.unit(FC).unit_id,
        },
    ),
    Case("web", "GET", "/api/v1/me", signed_in(200)),
    Case(
        "web",
        "PATCH",
        "/api/v1/me",
        {**signed_in(400), "volunteer": 200},
        body=lambda c: {"languages": ["普通话"]},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/me/password",
        signed_in(400),
        body=lambda c: {"current_password": "not-mine-1", "new_password": "whatever2026"},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/staff",
        admin_only(201),
        body=lambda c: {
            "username": f"staff{next(serial)}",
            "name": "社工",
            "password": "helper2026",
            "role": "organizer",
            "unit_id": c.unit(FC).unit_id,
        },
    ),
    Case("web", "GET", "/api/v1/accounts", admin_only(200)),
    Case(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/roles",
        admin_only(201),
        path=lambda c: f"/api/v1/accounts/{c.resident}/roles",
        body=lambda c: {"role": "committee", "unit_id": c.unit(FC).unit_id},
    ),
    Case(
        "web",
        "DELETE",
        "/api/v1/accounts/<account_id>/roles/<int:grant_id>",
        admin_only(204),
        path=lambda c: f"/api/v1/accounts/{c.resident}/roles/{c.grant_to_revoke}",
    ),
    # Account care: each call disables (or enables) an account of its own.
    Case(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/disable",
        admin_only(200),
        path=lambda c: f"/api/v1/accounts/{fresh_resident(c)}/disable",
        body=lambda c: {"reason": "矩阵测试"},
    ),
    Case(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/enable",
        admin_only(200),
        path=lambda c: f"/api/v1/accounts/{disabled_resident(c)}/enable",
    ),
    Case(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/password-reset",
        admin_only(201),
        path=lambda c: f"/api/v1/accounts/{c.resident}/password-reset",
    ),
    # Anyone may set a password with a code; a code that was never issued is refused for all.
    Case(
        "web",
        "POST",
        "/api/v1/auth/password-reset",
        every(400),
        body=lambda c: {
            "username": "13700000000",
            "code": "ABCDE-FGHJK",
            "new_password": "a1b2c3d4e5",
        },
    ),
    # Anyone may ask for a code by SMS, and everyone gets the same answer.
    Case(
        "web",
        "POST",
        "/api/v1/auth/password-forgot",
        every(202),
        body=lambda c: {"username": f"1370001{next(serial):04d}"},
    ),
    Case("web", "GET", "/api/v1/audit", admin_only(200)),
    Case("web", "GET", "/api/v1/openapi.json", every(200)),
    Case("web", "GET", "/api/v1/docs/", every(200), page=True),
    Case(
        "web",
        "GET",
        "/api/v1/docs/<path:path>",
        every(200),
        page=True,
        path=lambda c: "/api/v1/docs/swagger-ui.css",
    ),
    # web: pages
    Case("web", "GET", "/", every(200), page=True),
    Case("web", "GET", "/favicon.ico", every(301), page=True),
    Case("web", "GET", "/register", every(200), page=True),
    Case("web", "POST", "/register", CSRF_REFUSED, page=True),
    Case("web", "GET", "/login", every(200), page=True),
    Case("web", "POST", "/login", CSRF_REFUSED, page=True),
    Case("web", "POST", "/logout", CSRF_REFUSED, page=True),
    Case("web", "GET", "/me", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/me", CSRF_REFUSED, page=True),
    Case("web", "GET", "/me/password", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/me/password", CSRF_REFUSED, page=True),
    Case("web", "GET", "/admin/units", ADMIN_PAGES, page=True),
    Case("web", "POST", "/admin/units", CSRF_REFUSED, page=True),
    Case("web", "GET", "/admin/accounts", ADMIN_PAGES, page=True),
    Case("web", "POST", "/admin/accounts", CSRF_REFUSED, page=True),
    Case(
        "web",
        "GET",
        "/admin/accounts/<account_id>",
        ADMIN_PAGES,
        page=True,
        path=lambda c: f"/admin/accounts/{demo_volunteer(c)}",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{demo_volunteer(c)}",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>/roles/<int:grant_id>/revoke",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{c.resident}/roles/{c.grant_to_revoke}/revoke",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>/disable",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{c.resident}/disable",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>/enable",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{c.resident}/enable",
    ),
    Case(
        "web",
        "POST",
        "/admin/accounts/<account_id>/password-reset",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/admin/accounts/{c.resident}/password-reset",
    ),
    Case("web", "GET", "/admin/sms", ADMIN_PAGES, page=True),
    Case("web", "GET", "/password/forgot", every(200), page=True),
    Case("web", "POST", "/password/forgot", CSRF_REFUSED, page=True),
    Case("web", "GET", "/password/reset", every(200), page=True),
    Case("web", "POST", "/password/reset", CSRF_REFUSED, page=True),
    Case("web", "GET", "/admin/audit", ADMIN_PAGES, page=True),
    Case("web", "GET", "/activities", every(200), page=True),
    Case(
        "web",
        "GET",
        "/activities/<activity_id>",
        every(200),
        page=True,
        path=lambda c: f"/activities/{fresh_activity(c, 'published')}",
    ),
    # Taking a published activity along (issue 20 item 16): anyone may, as anyone may read it.
    *[
        Case(
            "web",
            "GET",
            f"/activities/<activity_id>/{what}",
            every(200),
            page=True,
            path=lambda c, what=what: f"/activities/{fresh_activity(c, 'published')}/{what}",
        )
        for what in ("calendar.ics", "share")
    ],
    # A draft is its organizers' alone: to anyone else it does not exist.
    *[
        Case(
            "web",
            "GET",
            f"/activities/<activity_id>/{what}",
            {**every(404), "organizer_in": 200, "admin": 200},
            page=True,
            path=lambda c, what=what: f"/activities/{fresh_activity(c, 'draft')}/{what}",
        )
        for what in ("calendar.ics", "share")
    ],
    Case(
        "web",
        "GET",
        "/activities/<activity_id>",
        {**every(404), "organizer_in": 200, "admin": 200},
        page=True,
        path=lambda c: f"/activities/{fresh_activity(c, 'draft')}",
    ),
    Case("web", "GET", "/organize", ORGANIZER_PAGES, page=True),
    Case("web", "GET", "/organize/activities/new", ORGANIZER_PAGES, page=True),
    Case("web", "POST", "/organize/activities/new", CSRF_REFUSED, page=True),
    *[
        Case(
            "web",
            "GET",
            # Another unit's draft does not exist for an organizer outside it.
            rule,
            {**ORGANIZER_PAGES, "organizer_out": 404},
            page=True,
            path=lambda c, rule=rule: rule.replace("<activity_id>", fresh_activity(c, "draft")),
        )
        for rule in (
            "/organize/activities/<activity_id>",
            "/organize/activities/<activity_id>/edit",
        )
    ],
    Case(
        "web",
        "POST",
        "/organize/activities/<activity_id>/edit",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/organize/activities/{fresh_activity(c, 'draft')}/edit",
    ),
    Case(
        "web",
        "POST",
        "/organize/activities/<activity_id>/<step>",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/organize/activities/{fresh_activity(c, 'draft')}/publish",
    ),
    # web: volunteering pages
    Case(
        "web",
        "GET",
        "/volunteering/activities/<activity_id>",
        PAGES_NEEDING_SIGN_IN,
        page=True,
        path=lambda c: f"/volunteering/activities/{city_activity(c)['activity_id']}",
    ),
    Case(
        "web",
        "POST",
        "/activities/<activity_id>/signup",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/activities/{city_activity(c)['activity_id']}/signup",
    ),
    Case(
        "web",
        "POST",
        "/activities/<activity_id>/signup/cancel",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/activities/{city_activity(c)['activity_id']}/signup/cancel",
    ),
    Case("web", "GET", "/volunteering/me", PAGES_NEEDING_SIGN_IN, page=True),
    Case(
        "web",
        "GET",
        "/volunteering/me/certificate.pdf",
        {**every(302), "volunteer": 200},  # the others have no confirmed hours: back to the list
        page=True,
        path=lambda c: (certificate_code(c), "/volunteering/me/certificate.pdf")[1],
    ),
    Case(
        "web",
        "GET",
        "/volunteering/verify/<code>",
        every(200),
        page=True,
        path=lambda c: f"/volunteering/verify/{certificate_code(c)}",
    ),
    Case(
        "web",
        "GET",
        "/volunteering/checkin/<activity_id>",
        PAGES_NEEDING_SIGN_IN,
        page=True,
        path=lambda c: f"/volunteering/checkin/{city_activity(c, starts_in=SOON)['activity_id']}",
    ),
    Case(
        "web",
        "POST",
        "/volunteering/checkin/<activity_id>",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/volunteering/checkin/{city_activity(c, starts_in=SOON)['activity_id']}",
    ),
    *[
        Case(
            "web",
            "GET",
            f"/volunteering/organize/<activity_id>/{page}",
            UNIT_ORGANIZER_PAGES,
            page=True,
            path=organize_path(page),
        )
        for page in ("roster", "live", "live.json", "attendance")
    ],
    *[
        Case(
            "web",
            "POST",
            f"/volunteering/organize/<activity_id>/{action}",
            CSRF_REFUSED,
            page=True,
            path=organize_path(action.replace("<signup_id>", "s-1")),
        )
        for action in ("signups/<signup_id>/remove", "checkins", "attendance")
    ],
    # web: 民族团结之星 pages
    Case("web", "GET", "/awards", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "GET", "/awards/new", {**ADMIN_PAGES, "committee": 200}, page=True),
    Case("web", "POST", "/awards/new", CSRF_REFUSED, page=True),
    *[
        Case(
            "web",
            "GET",
            rule,
            CYCLE_PAGES,
            page=True,
            path=lambda c, rule=rule: rule.replace("<cycle_id>", page_cycle(c, "draft")),
        )
        for rule in (
            "/awards/<cycle_id>",
            "/awards/<cycle_id>/audit",
            "/awards/<cycle_id>/export.xlsx",
        )
    ],
    *[
        Case(
            "web",
            "POST",
            rule,
            CSRF_REFUSED,
            page=True,
            path=lambda c, rule=rule: (
                rule.replace("<cycle_id>", page_cycle(c, "draft"))
                .replace("<candidate_id>", "c-1")
                .replace("<objection_id>", "o-1")
                .replace("<step>", "open")
            ),
        )
        for rule in (
            "/awards/<cycle_id>/<step>",
            "/awards/<cycle_id>/candidates/<candidate_id>/vote",
            "/awards/<cycle_id>/candidates/<candidate_id>/recuse",
            "/awards/<cycle_id>/candidates/<candidate_id>/story",
            "/awards/<cycle_id>/objections/<objection_id>/decision",
        )
    ],
    Case("web", "GET", "/notices", every(200), page=True),
    Case(
        "web",
        "GET",
        "/notices/<cycle_id>",
        every(200),
        page=True,
        path=lambda c: f"/notices/{page_cycle(c, 'notice')}",
    ),
    Case(
        "web",
        "POST",
        "/notices/<cycle_id>/objections",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/notices/{page_cycle(c, 'notice')}/objections",
    ),
    Case("web", "GET", "/honors", every(200), page=True),
    Case("web", "GET", "/honors/verify", every(200), page=True),
    Case(
        "web",
        "GET",
        "/honors/verify/<code>",
        every(200),
        page=True,
        path=lambda c: f"/honors/verify/{award_certificate(c)}",
    ),
    Case(
        "web",
        "GET",
        "/honors/certificates/<code>.pdf",
        every(200),
        page=True,
        path=lambda c: f"/honors/certificates/{award_certificate(c)}.pdf",
    ),
    Case("web", "GET", "/points", PAGES_NEEDING_SIGN_IN, page=True),
    Case(
        "web",
        "GET",
        "/points/standings",
        PAGES_NEEDING_SIGN_IN,  # a volunteer sees their rank in their community
        page=True,
    ),
    Case("web", "GET", "/points/rules", PAGES_NEEDING_SIGN_IN, page=True),
    Case("web", "POST", "/points/rules", CSRF_REFUSED, page=True),
    Case("web", "GET", "/points/adjustments", ADMIN_PAGES, page=True),
    Case("web", "POST", "/points/adjustments", CSRF_REFUSED, page=True),
    Case(
        "web",
        "POST",
        "/points/adjustments/<adjustment_id>/approve",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/points/adjustments/{c.adjustment_to_approve}/approve",
    ),
    Case(
        "web",
        "POST",
        "/points/adjustments/<adjustment_id>/reject",
        CSRF_REFUSED,
        page=True,
        path=lambda c: f"/points/adjustments/{c.adjustment_to_reject}/reject",
    ),
]
