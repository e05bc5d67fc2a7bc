"""The access matrix's cases of web's routes: its JSON API and its pages (see
tests/test_access_matrix.py)."""

from __future__ import annotations

from access_support import (
    ADMIN_PAGES,
    CYCLE_PAGES,
    FC,
    ORGANIZER_PAGES,
    PAGES_NEEDING_SIGN_IN,
    UNIT_ORGANIZER_PAGES,
    Case,
    admin_only,
    api,
    award_certificate,
    certificate_code,
    demo_volunteer,
    disabled_resident,
    draft,
    every,
    form,
    fresh_resident,
    page,
    page_cycle,
    prepared_resident,
    published,
    serial,
    signed_in,
    starting_soon,
    upcoming,
)

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
    api(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/roles",
        admin_only(201),
        account_id=prepared_resident,
        body=lambda c: {"role": "committee", "unit_id": c.unit(FC).unit_id},
    ),
    api(
        "web",
        "DELETE",
        "/api/v1/accounts/<account_id>/roles/<int:grant_id>",
        admin_only(204),
        account_id=prepared_resident,
        grant_id=lambda c: c.grant_to_revoke,
    ),
    # Account care: each call disables (or enables) an account of its own.
    api(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/disable",
        admin_only(200),
        account_id=fresh_resident,
        body=lambda c: {"reason": "矩阵测试"},
    ),
    api(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/enable",
        admin_only(200),
        account_id=disabled_resident,
    ),
    api(
        "web",
        "POST",
        "/api/v1/accounts/<account_id>/password-reset",
        admin_only(201),
        account_id=prepared_resident,
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
    page("GET", "/", every(200)),
    page("GET", "/favicon.ico", every(301)),
    page("GET", "/register", every(200)),
    form("/register"),
    page("GET", "/login", every(200)),
    form("/login"),
    form("/logout"),
    page("GET", "/me", PAGES_NEEDING_SIGN_IN),
    form("/me"),
    page("GET", "/me/password", PAGES_NEEDING_SIGN_IN),
    form("/me/password"),
    page("GET", "/admin/units", ADMIN_PAGES),
    form("/admin/units"),
    page("GET", "/admin/accounts", ADMIN_PAGES),
    form("/admin/accounts"),
    page("GET", "/admin/accounts/<account_id>", ADMIN_PAGES, account_id=demo_volunteer),
    form("/admin/accounts/<account_id>", account_id=demo_volunteer),
    form(
        "/admin/accounts/<account_id>/roles/<int:grant_id>/revoke",
        account_id=prepared_resident,
        grant_id=lambda c: c.grant_to_revoke,
    ),
    *[
        form(f"/admin/accounts/<account_id>/{act}", account_id=prepared_resident)
        for act in ("disable", "enable", "password-reset")
    ],
    page("GET", "/admin/sms", ADMIN_PAGES),
    page("GET", "/password/forgot", every(200)),
    form("/password/forgot"),
    page("GET", "/password/reset", every(200)),
    form("/password/reset"),
    page("GET", "/admin/audit", ADMIN_PAGES),
    page("GET", "/activities", every(200)),
    page("GET", "/activities/<activity_id>", every(200), activity_id=published),
    # Taking a published activity along (issue 20 item 16): anyone may, as anyone may read it.
    *[
        page("GET", f"/activities/<activity_id>/{what}", every(200), activity_id=published)
        for what in ("calendar.ics", "share")
    ],
    # A draft is its organizers' alone: to anyone else it does not exist.
    *[
        page("GET", rule, {**every(404), "organizer_in": 200, "admin": 200}, activity_id=draft)
        for rule in (
            "/activities/<activity_id>/calendar.ics",
            "/activities/<activity_id>/share",
            "/activities/<activity_id>",
        )
    ],
    page("GET", "/organize", ORGANIZER_PAGES),
    page("GET", "/organize/activities/new", ORGANIZER_PAGES),
    form("/organize/activities/new"),
    *[
        # Another unit's draft does not exist for an organizer outside it.
        page("GET", rule, {**ORGANIZER_PAGES, "organizer_out": 404}, activity_id=draft)
        for rule in (
            "/organize/activities/<activity_id>",
            "/organize/activities/<activity_id>/edit",
        )
    ],
    form("/organize/activities/<activity_id>/edit", activity_id=draft),
    form("/organize/activities/<activity_id>/<step>", activity_id=draft, step="publish"),
    # web: volunteering pages
    page(
        "GET", "/volunteering/activities/<activity_id>", PAGES_NEEDING_SIGN_IN, activity_id=upcoming
    ),
    form("/activities/<activity_id>/signup", activity_id=upcoming),
    form("/activities/<activity_id>/signup/cancel", activity_id=upcoming),
    page("GET", "/volunteering/me", PAGES_NEEDING_SIGN_IN),
    Case(
        "web",
        "GET",
        "/volunteering/me/certificate.pdf",
        {**every(302), "volunteer": 200},  # the others have no confirmed hours: back to the list
        page=True,
        path=lambda c: (certificate_code(c), "/volunteering/me/certificate.pdf")[1],
    ),
    page("GET", "/volunteering/verify/<code>", every(200), code=certificate_code),
    page(
        "GET",
        "/volunteering/checkin/<activity_id>",
        PAGES_NEEDING_SIGN_IN,
        activity_id=starting_soon,
    ),
    form("/volunteering/checkin/<activity_id>", activity_id=starting_soon),
    *[
        page(
            "GET",
            f"/volunteering/organize/<activity_id>/{what}",
            UNIT_ORGANIZER_PAGES,
            activity_id=upcoming,
        )
        for what in ("roster", "live", "live.json", "attendance")
    ],
    *[
        form(
            f"/volunteering/organize/<activity_id>/{action}", activity_id=upcoming, signup_id="s-1"
        )
        for action in ("signups/<signup_id>/remove", "checkins", "attendance")
    ],
    # web: 民族团结之星 pages
    page("GET", "/awards", PAGES_NEEDING_SIGN_IN),
    page("GET", "/awards/new", {**ADMIN_PAGES, "committee": 200}),
    form("/awards/new"),
    *[
        page("GET", rule, CYCLE_PAGES, cycle_id=lambda c: page_cycle(c, "draft"))
        for rule in (
            "/awards/<cycle_id>",
            "/awards/<cycle_id>/audit",
            "/awards/<cycle_id>/export.xlsx",
        )
    ],
    *[
        form(
            rule,
            cycle_id=lambda c: page_cycle(c, "draft"),
            candidate_id="c-1",
            objection_id="o-1",
            step="open",
        )
        for rule in (
            "/awards/<cycle_id>/<step>",
            "/awards/<cycle_id>/candidates/<candidate_id>/vote",
            "/awards/<cycle_id>/candidates/<candidate_id>/recuse",
            "/awards/<cycle_id>/candidates/<candidate_id>/story",
            "/awards/<cycle_id>/objections/<objection_id>/decision",
        )
    ],
    page("GET", "/notices", every(200)),
    page("GET", "/notices/<cycle_id>", every(200), cycle_id=lambda c: page_cycle(c, "notice")),
    form("/notices/<cycle_id>/objections", cycle_id=lambda c: page_cycle(c, "notice")),
    page("GET", "/honors", every(200)),
    page("GET", "/honors/verify", every(200)),
    page("GET", "/honors/verify/<code>", every(200), code=award_certificate),
    page("GET", "/honors/certificates/<code>.pdf", every(200), code=award_certificate),
    page("GET", "/points", PAGES_NEEDING_SIGN_IN),
    # A volunteer sees their rank in their community.
    page("GET", "/points/standings", PAGES_NEEDING_SIGN_IN),
    page("GET", "/points/rules", PAGES_NEEDING_SIGN_IN),
    form("/points/rules"),
    page("GET", "/points/adjustments", ADMIN_PAGES),
    form("/points/adjustments"),
    form(
        "/points/adjustments/<adjustment_id>/approve",
        adjustment_id=lambda c: c.adjustment_to_approve,
    ),
    form(
        "/points/adjustments/<adjustment_id>/reject", adjustment_id=lambda c: c.adjustment_to_reject
    ),
]
