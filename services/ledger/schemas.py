"""HTTP schemas of services/ledger."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.common.api import MessageOut, PageArgs, PageOut
from services.common.fields import Date, Hours, Text, check_period
from services.common.states import AdjustmentStatus


def _hour_limit(value) -> None:
    # A Decimal Range would render as strings in the OpenAPI document, so it is checked here.
    if not Decimal("0.5") <= value <= 24:
        raise ValidationError("时长上限须在 0.5 到 24 小时之间")


class LedgerPageArgs(PageArgs):
    """Pagination of a volunteer's rows."""


class EntryOut(Schema):
    """One ledger row with its explanation in plain Chinese (with the date and the activity's
    title in front) and, for other languages, the meaning of the row's own words: the message
    key and values of the explanation without date and title (null for rows written before the
    meaning was kept)."""

    entry_id = Text()
    seq = fields.Integer()
    kind = Text(metadata={"description": "award | reversal | adjustment"})
    reason_code = Text()
    points = fields.Integer()
    hours = Hours(metadata={"description": "confirmed hours this row counts (signed)"})
    date = Date()
    activity_id = Text(allow_none=True)
    activity_title = Text(allow_none=True)
    explanation = Text()
    explanation_message = fields.Nested(MessageOut, allow_none=True)
    rule_version = fields.Integer(allow_none=True)
    source_event_id = Text(allow_none=True)
    reverses_entry_id = Text(allow_none=True)
    occurred_at = fields.DateTime()


class EntryPage(PageOut):
    """One page of rows."""

    items = fields.List(fields.Nested(EntryOut))


class VolunteerLedgerOut(Schema):
    """A volunteer's balance, confirmed hours, stars and rows."""

    volunteer_id = Text()
    name = Text(allow_none=True)
    balance = fields.Integer()
    hours = Hours()
    stars = fields.Integer()
    entries = fields.Nested(EntryPage)


def _check_from_to(data: dict) -> None:
    """The standings' period, ``from`` and ``to`` (see check_period)."""
    check_period(data.get("from_"), data.get("to"), "to", "时间范围最长十年", "from")


class StandingsArgs(PageArgs):
    """Which volunteers and which period to rank."""

    unit_id = Text(load_default=None, validate=validate.Length(min=1, max=64))
    team_id = Text(load_default=None, validate=validate.Length(min=1, max=64))
    from_ = Date(data_key="from", load_default=None)
    to = Date(load_default=None)

    @validates_schema
    def _scope_and_period(self, data, **_kwargs):
        if not data.get("unit_id") and not data.get("team_id"):
            raise ValidationError("请指定单位（unit_id）或志愿服务队（team_id）", "unit_id")
        _check_from_to(data)


class StandingOut(Schema):
    """A volunteer's place in the standings."""

    volunteer_id = Text()
    name = Text()
    points = fields.Integer()
    rank = fields.Integer()


class StandingsOut(PageOut):
    """One page of standings."""

    items = fields.List(fields.Nested(StandingOut))
    unit_id = Text(allow_none=True)
    team_id = Text(allow_none=True)
    from_ = Date(data_key="from")
    to = Date()


class CommunityStandingsArgs(PageArgs):
    """Which period to rank a volunteer's community in (default: this year so far)."""

    from_ = Date(data_key="from", load_default=None)
    to = Date(load_default=None)

    @validates_schema
    def _period(self, data, **_kwargs):
        _check_from_to(data)


class CommunityStandingOut(Schema):
    """A volunteer's place as their neighbours see it: rank, name (as on the honor roll), points."""

    rank = fields.Integer()
    name = Text(allow_none=True)
    points = fields.Integer()
    me = fields.Boolean(metadata={"description": "the row of the volunteer who asked"})


class MyStandingOut(Schema):
    """The asking volunteer's own rank and points."""

    rank = fields.Integer()
    points = fields.Integer()


class CommunityStandingsOut(PageOut):
    """A volunteer's own rank and one page of their home unit's standings."""

    unit_id = Text()
    unit_name = Text()
    mine = fields.Nested(MyStandingOut, allow_none=True)
    items = fields.List(fields.Nested(CommunityStandingOut))
    from_ = Date(data_key="from")
    to = Date()


class ProblemOut(Schema):
    """Where the chain breaks."""

    kind = Text(metadata={"description": "altered | removed | inserted | totals"})
    seq = fields.Integer()
    entry_id = Text(allow_none=True)
    detail = Text()


class VerifyOut(Schema):
    """The result of walking the hash chain."""

    ok = fields.Boolean()
    rows = fields.Integer()
    problem = fields.Nested(ProblemOut, allow_none=True)
    checksum = Text()


class AdjustmentIn(Schema):
    """A manual adjustment asked for by an administrator."""

    volunteer_id = Text(required=True, validate=validate.Length(min=1, max=64))
    points = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=-1000, max=1000)
    )
    reason = Text(multiline=True, required=True, validate=validate.Length(min=2, max=200))
    date = Date(load_default=None)

    @validates("points")
    def _not_zero(self, value, **_kwargs):
        if value == 0:
            raise ValidationError("调整的积分不能为 0")

    @validates("reason")
    def _not_blank(self, value, **_kwargs):
        if len(value.strip()) < 2:
            raise ValidationError("请写明调整原因")


class AdjustmentRejectIn(Schema):
    """Why a second administrator rejects an adjustment."""

    reason = Text(multiline=True, required=True, validate=validate.Length(min=2, max=200))

    @validates("reason")
    def _not_blank(self, value, **_kwargs):
        if len(value.strip()) < 2:
            raise ValidationError("请写明驳回原因")


class AdjustmentOut(Schema):
    """An adjustment and where it stands."""

    id = Text()
    volunteer_id = Text()
    volunteer_name = Text(allow_none=True)
    points = fields.Integer()
    reason = Text(
        multiline=True,
    )
    date = Date()
    status = Text(metadata={"description": "pending | approved | rejected"})
    requested_by = Text()
    requested_at = fields.DateTime()
    approved_by = Text(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    rejected_by = Text(allow_none=True)
    rejected_at = fields.DateTime(allow_none=True)
    rejection_reason = Text(allow_none=True)
    entry_id = Text(allow_none=True)


class AdjustmentArgs(PageArgs):
    """Which adjustments to list."""

    status = Text(
        load_default=None,
        validate=validate.OneOf([*(s.value for s in AdjustmentStatus), "decided"]),
        metadata={"description": "a status, or decided: approved and rejected, latest first"},
    )


class AdjustmentPage(PageOut):
    """One page of adjustments."""

    items = fields.List(fields.Nested(AdjustmentOut))


class RuleIn(Schema):
    """A new version of the points rule; omitted numbers are taken from the newest version."""

    effective_from = Date(required=True)
    attendance_base = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    points_per_hour = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    max_hours = fields.Decimal(validate=_hour_limit)
    cross_group_bonus_percent = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))
    no_show_penalty = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    daily_cap = fields.Integer(strict=True, validate=validate.Range(min=1, max=10000))
    note = Text(multiline=True, load_default="", validate=validate.Length(max=200))

    @validates("max_hours")
    def _half_hours(self, value, **_kwargs):
        if (value * 2) % 1:
            raise ValidationError("时长上限须是 0.5 小时的整数倍")


class RuleOut(Schema):
    """A version of the points rule."""

    version = fields.Integer()
    effective_from = Date()
    attendance_base = fields.Integer()
    points_per_hour = fields.Integer()
    max_hours = Hours()
    cross_group_bonus_percent = fields.Integer()
    no_show_penalty = fields.Integer()
    daily_cap = fields.Integer()
    note = Text(
        multiline=True,
    )
    created_by = Text(allow_none=True)
    created_at = fields.DateTime()


class RuleList(Schema):
    """Every version of the rule, and the one in force today."""

    items = fields.List(fields.Nested(RuleOut))
    current_version = fields.Integer()
