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
    activity_path,
    admin_only,
    case_cycle,
    certificate,
    certificate_code,
    current_code,
    cycle_path,
    demo_volunteer,
    every,
    first_candidate,
    fresh_activity,
    objection_path,
    organizers,
    serial,
    signed_in,
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
    Case(
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
    Case(
        "activities",
        "PATCH",
        "/api/v1/units/<unit_id>",
        admin_only(200),
        path=lambda c: f"/api/v1/units/{c.unit(SH).unit_id}",
        body=lambda c: {"name": f"松花江社区{next(serial)}"},
    ),
    Case(
        "activities", "POST", "/api/v1/activities", organizers(201), body=lambda c: activity_body(c)
    ),
    Case("activities", "GET", "/api/v1/activities", every(200)),
    Case(
        "activities",
        "GET",
        "/api/v1/activities/<activity_id>",
        every(200),
        path=lambda c: f"/api/v1/activities/{fresh_activity(c, 'published')}",
    ),
    Case(
        "activities",
        "PATCH",
        "/api/v1/activities/<activity_id>",
        organizers(200),
        path=lambda c: f"/api/v1/activities/{fresh_activity(c, 'draft')}",
        body=lambda c: {"title": "改过的标题"},
    ),
    *[
        Case(
            "activities",
            "POST",
            f"/api/v1/activities/<activity_id>/{step}",
            organizers(200),
            path=lambda c, step=step, status=status: (
                f"/api/v1/activities/{fresh_activity(c, status)}/{step}"
            ),
            body=(lambda c: {"reason": "天气原因"}) if step == "cancel" else None,
        )
        for step, status in (
            ("publish", "draft"),
            ("cancel", "published"),
            ("complete", "published"),
            ("close", "completed"),
        )
    ],
    Case(
        "activities",
        "POST",
        "/api/v1/activities/<activity_id>/copy",
        organizers(201),
        path=lambda c: f"/api/v1/activities/{fresh_activity(c, 'published')}/copy",
        body=lambda c: {
            "starts_at": "2031-05-01T06:00:00+00:00",
            "ends_at": "2031-05-01T09:00:00+00:00",
        },
    ),
    # services/volunteers
    Case(
        "volunteers",
        "PUT",
        "/api/v1/volunteers/<volunteer_id>",
        {**every(403), "anonymous": 401},
        path=lambda c: f"/api/v1/volunteers/{demo_volunteer(c)}",
        body=lambda c: {"display_name": "冒名", "home_unit_id": c.unit(FC).unit_id},
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/volunteers/<volunteer_id>",
        {**signed_in(200), "organizer_out": 403},
        path=lambda c: f"/api/v1/volunteers/{demo_volunteer(c)}",
    ),
    Case("volunteers", "GET", "/api/v1/volunteers", {**signed_in(200), "volunteer": 403}),
    # services/volunteers: sign-up, check-in, attendance (staff accounts have no volunteer
    # profile, so they cannot sign up or check in for themselves)
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/signups",
        {**signed_in(409), "volunteer": 201},
        path=activity_path("/signups"),
        body=lambda c: {},
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/activities/<activity_id>/signups/me",
        signed_in(200),
        path=activity_path("/signups/me"),
    ),
    Case(
        "volunteers",
        "DELETE",
        "/api/v1/activities/<activity_id>/signups/me",
        {**signed_in(404), "volunteer": 200},
        path=activity_path("/signups/me", prepare=volunteer_signed_up),
    ),
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/signups/<signup_id>/removal",
        ORGANIZERS_ONLY,
        path=activity_path("/signups/{extra}/removal", prepare=volunteer_signed_up),
        body=lambda c: {"reason": "测试移出"},
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/activities/<activity_id>/signups",
        ORGANIZERS_ONLY,
        path=activity_path("/signups"),
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/activities/<activity_id>/checkin-code",
        ORGANIZERS_ONLY,
        path=activity_path("/checkin-code", starts_in=SOON),
    ),
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/checkins",
        {**signed_in(409), "volunteer": 201},
        path=activity_path("/checkins", starts_in=SOON, walk_ins_allowed=True),
        body=current_code,
    ),
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/checkouts",
        {**signed_in(409), "volunteer": 200},
        path=activity_path("/checkouts", prepare=volunteer_checked_in),
        body=current_code,
    ),
    Case(
        "volunteers",
        "GET",
        "/api/v1/activities/<activity_id>/attendance",
        ORGANIZERS_ONLY,
        path=activity_path("/attendance"),
    ),
    Case(
        "volunteers",
        "POST",
        "/api/v1/activities/<activity_id>/attendance/confirm",
        ORGANIZERS_ONLY,
        path=activity_path("/attendance/confirm", starts_in=-SOON),
        body=lambda c: {"entries": [], "no_shows": []},
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
    Case(
        "volunteers",
        "GET",
        "/api/v1/hours-certificates/<code>",
        every(200),
        path=lambda c: f"/api/v1/hours-certificates/{certificate_code(c)}",
    ),
    # services/ledger
    Case(
        "ledger",
        "GET",
        "/api/v1/ledger/volunteers/<volunteer_id>",
        {**signed_in(200), "organizer_out": 403},
        path=lambda c: f"/api/v1/ledger/volunteers/{demo_volunteer(c)}",
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
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments",
        admin_only(201),
        body=lambda c: {"volunteer_id": demo_volunteer(c), "points": 2, "reason": "补记签到"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments/<adjustment_id>/approve",
        admin_only(200),
        path=lambda c: f"/api/v1/ledger/adjustments/{c.adjustment_to_approve}/approve",
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/adjustments/<adjustment_id>/reject",
        admin_only(200),
        path=lambda c: f"/api/v1/ledger/adjustments/{c.adjustment_to_reject}/reject",
        body=lambda c: {"reason": "重复申请，驳回"},
    ),
    Case("ledger", "GET", "/api/v1/ledger/rules", every(200)),
    Case(
        "ledger",
        "POST",
        "/api/v1/ledger/rules",
        admin_only(201),
        body=lambda c: {"effective_from": (date.today() + timedelta(days=2)).isoformat()},
    ),
    # services/ledger: award cycles
    Case("ledger", "GET", "/api/v1/award-cycles", signed_in(200)),
    Case(
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
    Case("ledger", "GET", "/api/v1/award-cycles/<cycle_id>", CYCLE_READERS, path=cycle_path()),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/open",
        CYCLE_RUNNERS,
        path=cycle_path("draft", "/open"),
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/candidates",
        CYCLE_READERS,
        path=cycle_path("open", "/candidates"),
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/nominations",
        {**CYCLE_READERS, "organizer_out": 403},  # only staff over the candidate's community
        path=cycle_path("open", "/nominations"),
        body=lambda c: {"volunteer_id": demo_volunteer(c), "story": "多年坚持为各族邻居义务翻译。"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/votes",
        {**admin_only(403), "committee": 201},  # members only, administrators too
        path=cycle_path("open", "/votes"),
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
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/recusals",
        {**admin_only(403), "committee": 201},
        path=cycle_path("open", "/recusals"),
        body=lambda c: {"candidate_id": first_candidate(c), "reason": "亲属关系"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/tie-break",
        CYCLE_RUNNERS,
        path=cycle_path("voted", "/tie-break", quota=2),
        body=lambda c: {
            "candidate_ids": [c.call("GET", case_cycle(c), "committee").get_json()["tie"][0]],
            "reason": "服务时长相同，按报名先后",
        },
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/notice",
        CYCLE_RUNNERS,
        path=cycle_path("voted", "/notice"),
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/notice",
        every(200),
        path=cycle_path("notice", "/notice"),
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/objections",
        CYCLE_READERS,
        path=cycle_path("notice", "/objections"),
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/objections",
        signed_in(201),
        path=cycle_path("notice", "/objections"),
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
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/proposals",
        CYCLE_RUNNERS,
        path=cycle_path("upheld", "/proposals"),
        body=lambda c: {
            "candidate_id": c.call("GET", case_cycle(c), "committee").get_json()["next_in_rank"]
        },
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/publish",
        {**CYCLE_RUNNERS, "committee": 409, "admin": 409},  # allowed, once the notice is over
        path=cycle_path("notice", "/publish"),
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/revoke",
        CYCLE_RUNNERS,
        path=cycle_path("published", "/revoke"),
        body=lambda c: {"reason": "评选程序有误，全部撤销"},
    ),
    Case(
        "ledger",
        "POST",
        "/api/v1/award-cycles/<cycle_id>/cancel",
        CYCLE_RUNNERS,
        path=cycle_path("open", "/cancel"),
        body=lambda c: {"reason": "重新发起"},
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/audit",
        CYCLE_READERS,
        path=cycle_path("open", "/audit"),
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/award-cycles/<cycle_id>/export.xlsx",
        CYCLE_READERS,
        path=cycle_path("voted", "/export.xlsx"),
    ),
    Case("ledger", "GET", "/api/v1/award-notices", every(200)),
    Case(
        "ledger",
        "GET",
        "/api/v1/honor-roll",
        every(200),
        path=lambda c: f"/api/v1/honor-roll?unit_id={c.unit('/nb/bl/').unit_id}",
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/certificates/<code>",
        every(200),
        path=lambda c: f"/api/v1/certificates/{certificate(c)}",
    ),
    Case(
        "ledger",
        "GET",
        "/api/v1/certificates/<code>/pdf",
        every(200),
        path=lambda c: f"/api/v1/certificates/{certificate(c)}/pdf",
    ),
    Case("ledger", "GET", "/api/v1/award-certificates/mine", signed_in(200)),
    Case("ledger", "GET", "/api/v1/award-objections/mine", signed_in(200)),
]
