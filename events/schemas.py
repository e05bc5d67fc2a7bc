"""Payload schemas, one per event type and version: the contract between producers and consumers.

Schemas grow by adding optional fields; a breaking change is a new version with a new schema.
Consumers load payloads with ``unknown = EXCLUDE`` so fields added later never break them.
Nothing personal that a consumer does not need is here: no phone numbers, and never ethnicity.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

UNIT_KINDS = (
    "city",
    "district",
    "street",
    "community",
    "enterprise",
    "school",
    "social_organization",
    "volunteer_team",
)


class Payload(Schema):
    """Base of every payload schema: ignore fields this version does not know."""

    class Meta:
        unknown = EXCLUDE
        ordered = True


def _id(**kwargs):
    return fields.String(required=True, validate=validate.Length(min=1, max=64), **kwargs)


def _time(**kwargs):
    return fields.AwareDateTime(format="iso", default_timezone=None, **kwargs)


# ---- units -------------------------------------------------------------------------------


class UnitState(Payload):
    """A node of the unit tree as it is now."""

    unit_id = _id()
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(UNIT_KINDS))
    parent_id = fields.String(required=True, allow_none=True)
    path = fields.String(required=True, validate=validate.Regexp(r"^/([^/]+/)+$"))


class UnitUpdated(UnitState):
    """A unit renamed or moved; ``changes`` names the fields that changed."""

    changes = fields.List(fields.String(), load_default=list)


# ---- activities --------------------------------------------------------------------------


class Shift(Payload):
    """A role with its own capacity inside an activity."""

    shift_id = _id()
    name = fields.String(required=True)
    capacity = fields.Integer(required=True, validate=validate.Range(min=1))
    hour_weight = fields.Decimal(as_string=True, places=2, load_default=None)


class ActivityState(Payload):
    """What volunteers and the ledger need to know of a published activity."""

    activity_id = _id()
    title = fields.String(required=True)
    category = fields.String(required=True)
    dimensions = fields.List(fields.String(), required=True)
    host_unit_id = _id()
    host_unit_path = fields.String(required=True)
    co_host_unit_ids = fields.List(fields.String(), load_default=list)
    starts_at = _time(required=True)
    ends_at = _time(required=True)
    signup_opens_at = _time(load_default=None, allow_none=True)
    signup_closes_at = _time(load_default=None, allow_none=True)
    walk_ins_allowed = fields.Boolean(load_default=False)
    points_rule_version = fields.Integer(load_default=None, allow_none=True)
    shifts = fields.List(fields.Nested(Shift), required=True)
    address = fields.String(load_default="")
    latitude = fields.Decimal(as_string=True, places=6, load_default=None, allow_none=True)
    longitude = fields.Decimal(as_string=True, places=6, load_default=None, allow_none=True)
    checkin_radius_m = fields.Integer(load_default=None, allow_none=True)
    checkin_opens_at = _time(load_default=None, allow_none=True)
    checkin_closes_at = _time(load_default=None, allow_none=True)
    # The account that made the activity: who is told when a shift fills or someone cancels late.
    organizer_id = fields.String(load_default=None, allow_none=True)


class ActivityUpdated(ActivityState):
    """A published activity changed; ``changes`` names what changed (time, place, shifts...)."""

    changes = fields.List(fields.String(), required=True)


class ActivityCancelled(Payload):
    """An activity called off before completion, with the reason volunteers are told."""

    activity_id = _id()
    reason = fields.String(required=True)
    cancelled_at = _time(required=True)


class ActivityCompleted(Payload):
    """An activity that took place; attendance can now be confirmed. ``audience`` is how many
    people it reached (受众人次), as the organizer recorded it, when they did."""

    activity_id = _id()
    completed_at = _time(required=True)
    audience = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0))


class ActivityClosed(Payload):
    """An activity whose attendance is final."""

    activity_id = _id()
    closed_at = _time(required=True)


# ---- volunteers --------------------------------------------------------------------------


class VolunteerState(Payload):
    """What consumers need of a volunteer: never the phone number, never ethnicity."""

    volunteer_id = _id()
    display_name = fields.String(required=True)
    home_unit_id = _id()
    team_id = fields.String(load_default=None, allow_none=True)


class VolunteerUpdated(VolunteerState):
    """A volunteer's profile changed; ``changes`` names the fields."""

    changes = fields.List(fields.String(), load_default=list)


# ---- sign-ups ----------------------------------------------------------------------------


class Signup(Payload):
    """A volunteer's place (or waitlist position) on a shift."""

    signup_id = _id()
    volunteer_id = _id()
    activity_id = _id()
    shift_id = _id()
    party_size = fields.Integer(load_default=1, validate=validate.Range(min=1))
    at = _time(required=True)


class SignupWaitlisted(Signup):
    """A sign-up put on the waitlist at a position."""

    waitlist_position = fields.Integer(required=True, validate=validate.Range(min=1))


class SignupCancelled(Signup):
    """A sign-up withdrawn by the volunteer or removed by an organizer."""

    reason = fields.String(load_default="")
    cancelled_by = fields.String(load_default=None, allow_none=True)


# ---- attendance --------------------------------------------------------------------------


class CheckedIn(Payload):
    """A volunteer's arrival recorded at the venue."""

    attendance_id = _id()
    volunteer_id = _id()
    activity_id = _id()
    shift_id = fields.String(load_default=None, allow_none=True)
    checked_in_at = _time(required=True)
    method = fields.String(required=True, validate=validate.OneOf(("code", "manual")))


class CheckedOut(Payload):
    """A volunteer's departure recorded at the venue."""

    attendance_id = _id()
    volunteer_id = _id()
    activity_id = _id()
    checked_out_at = _time(required=True)


class AttendanceConfirmed(Payload):
    """The organizer's final word on one volunteer's hours at an activity."""

    attendance_id = _id()
    volunteer_id = _id()
    activity_id = _id()
    shift_id = fields.String(load_default=None, allow_none=True)
    hours = fields.Decimal(as_string=True, places=1, required=True)
    activity_date = fields.Date(required=True)
    confirmed_by = _id()
    confirmed_at = _time(required=True)
    shift_weight = fields.Decimal(as_string=True, places=2, load_default=None, allow_none=True)
    cross_group = fields.Boolean(load_default=False)


class AttendanceCorrected(AttendanceConfirmed):
    """Confirmed hours changed afterwards, with the reason."""

    previous_hours = fields.Decimal(as_string=True, places=1, required=True)
    reason = fields.String(required=True)


class AttendanceSummarized(Payload):
    """An activity's confirmed attendance in aggregate: the only form in which ethnicity leaves
    services/volunteers. ``distinct_groups`` counts the groups among the attendees who consented
    to give their ethnicity, and is null when fewer than five of them attended (k ≥ 5)."""

    activity_id = _id()
    attendees = fields.Integer(required=True)
    distinct_groups = fields.Integer(load_default=None, allow_none=True)
    cross_group = fields.Boolean(required=True)
    confirmed_at = _time(required=True)


class NoShow(Payload):
    """A volunteer with a confirmed sign-up who did not come."""

    volunteer_id = _id()
    activity_id = _id()
    signup_id = _id()
    activity_date = fields.Date(required=True)
    recorded_by = _id()


# ---- points ------------------------------------------------------------------------------


class PointsEntry(Payload):
    """One ledger row as the world sees it: integer points and why."""

    entry_id = _id()
    volunteer_id = _id()
    points = fields.Integer(required=True)
    reason_code = fields.String(required=True)
    activity_id = fields.String(load_default=None, allow_none=True)
    rule_version = fields.Integer(load_default=None, allow_none=True)
    source_event_id = fields.String(load_default=None, allow_none=True)
    # The confirmed hours this row adds to the volunteer's (negative when it reverses an award).
    hours = fields.Decimal(as_string=True, places=1, load_default=None, allow_none=True)


class PointsReversed(PointsEntry):
    """A ledger row cancelled by a new, opposite row."""

    reverses_entry_id = _id()


class PointsAdjusted(PointsEntry):
    """A manual adjustment, approved by a second administrator."""

    requested_by = _id()
    approved_by = _id()


# ---- awards ------------------------------------------------------------------------------


class AwardCycleOpened(Payload):
    """A round of 民族团结之星 selection opened for a unit and period."""

    cycle_id = _id()
    title = fields.String(required=True)
    unit_id = _id()
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    # The accounts of the committee: who is told that votes, ties and objections wait for them.
    committee_member_ids = fields.List(fields.String(), load_default=list)


class Candidate(Payload):
    """A ranked candidate of a cycle."""

    candidate_id = _id()
    volunteer_id = _id()
    rank = fields.Integer(required=True)
    points = fields.Integer(required=True)


class AwardCandidatesListed(Payload):
    """The ranked candidates of a cycle."""

    cycle_id = _id()
    candidates = fields.List(fields.Nested(Candidate), required=True)


class AwardNoticeStarted(Payload):
    """Proposed winners put on public notice (公示) until a date."""

    cycle_id = _id()
    notice_ends_on = fields.Date(required=True)
    proposed_volunteer_ids = fields.List(fields.String(), required=True)


class Winner(Payload):
    """A published winner and their certificate's verification code."""

    volunteer_id = _id()
    certificate_code = fields.String(required=True)


class AwardPublished(Payload):
    """The honor roll (光荣榜) of a cycle published."""

    cycle_id = _id()
    unit_id = _id()
    year = fields.Integer(required=True)
    winners = fields.List(fields.Nested(Winner), required=True)
    published_at = _time(required=True)


class AwardRevoked(Payload):
    """A published award taken back, with the reason."""

    cycle_id = _id()
    volunteer_id = _id()
    certificate_code = fields.String(required=True)
    reason = fields.String(required=True)


class AwardTieFound(Payload):
    """The votes leave candidates tied at the quota line: the committee must decide."""

    cycle_id = _id()
    candidate_ids = fields.List(fields.String(), required=True)
    places = fields.Integer(required=True, validate=validate.Range(min=1))


class AwardObjectionLodged(Payload):
    """A resident objected to a proposed winner during the notice: the committee must decide.
    Who objected is not on the topic."""

    cycle_id = _id()
    objection_id = _id()
    lodged_at = _time(required=True)


class AwardObjectionDecided(Payload):
    """The committee upheld or dismissed an objection; the objector (an account) is told."""

    cycle_id = _id()
    objection_id = _id()
    objector_id = _id()
    decision = fields.String(required=True, validate=validate.OneOf(("upheld", "dismissed")))
    decided_at = _time(required=True)


# ---- accounts ----------------------------------------------------------------------------

ACCESS_REVOCATION_REASONS = ("role_revoked", "password_changed", "disabled")


class AccountAccessRevoked(Payload):
    """Every token of the account signed before this access version is void (a role revoked, the
    password changed, the account disabled); web signs new ones at this version."""

    account_id = _id()
    access_version = fields.Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.OneOf(ACCESS_REVOCATION_REASONS))
