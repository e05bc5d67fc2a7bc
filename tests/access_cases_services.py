"""The access matrix's cases of the services' routes: health, activities, volunteers, ledger and
its award cycles (see tests/test_access_matrix.py)."""

from __future__ import annotations

from datetime import date, timedelta

from access_support import (
    CYCLE_READERS,
    CYCLE_RUNNERS,
    FC,
    ORGANIZERS_ONLY,
    SH,
    SOON,
    XQ,
    Case,
    activity_body,
    activity_case,
    admin_only,
    api,
    case_cycle,
    certificate,
    certificate_code,
    current_code,
    cycle_case,
    demo_volunteer,
    draft,
    every,
    first_candidate,
    fresh_activity,
    objection_path,
    organizers,
    published,
    serial,
    signed_in,
    unit_id,
    volunteer_checked_in,
    volunteer_signed_up,
    voted_path,
)
from awards_support import with_statement

from infra.registry import PARTS

SERVICE_CASES = [
    # Health and metrics hold no personal data; operators keep /metrics inside their network.
    *[
        Case(app, "GET", rule, every(200))
        for app in PARTS
        for rule in ("/healthz", "/readyz", "/metrics")
    ],
    # Every part's readiness, the gateway's /readyz (web asks the services).
    Case("web", "GET", "/readyz/parts", every(200)),
    # services/activities
    Case("activities", "GET", "/api/v1/units", every(200)),
    api(
        "activities",
        "POST",
        "/api/v1/units",
        admin_only(201),
        body=lambda c: {
            "name": f"新建社区{next(serial)}",
            "kind": "community",
            "parent_id": c.unit(XQ).unit_id,
        },
    ),
    api(
        "activities",
        "PATCH",
        "/api/v1/units/<unit_id>",
        admin_only(200),
        unit_id=unit_id(SH),
        body=lambda c: {"name": f"松花江社区{next(serial)}"},
    ),
    api("activities", "POST", "/api/v1/activities", organizers(201), body=activity_body),
    Case("activities", "GET", "/api/v1/activities", every(200)),
    api("activities", "GET", "/api/v1/activities/<activity_id>", every(200), activity_id=published),
    api(
        "activities",
        "PATCH",
        "/api/v1/activities/<activity_id>",
        organizers(200),
        activity_id=draft,
        body=lambda c: {"title": "改过的标题"},
    ),
    *[
        api(
            "activities",
            "POST",
            f"/api/v1/activities/<activity_id>/{step}",
            organizers(200),
            activity_id=lambda c, status=status: fresh_activity(c, status),
            body=(lambda c: {"reason": "天气原因"}) if step == "cancel" else None,
        )
        for step, status in (
            ("publish", "draft"),
            ("cancel", "published"),
            ("complete", "published"),
            ("close", "completed"),
        )
    ],
    api(
        "activities",
        "POST",
        "/api/v1/activities/<activity_id>/copy",
        organizers(201),
        activity_id=published,
        body=lambda c: {
            "starts_at": "2031-05-01T06:00:00+00:00",
            "ends_at": "2031-05-01T09:00:00+00:00",
        },
    ),
    # services/volunteers
    api(
        "volunteers",
        "PUT",
        "/api/v1/volunteers/<volunteer_id>",
        {**every(403), "anonymous": 401},
        volunteer_id=demo_volunteer,
        body=lambda c: {"display_name": "冒名", "home_unit_id": c.unit(FC).unit_id},
    ),
    api(
        "volunteers",
        "GET",
        "/api/v1/volunteers/<volunteer_id>",
        {**signed_in(200), "organizer_out": 403},
        volunteer_id=demo_volunteer,
    ),
    Case("volunteers", "GET", "/api/v1/volunteers", {**signed_in(200), "volunteer": 403}),
    # services/volunteers: sign-up, check-in, attendance (staff accounts have no volunteer
    # profile, so they cannot sign up or check in for themselves)
    activity_case("POST", "/signups", {**signed_in(409), "volunteer": 201}, body=lambda c: {}),
    activity_case("GET", "/signups/me", signed_in(200)),
    activity_case(
        "DELETE", "/signups/me", {**signed_in(404), "volunteer": 200}, prepare=volunteer_signed_up
    ),
    activity_case(
        "POST",
        "/signups/<signup_id>/removal",
        ORGANIZERS_ONLY,
        body=lambda c: {"reason": "测试移出"},
        prepare=volunteer_signed_up,
    ),
    activity_case("GET", "/signups", ORGANIZERS_ONLY),
    activity_case("GET", "/checkin-code", ORGANIZERS_ONLY, starts_in=SOON),
    activity_case(
        "POST",
        "/checkins",
        {**signed_in(409), "volunteer": 201},
        body=current_code,
        starts_in=SOON,
        walk_ins_allowed=True,
    ),
    activity_case(
        "POST",
        "/checkouts",
        {**signed_in(409), "volunteer": 200},
        body=current_code,
        prepare=volunteer_checked_in,
    ),
    activity_case("GET", "/attendance", ORGANIZERS_ONLY),
    activity_case(
        "POST",
        "/attendance/confirm",
        ORGANIZERS_ONLY,
        body=lambda c: {"entries": [], "no_shows": []},
        starts_in=-SOON,
    ),
    Case("volunteers", "GET", "/api/v1/volunteers/me/signups", signed_in(200)),
    Case("volunteers", "GET", "/api/v1/volunteers/me/hours", signed_in(200)),
    Case(
        "volunteers",
        "GET",
        "/api/v1/volunteers/me/certificate.pdf",
        {**signed_in(404), "volunteer": 200},  # staff have no volunteer profile
        path=lambda c: (certificate_code(c), "/api/v1/volunteers/me/certificate.pdf")[1],
    ),
    api(
        "volunteers", "GET", "/api/v1/hours-certificates/<code>", every(200), code=certificate_code
    ),
    # services/ledger
    api(
        "ledger",
        "GET",
        "/api/v1/ledger/volunteers/<volunteer_id>",
        {**signed_in(200), "organizer_out": 403},
        volunteer_id=demo_volunteer,
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/ledger/standings",
        {**signed_in(200), "volunteer": 403, "organizer_out": 403},
        path=lambda c: f"/api/v1/ledger/standings?unit_id={c.unit(FC).unit_id}",
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/ledger/standings/community",
        {**signed_in(404), "volunteer": 200},  # staff have no community of their own
    ),
    Case("ledger", "GET", "/api/v1/ledger/verify", admin_only(200)),
    Case("ledger", "GET", "/api/v1/ledger/adjustments", admin_only(200)),
    api(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments",
        admin_only(201),
        body=lambda c: {"volunteer_id": demo_volunteer(c), "points": 2, "reason": "补记签到"},
    ),
    api(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments/<adjustment_id>/approve",
        admin_only(200),
        adjustment_id=lambda c: c.adjustment_to_approve,
    ),
    api(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments/<adjustment_id>/reject",
        admin_only(200),
        adjustment_id=lambda c: c.adjustment_to_reject,
        body=lambda c: {"reason": "重复申请，驳回"},
    ),
    Case("ledger", "GET", "/api/v1/ledger/rules", every(200)),
    api(
        "ledger",
        "POST",
        "/api/v1/ledger/rules",
        admin_only(201),
        body=lambda c: {"effective_from": (date.today() + timedelta(days=2)).isoformat()},
    ),
    # services/ledger: award cycles
    Case("ledger", "GET", "/api/v1/award-cycles", signed_in(200)),
    api(
        "ledger",
        "POST",
        "/api/v1/award-cycles",
        {**admin_only(201), "committee": 201},
        body=lambda c: with_statement(
            c,
            {
                "title": "2026年度 民族团结之星",
                "unit_id": c.unit("/nb/bl/").unit_id,
                "period_start": "2026-01-01",
                "period_end": "2026-12-31",
                "quota": 3,
                "committee": [c.account("committee").id],
                "quorum": 1,
            },
        ),
    ),
    cycle_case("GET", "", CYCLE_READERS),
    cycle_case("POST", "/open", CYCLE_RUNNERS, "draft"),
    cycle_case("GET", "/candidates", CYCLE_READERS),
    cycle_case(
        "POST",
        "/nominations",
        {**CYCLE_READERS, "organizer_out": 403},  # only staff over the candidate's community
        body=lambda c: {"volunteer_id": demo_volunteer(c), "story": "多年坚持为各族邻居义务翻译。"},
    ),
    cycle_case(
        "POST",
        "/votes",
        {**admin_only(403), "committee": 201},  # members only, administrators too
        body=lambda c: {"candidate_id": first_candidate(c), "decision": "approve"},
    ),
    Case(
        "ledger",
        "PUT",
        "/api/v1/award-cycles/<cycle_id>/votes/<candidate_id>",
        {**admin_only(403), "committee": 200},
        path=voted_path,
        body=lambda c: {"decision": "abstain", "comment": "再想想"},
    ),
    cycle_case(
        "POST",
        "/recusals",
        {**admin_only(403), "committee": 201},
        body=lambda c: {"candidate_id": first_candidate(c), "reason": "亲属关系"},
    ),
    cycle_case(
        "POST",
        "/tie-break",
        CYCLE_RUNNERS,
        "voted",
        quota=2,
        body=lambda c: {
            "candidate_ids": [c.call("GET", case_cycle(c), "committee").get_json()["tie"][0]],
            "reason": "服务时长相同，按报名先后",
        },
    ),
    cycle_case("POST", "/notice", CYCLE_RUNNERS, "voted"),
    cycle_case("GET", "/notice", every(200), "notice"),
    cycle_case("GET", "/objections", CYCLE_READERS, "notice"),
    cycle_case(
        "POST",
        "/objections",
        signed_in(201),
        "notice",
        body=lambda c: {
            "candidate_id": c.call("GET", case_cycle(c), "committee").get_json()["winners"][0],
            "reason": "请核实服务时长",
        },
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/objections/<objection_id>/decision",
        CYCLE_RUNNERS,
        path=objection_path,
        body=lambda c: {"decision": "dismiss", "reason": "经核实，时长无误"},
    ),
    cycle_case(
        "POST",
        "/proposals",
        CYCLE_RUNNERS,
        "upheld",
        body=lambda c: {
            "candidate_id": c.call("GET", case_cycle(c), "committee").get_json()["next_in_rank"]
        },
    ),
    cycle_case(
        "POST",
        "/publish",
        {**CYCLE_RUNNERS, "committee": 409, "admin": 409},  # allowed, once the notice is over
        "notice",
    ),
    cycle_case(
        "POST",
        "/revoke",
        CYCLE_RUNNERS,
        "published",
        body=lambda c: {"reason": "评选程序有误，全部撤销"},
    ),
    cycle_case("POST", "/cancel", CYCLE_RUNNERS, body=lambda c: {"reason": "重新发起"}),
    cycle_case("GET", "/audit", CYCLE_READERS),
    cycle_case("GET", "/export.xlsx", CYCLE_READERS, "voted"),
    Case("ledger", "GET", "/api/v1/award-notices", every(200)),
    Case(
        "ledger",
        "GET",
        "/api/v1/honor-roll",
        every(200),
        path=lambda c: f"/api/v1/honor-roll?unit_id={c.unit('/nb/bl/').unit_id}",
    ),
    api("ledger", "GET", "/api/v1/certificates/<code>", every(200), code=certificate),
    api("ledger", "GET", "/api/v1/certificates/<code>/pdf", every(200), code=certificate),
    Case("ledger", "GET", "/api/v1/award-certificates/mine", signed_in(200)),
    Case("ledger", "GET", "/api/v1/award-objections/mine", signed_in(200)),
]
