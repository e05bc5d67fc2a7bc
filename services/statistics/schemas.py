"""Request and response schemas of services/statistics."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema

from services.common.errors import Message
from services.statistics.reports import BREAKDOWNS


class ReportArgs(Schema):
    """Which report: a unit (default: the first unit the caller holds a staff role at), a period
    (default: this year, by the city's calendar) and a breakdown."""

    unit_id = fields.String(load_default=None, validate=validate.Length(max=64))
    from_ = fields.Date(data_key="from", load_default=None)
    to = fields.Date(load_default=None)
    by = fields.String(load_default=None, validate=validate.OneOf(BREAKDOWNS))

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            from marshmallow import ValidationError

            raise ValidationError(Message("开始日期不能晚于结束日期"), "to")


class SanjiaoOut(Schema):
    """The 三交 index: activities where at least five consenting attendees were there, those that
    brought three or more groups together and their share (null and ``shown: false`` when a count
    involving ethnicity would be under five)."""

    activities_with_groups_known = fields.Integer()
    activities_with_three_or_more_groups = fields.Integer(allow_none=True)
    share = fields.Float(allow_none=True)
    shown = fields.Boolean()


class FiguresOut(Schema):
    """The figures of a unit's subtree in a period (or of one part of a breakdown)."""

    activities_held = fields.Integer(metadata={"description": "活动场次: activities completed"})
    attendances = fields.Integer(metadata={"description": "服务人次: confirmed attendances"})
    volunteers = fields.Integer(metadata={"description": "参与志愿者数: distinct volunteers"})
    hours = fields.Float(metadata={"description": "志愿服务时长: confirmed hours"})
    audience = fields.Integer(metadata={"description": "受众人次, as organizers recorded it"})
    no_shows = fields.Integer()
    no_show_rate = fields.Float(allow_none=True)
    new_volunteers = fields.Integer()
    stars_awarded = fields.Integer(metadata={"description": "民族团结之星 awarded"})
    sanjiao = fields.Nested(SanjiaoOut)


class RowOut(FiguresOut):
    """One part of a breakdown: a unit one level down, a month, a category or a dimension."""

    key = fields.String()
    label = fields.String()


class UnitBrief(Schema):
    """A unit of the tree."""

    unit_id = fields.String()
    name = fields.String()
    path = fields.String()
    parent_id = fields.String(allow_none=True)


class ReportOut(Schema):
    """A report: the unit, the period, the totals and the breakdown's rows."""

    unit = fields.Nested(UnitBrief)
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    by = fields.String(allow_none=True)
    totals = fields.Nested(FiguresOut)
    rows = fields.List(fields.Nested(RowOut))


class LedgerLineOut(Schema):
    """An activity held: the 台账's line."""

    activity_id = fields.String()
    day = fields.Date()
    title = fields.String()
    host = fields.String()
    category = fields.String()
    dimensions = fields.List(fields.String())
    attendances = fields.Integer()
    hours = fields.Float()
    audience = fields.Integer(allow_none=True)
    distinct_groups = fields.Integer(
        allow_none=True, metadata={"description": "null when fewer than 5 consenting attendees"}
    )


class LedgerOut(Schema):
    """The activities held in a unit's subtree in a period."""

    unit = fields.Nested(UnitBrief)
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    items = fields.List(fields.Nested(LedgerLineOut))


class SummaryArgs(Schema):
    """Whose year: a unit (default: the root of the tree)."""

    unit_id = fields.String(load_default=None, validate=validate.Length(max=64))


class SummaryOut(Schema):
    """This year's 场次, 人次 and hours of a unit's subtree, for the honor roll's page."""

    unit = fields.Nested(UnitBrief)
    year = fields.Integer()
    activities_held = fields.Integer()
    attendances = fields.Integer()
    hours = fields.Float()
