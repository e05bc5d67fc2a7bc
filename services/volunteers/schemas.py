"""HTTP schemas of services/volunteers."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from services.common.api import PageOut
from services.common.fields import Date, Text


class ProfileIn(Schema):
    """A volunteer's profile as web sends it on registration or change."""

    display_name = Text(required=True, validate=validate.Length(min=1, max=50))
    home_unit_id = Text(required=True)
    team_id = Text(load_default=None, allow_none=True)
    languages = fields.List(
        Text(validate=validate.Length(max=30)),
        load_default=list,
        validate=validate.Length(max=20),
    )
    ethnicity = Text(load_default=None, allow_none=True, validate=validate.Length(max=32))
    ethnicity_consent = fields.Boolean(load_default=False)


class VolunteerOut(Schema):
    """A profile as staff in scope see it (no ethnicity)."""

    id = Text()
    display_name = Text()
    home_unit_id = Text()
    team_id = Text(allow_none=True)
    languages = fields.List(Text())
    created_at = fields.DateTime()


class VolunteerPrivateOut(VolunteerOut):
    """A profile as its owner and administrators see it."""

    ethnicity = Text(allow_none=True)
    ethnicity_consent_at = fields.DateTime(allow_none=True)


class VolunteerPage(PageOut):
    """One page of volunteers."""

    items = fields.List(fields.Nested(VolunteerOut))


# ---- sign-ups ----------------------------------------------------------------------------


class SignupIn(Schema):
    """A volunteer signs up: optionally for one shift, optionally bringing family members."""

    shift_id = Text(load_default=None, allow_none=True)
    party_size = fields.Integer(
        load_default=1,
        validate=validate.Range(min=1, max=10, error="同行人数须为 1 到 10 人（含本人）"),
    )


class RemovalIn(Schema):
    """An organizer removes a sign-up, saying why."""

    reason = Text(
        multiline=True,
        required=True,
        validate=validate.Length(min=1, max=200, error="请说明移出的原因"),
    )


class SignupOut(Schema):
    """A sign-up as its volunteer and the organizer see it."""

    id = Text()
    activity_id = Text()
    shift_id = Text()
    volunteer_id = Text()
    party_size = fields.Integer()
    status = Text()
    waitlist_position = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    promoted_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = Text(allow_none=True)
    removed = fields.Boolean()


class ShiftPlacesOut(Schema):
    """A shift with its places."""

    shift_id = Text()
    name = Text()
    capacity = fields.Integer()
    taken = fields.Integer()
    free = fields.Integer()
    waiting = fields.Integer()
    hour_weight = Text(allow_none=True)


class ActivityBrief(Schema):
    """What volunteers here know of an activity."""

    activity_id = Text()
    title = Text()
    status = Text()
    cancel_reason = Text(allow_none=True)
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    address = Text()
    host_unit_id = Text()
    walk_ins_allowed = fields.Boolean()
    signup_opens_at = fields.DateTime(allow_none=True)
    signup_closes_at = fields.DateTime()
    checkin_opens_at = fields.DateTime()
    checkin_closes_at = fields.DateTime()
    needs_location = fields.Boolean()


class RosterEntry(SignupOut):
    """A line of the organizer's roster."""

    display_name = Text()
    shift_name = Text()
    checked_in_at = fields.DateTime(allow_none=True)


class RosterPage(PageOut):
    """One page of an activity's roster, with its shifts."""

    activity = fields.Nested(ActivityBrief)
    shifts = fields.List(fields.Nested(ShiftPlacesOut))
    items = fields.List(fields.Nested(RosterEntry))


class AttendanceOut(Schema):
    """An attendance record."""

    id = Text()
    activity_id = Text()
    volunteer_id = Text()
    shift_id = Text(allow_none=True)
    walk_in = fields.Boolean()
    checked_in_at = fields.DateTime(allow_none=True)
    checkin_method = Text(allow_none=True)
    checked_in_by = Text(allow_none=True)
    checked_out_at = fields.DateTime(allow_none=True)
    status = Text(metadata={"description": "open | confirmed | no_show"})
    hours = fields.Float(allow_none=True)


class MySignup(Schema):
    """One of a volunteer's sign-ups with its activity and attendance."""

    signup = fields.Nested(SignupOut)
    activity = fields.Nested(ActivityBrief)
    shift_name = Text()
    attendance = fields.Nested(AttendanceOut, allow_none=True)


class MySignupPage(PageOut):
    """One page of a volunteer's sign-ups."""

    items = fields.List(fields.Nested(MySignup))


class MySignupForActivity(Schema):
    """A volunteer's view of one activity: its places and their own sign-up, if any."""

    activity = fields.Nested(ActivityBrief)
    shifts = fields.List(fields.Nested(ShiftPlacesOut))
    signup = fields.Nested(SignupOut, allow_none=True)
    attendance = fields.Nested(AttendanceOut, allow_none=True)


# ---- check-in ----------------------------------------------------------------------------


class CheckinCodeOut(Schema):
    """The live code: show it, and show it again when it expires."""

    activity_id = Text()
    code = Text()
    expires_at = fields.DateTime()
    step_seconds = fields.Integer()
    scan_token = Text(
        metadata={"description": "what the QR carries as `code`: good for 5 minutes, here only"}
    )
    url = Text(metadata={"description": "the check-in page, relative to the base URL"})
    checkin_opens_at = fields.DateTime(metadata={"description": "when check-in opens"})
    checkin_closes_at = fields.DateTime(metadata={"description": "when check-in closes"})


class CheckinIn(Schema):
    """A volunteer's scan (``code`` and the browser's location) or an organizer's hand entry
    (``volunteer_id``)."""

    code = Text(load_default=None, allow_none=True, validate=validate.Length(max=40))
    volunteer_id = Text(load_default=None, allow_none=True)
    latitude = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90)
    )
    longitude = fields.Float(
        load_default=None, allow_none=True, validate=validate.Range(min=-180, max=180)
    )


class CheckinOut(AttendanceOut):
    """An attendance record with what to tell the volunteer."""

    already = fields.Boolean()
    message = Text()


# ---- attendance --------------------------------------------------------------------------


def _half_hours(hours) -> None:
    # A Decimal Range would render as strings in the OpenAPI document, so the range is here.
    if not 0 <= hours <= 24:
        raise ValidationError("时长须在 0 到 24 小时之间")
    if (hours * 2) != (hours * 2).to_integral_value():
        raise ValidationError("时长以 0.5 小时为单位")


class ConfirmEntry(Schema):
    """One volunteer's hours as the organizer confirms them."""

    volunteer_id = Text(required=True)
    hours = fields.Decimal(
        required=True,
        places=1,
        validate=_half_hours,
    )
    reason = Text(
        multiline=True, load_default=None, allow_none=True, validate=validate.Length(max=200)
    )


class ConfirmIn(Schema):
    """The organizer's confirmation: hours per volunteer, and who did not come."""

    entries = fields.List(fields.Nested(ConfirmEntry), load_default=list)
    no_shows = fields.List(Text(), load_default=list)


class ConfirmOut(Schema):
    """What the confirmation changed, and the activity's aggregate."""

    activity_id = Text()
    attendees = fields.Integer()
    distinct_groups = fields.Integer(allow_none=True)
    cross_group = fields.Boolean()
    confirmed = fields.Integer()
    corrected = fields.Integer()
    no_shows = fields.Integer()


class AttendanceRow(Schema):
    """A line of the attendance table the organizer reviews."""

    volunteer_id = Text()
    display_name = Text()
    signup_id = Text(allow_none=True)
    shift_id = Text(allow_none=True)
    shift_name = Text(allow_none=True)
    walk_in = fields.Boolean()
    checked_in_at = fields.DateTime(allow_none=True)
    checked_out_at = fields.DateTime(allow_none=True)
    computed_hours = fields.Float(allow_none=True)
    missing_checkout = fields.Boolean()
    status = Text()
    hours = fields.Float(allow_none=True)
    reason = Text(multiline=True, allow_none=True)


class AttendanceTable(Schema):
    """An activity's attendance table."""

    activity = fields.Nested(ActivityBrief)
    items = fields.List(fields.Nested(AttendanceRow))
    total = fields.Integer()


class HoursRecord(Schema):
    """One confirmed record of a volunteer's hours."""

    attendance_id = Text()
    activity_id = Text()
    title = Text()
    activity_date = Date()
    host_unit_id = Text()
    host_unit_name = Text()
    hours = fields.Float()
    confirmed_at = fields.DateTime()


class MyHours(Schema):
    """A volunteer's confirmed hours."""

    total_hours = fields.Float()
    items = fields.List(fields.Nested(HoursRecord))


class CertificateCheck(Schema):
    """What anyone holding a certificate's code may verify."""

    code = Text()
    display_name = Text()
    total_hours = fields.Float()
    records = fields.Integer()
    issued_at = fields.DateTime()
