"""HTTP handlers of services/volunteers: parse, call one operation, shape the answer."""

from __future__ import annotations

from decimal import Decimal

from flask import Response, current_app, request
from marshmallow import fields

from events.envelope import utcnow
from services.common.api import Blueprint, PageArgs, file_answer, one_page, public, roles
from services.common.app import connection_transaction, db, service_context, transaction
from services.common.auth import (
    STAFF_ROLES,
    SYSTEM,
    Forbidden,
    require_principal,
    require_system,
)
from services.common.errors import DomainError
from services.volunteers import operations
from services.volunteers.models import ActivityView, Attendance, Signup
from services.volunteers.rules import CODE_STEP_SECONDS, checkin_window, local_time
from services.volunteers.schemas import (
    AttendanceTable,
    CertificateCheck,
    CheckinCodeOut,
    CheckinIn,
    CheckinOut,
    ConfirmIn,
    ConfirmOut,
    MyHours,
    MySignupForActivity,
    MySignupPage,
    ProfileIn,
    RemovalIn,
    RosterPage,
    SignupIn,
    SignupOut,
    VolunteerOut,
    VolunteerPage,
    VolunteerPrivateOut,
)

blp = Blueprint("volunteers", __name__, url_prefix="/api/v1/volunteers", description="志愿者")
signups = Blueprint(
    "signups",
    __name__,
    url_prefix="/api/v1/activities",
    description="报名、签到与时长 Sign-up, check-in and attendance",
)
certificates = Blueprint(
    "hours_certificates",
    __name__,
    url_prefix="/api/v1/hours-certificates",
    description="志愿服务时长证明 Volunteer-hours certificates",
)
ORGANIZING = ("organizer", "admin")


@blp.put("/<volunteer_id>")
@roles(SYSTEM)
@blp.arguments(ProfileIn)
@blp.response(200, VolunteerPrivateOut)
def save_profile(body, volunteer_id):
    """Create or update a profile (web's own call on registration and profile changes)."""
    require_system()
    with transaction() as session:
        volunteer, _created = operations.save_profile(session, volunteer_id, body)
        return volunteer


@blp.get("/<volunteer_id>")
@blp.doc(
    responses={
        "200": {
            "description": "the whole profile for its owner and administrators, "
            "without ethnicity for organizers",
            "content": {"application/json": {"schema": VolunteerPrivateOut}},
        }
    }
)
def get_volunteer(volunteer_id):
    """A profile: its owner and administrators in scope see all of it, organizers in scope the rest."""
    who = require_principal()
    volunteer = operations.get_volunteer(db(), volunteer_id)
    if who.system or who.account_id == volunteer.id or who.can("admin", volunteer.home_unit_path):
        return VolunteerPrivateOut().dump(volunteer)
    if who.can(STAFF_ROLES, volunteer.home_unit_path):
        return VolunteerOut().dump(volunteer)
    raise Forbidden("只能查看自己或本辖区志愿者的资料", code="out-of-scope")


@blp.get("")
@roles("organizer", "committee", "admin")
@blp.arguments(PageArgs, location="query")
@blp.response(200, VolunteerPage)
def list_volunteers(args):
    """The volunteers living within the caller's staff scope."""
    who = require_principal()
    paths = who.paths(STAFF_ROLES)
    if not paths:
        raise Forbidden("只有工作人员可以查看志愿者名单", code="staff-only")
    items, total = operations.list_volunteers(db(), paths, args["page"], args["per_page"])
    return one_page(items, total, args)


# ---- shaping -----------------------------------------------------------------------------


def brief(activity: ActivityView) -> dict:
    """An activity as volunteers here see it, with its sign-up and check-in windows."""
    opens, closes = operations.signup_window(activity)
    checkin_opens, checkin_closes = checkin_window(
        activity.starts_at, activity.ends_at, activity.checkin_opens_at, activity.checkin_closes_at
    )
    return {
        "activity_id": activity.activity_id,
        "title": activity.title,
        "status": activity.status,
        "cancel_reason": activity.cancel_reason,
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "address": activity.address,
        "host_unit_id": activity.host_unit_id,
        "walk_ins_allowed": activity.walk_ins_allowed,
        "signup_opens_at": opens,
        "signup_closes_at": closes,
        "checkin_opens_at": checkin_opens,
        "checkin_closes_at": checkin_closes,
        "needs_location": activity.needs_location,
    }


def shift_places(session, activity: ActivityView) -> list[dict]:
    """The shifts of an activity with their free places and queues."""
    waiting = operations.waiting_counts(session, activity.activity_id)
    return [
        {
            "shift_id": s.shift_id,
            "name": s.name,
            "capacity": s.capacity,
            "taken": s.taken,
            "free": max(0, s.capacity - s.taken),
            "waiting": waiting.get(s.shift_id, 0),
            "hour_weight": s.hour_weight,
        }
        for s in operations.shifts_of(session, activity.activity_id)
    ]


SIGNUP_FIELDS = tuple(SignupOut().fields)
ATTENDANCE_FIELDS = tuple(CheckinOut().fields)
ATTENDANCE_TIMES = tuple(
    name for name, field in CheckinOut().fields.items() if isinstance(field, fields.DateTime)
)


def signup_out(session, signup: Signup, position: int | None = -1) -> dict:
    """A sign-up with its waitlist position (looked up unless given)."""
    body = {name: getattr(signup, name, None) for name in SIGNUP_FIELDS}
    body["waitlist_position"] = (
        operations.waitlist_position(session, signup) if position == -1 else position
    )
    return body


def organizer_of(session, activity_id: str) -> tuple[ActivityView, object]:
    """The activity, if the caller organizes at a unit covering its host unit."""
    who = require_principal()
    activity = operations.get_activity(session, activity_id)
    if not who.can(ORGANIZING, activity.host_unit_path):
        raise Forbidden("只有主办单位的活动组织者可以操作", code="out-of-scope")
    return activity, who


def checkin_answer(record: Attendance, created: bool, verb: str = "签到") -> Response:
    """The attendance record with a sentence for the volunteer, in the JSON form CheckinOut
    gives it (written here, not dumped by the schema: check-in is the busiest call there is)."""
    body = {name: getattr(record, name, None) for name in ATTENDANCE_FIELDS}
    for name in ATTENDANCE_TIMES:
        if body[name] is not None:
            body[name] = body[name].isoformat()
    if body["hours"] is not None:
        body["hours"] = float(body["hours"])  # a number, as AttendanceOut dumps it
    moment = record.checked_out_at if verb == "签退" else record.checked_in_at
    body["already"] = not created
    body["message"] = (
        f"{verb}成功（{local_time(moment)}）" if created else f"已于 {local_time(moment)} {verb}"
    )
    return current_app.json.response(body)


# ---- sign-ups ----------------------------------------------------------------------------


@signups.post("/<activity_id>/signups")
@signups.arguments(SignupIn)
@signups.response(201, SignupOut)
def sign_up(body, activity_id):
    """Sign up for an activity: a place while places remain, else the waitlist with a position."""
    who = require_principal()
    with transaction() as session:
        signup = operations.sign_up(
            session, activity_id, who.account_id, body["shift_id"], body["party_size"]
        )
        return signup_out(session, signup)


@signups.get("/<activity_id>/signups/me")
@signups.response(200, MySignupForActivity)
def my_signup(activity_id):
    """The caller's view of an activity: places per shift, their sign-up and attendance."""
    who = require_principal()
    session = db()
    activity = operations.get_activity(session, activity_id)
    signup = operations.live_signup(session, activity_id, who.account_id)
    attendance = operations.attendance_of(session, activity_id, who.account_id)
    return {
        "activity": brief(activity),
        "shifts": shift_places(session, activity),
        "signup": signup_out(session, signup) if signup else None,
        "attendance": attendance,
    }


@signups.delete("/<activity_id>/signups/me")
@signups.response(200, SignupOut)
def cancel_my_signup(activity_id):
    """Withdraw one's sign-up before the start; the first on the waitlist gets the place."""
    who = require_principal()
    with transaction() as session:
        signup = operations.cancel_signup(
            session, activity_id, who.account_id, by=who.account_id, reason="本人取消"
        )
        return signup_out(session, signup)


@signups.post("/<activity_id>/signups/<signup_id>/removal")
@roles("organizer", "admin")
@signups.arguments(RemovalIn)
@signups.response(200, SignupOut)
def remove_signup(body, activity_id, signup_id):
    """An organizer removes a sign-up, with the reason the volunteer is told."""
    with transaction() as session:
        _activity, who = organizer_of(session, activity_id)
        signup = operations.cancel_signup(
            session,
            activity_id,
            None,
            by=who.account_id,
            reason=body["reason"].strip(),
            removed=True,
            signup_id=signup_id,
        )
        return signup_out(session, signup)


@signups.get("/<activity_id>/signups")
@roles("organizer", "admin")
@signups.arguments(PageArgs, location="query")
@signups.response(200, RosterPage)
def list_signups(args, activity_id):
    """The organizer's roster: places in order of sign-up, then the waitlist in order."""
    session = db()
    activity, _who = organizer_of(session, activity_id)
    items, total = operations.roster(session, activity_id, args["page"], args["per_page"])
    names = {s["shift_id"]: s["name"] for s in shift_places(session, activity)}
    shifts = shift_places(session, activity)
    rows = []
    for item in items:
        row = signup_out(session, item["signup"], item["waitlist_position"])
        row.update(
            display_name=item["display_name"],
            shift_name=names.get(item["signup"].shift_id, ""),
            checked_in_at=item["checked_in_at"],
        )
        rows.append(row)
    return {"activity": brief(activity), "shifts": shifts, **one_page(rows, total, args)}


# ---- check-in ----------------------------------------------------------------------------


@signups.get("/<activity_id>/checkin-code")
@roles("organizer", "admin")
@signups.response(200, CheckinCodeOut)
def get_checkin_code(activity_id):
    """The live check-in code for the organizer's screen; it changes every 30 seconds."""
    activity, _who = organizer_of(db(), activity_id)
    now = utcnow()
    code, expires_at = operations.checkin_code(activity, now)
    token = operations.checkin_scan_token(activity, now)
    opens, closes = checkin_window(
        activity.starts_at, activity.ends_at, activity.checkin_opens_at, activity.checkin_closes_at
    )
    return {
        "checkin_opens_at": opens,
        "checkin_closes_at": closes,
        "activity_id": activity_id,
        "code": code,
        "expires_at": expires_at,
        "step_seconds": CODE_STEP_SECONDS,
        "scan_token": token,
        "url": f"/volunteering/checkin/{activity_id}?code={token}",
    }


@signups.post("/<activity_id>/checkins")
@signups.arguments(CheckinIn)
@signups.response(201, CheckinOut)
@signups.alt_response(200, schema=CheckinOut, description="already checked in: the same record")
def check_in(body, activity_id):
    """Check in: a volunteer with the live code (and location), or an organizer for someone.

    A repeated check-in answers 200 with the existing record; there is never a second one.
    """
    who = require_principal()
    if not body["volunteer_id"] and not body["code"]:
        raise DomainError(
            "请输入现场屏幕上的 6 位签到码", code="code-required", errors={"code": ["必填"]}
        )
    if body["volunteer_id"]:
        with transaction() as session:
            organizer_of(session, activity_id)
            record, created = operations.check_in(
                session.connection(), activity_id, body["volunteer_id"], by=who.account_id
            )
    else:
        refused = None
        with connection_transaction() as connection:
            try:
                record, created = operations.check_in(
                    connection,
                    activity_id,
                    who.account_id,
                    code=body["code"],
                    location=body,
                    address=who.address or request.remote_addr,
                )
            except operations.CodeRefused as error:
                refused = error  # the wrong code it counted commits with the transaction
        if refused is not None:
            raise refused
    # Shaped after the commit: the transaction (on SQLite, the database's write lock) is not
    # held for it.
    return checkin_answer(record, created), (201 if created else 200)


@signups.post("/<activity_id>/checkouts")
@signups.arguments(CheckinIn)
@signups.response(200, CheckinOut)
def check_out(body, activity_id):
    """Check out: a volunteer with the live code, or an organizer for someone."""
    who = require_principal()
    with transaction() as session:
        if body["volunteer_id"]:
            organizer_of(session, activity_id)
            record, created = operations.check_out(
                session, activity_id, body["volunteer_id"], by=who.account_id
            )
        else:
            record, created = operations.check_out(
                session, activity_id, who.account_id, code=body["code"]
            )
        return checkin_answer(record, created, "签退")


# ---- attendance --------------------------------------------------------------------------


@signups.get("/<activity_id>/attendance")
@roles("organizer", "admin")
@signups.response(200, AttendanceTable)
def attendance_table(activity_id):
    """The attendance table the organizer reviews before confirming."""
    session = db()
    activity, _who = organizer_of(session, activity_id)
    rows = operations.attendance_table(session, activity_id)
    return {"activity": brief(activity), "items": rows, "total": len(rows)}


@signups.post("/<activity_id>/attendance/confirm")
@roles("organizer", "admin")
@signups.arguments(ConfirmIn)
@signups.response(200, ConfirmOut)
def confirm_attendance(body, activity_id):
    """Confirm hours, mark no-shows, correct confirmed hours (with a reason)."""
    with transaction() as session:
        _activity, who = organizer_of(session, activity_id)
        return operations.confirm_attendance(
            session,
            activity_id,
            by=who.account_id,
            entries=body["entries"],
            no_shows=body["no_shows"],
        )


# ---- a volunteer's own -------------------------------------------------------------------


@blp.get("/me/signups")
@blp.arguments(PageArgs, location="query")
@blp.response(200, MySignupPage)
def list_my_signups(args):
    """The caller's sign-ups with waitlist positions, activity status (and a cancellation's
    reason) and attendance."""
    who = require_principal()
    session = db()
    items, total = operations.my_signups(session, who.account_id, args["page"], args["per_page"])
    rows = []
    for item in items:
        rows.append(
            {
                "signup": signup_out(session, item["signup"], item["waitlist_position"]),
                "activity": brief(item["activity"]),
                "shift_name": item["shift"].name,
                "attendance": item["attendance"],
            }
        )
    return one_page(rows, total, args)


@blp.get("/me/hours")
@blp.response(200, MyHours)
def my_hours():
    """The caller's confirmed hours, record by record."""
    who = require_principal()
    records = operations.confirmed_hours(db(), who.account_id)
    return {"total_hours": sum((r["hours"] for r in records), Decimal("0")), "items": records}


@blp.get("/me/certificate.pdf")
@blp.response(200, description="志愿服务时长证明 (PDF)")
def my_certificate():
    """The caller's volunteer-hours certificate as a PDF with a verification code."""
    from services.volunteers.certificate import render_certificate

    who = require_principal()
    with transaction() as session:
        certificate, volunteer, records = operations.issue_certificate(session, who.account_id)
        units = operations.unit_names(session)
    home = units.get(volunteer.home_unit_id, "")
    public = service_context().settings.public_url
    pdf = render_certificate(certificate, volunteer, records, home, public)
    return file_answer(pdf, "application/pdf", f"{certificate.code}.pdf", inline=True)


@certificates.get("/<code>")
@public
@certificates.response(200, CertificateCheck)
def verify_certificate(code):
    """Check a certificate's verification code. Public."""
    certificate, volunteer = operations.verify_certificate(db(), code)
    return {
        "code": certificate.code,
        "display_name": volunteer.display_name if volunteer else "",
        "total_hours": certificate.total_hours,
        "records": certificate.records,
        "issued_at": certificate.issued_at,
    }
