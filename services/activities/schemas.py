"""HTTP schemas of services/activities."""

from __future__ import annotations

import math
from decimal import Decimal

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates

from events.schemas import UNIT_KINDS
from events.vocabulary import CATEGORIES, DIMENSIONS
from services.common.api import PageOut
from services.common.fields import INT32_MAX, AwareDateTime, Text
from services.common.states import ActivityStatus

NAME = validate.Length(min=1, max=100, error="名称须为 1 到 100 个字符")


class UnitOut(Schema):
    """A unit of the tree."""

    id = Text()
    name = Text()
    kind = Text()
    parent_id = Text(allow_none=True)
    path = Text()


class UnitList(Schema):
    """Units in tree order."""

    items = fields.List(fields.Nested(UnitOut))
    total = fields.Integer()


class UnitQuery(Schema):
    """Filters of the unit list."""

    under = Text(metadata={"description": "only this unit's subtree (a unit id)"})


class UnitCreate(Schema):
    """A new unit under a parent."""

    name = Text(required=True, validate=NAME)
    kind = Text(
        required=True, validate=validate.OneOf(UNIT_KINDS, error="单位类型须为 {choices} 之一")
    )
    parent_id = Text(required=True)
    slug = Text(
        load_default=None,
        validate=validate.Regexp(
            r"^[a-z0-9][a-z0-9-]{0,31}$", error="简称只能由小写字母、数字和连字符组成"
        ),
    )


class UnitChange(Schema):
    """A rename and/or a move."""

    name = Text(validate=NAME)
    parent_id = Text()


# ---- activities --------------------------------------------------------------------------

TITLE = validate.Length(min=1, max=100, error="标题须为 1 到 100 个字符")
REQUIRED = {"required": "必填"}


def _aware(**kwargs):
    return AwareDateTime(
        format="iso",
        error_messages={
            "invalid": "请使用带时区的时间，如 2026-03-08T14:00:00+08:00",
            "invalid_awareness": "时间须带时区，如 +08:00",
            **REQUIRED,
        },
        **kwargs,
    )


class ShiftIn(Schema):
    """A shift as an organizer describes it (read-only fields of a fetched shift are ignored)."""

    class Meta:
        unknown = EXCLUDE

    id = Text(load_default=None, metadata={"description": "an existing shift's id"})
    name = Text(
        required=True,
        validate=validate.Length(min=1, max=50, error="岗位名称须为 1 到 50 个字符"),
        error_messages=REQUIRED,
    )
    capacity = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=10000, error="名额须为 1 到 10000"),
        error_messages=REQUIRED,
    )
    hour_weight = fields.Decimal(load_default=None, allow_none=True, places=2, as_string=True)

    @validates("hour_weight")
    def _weight(self, value, **_kwargs):
        """0.5 to 3 (checked here: a Decimal range does not render in the OpenAPI document)."""
        if value is not None and not Decimal("0.5") <= value <= Decimal("3"):
            raise ValidationError("时长系数须在 0.5 到 3 之间")


class ActivityFields(Schema):
    """Everything an organizer describes an activity with."""

    title = Text(validate=TITLE)
    description = Text(
        multiline=True, validate=validate.Length(max=5000, error="简介最多 5000 个字符")
    )
    category = Text(validate=validate.OneOf(list(CATEGORIES), error="未知的活动类别"))
    dimensions = fields.List(
        Text(validate=validate.OneOf(list(DIMENSIONS), error="未知的嵌入维度")),
        validate=validate.Length(min=1, max=5, error="至少选择一个嵌入维度"),
    )
    co_host_unit_ids = fields.List(Text(), validate=validate.Length(max=20))
    address = Text(validate=validate.Length(max=200, error="地址最多 200 个字符"))
    latitude = fields.Decimal(allow_none=True, places=6, as_string=True)
    longitude = fields.Decimal(allow_none=True, places=6, as_string=True)

    @validates("latitude")
    def _latitude(self, value, **_kwargs):
        """-90 to 90 degrees."""
        if value is not None and not -90 <= value <= 90:
            raise ValidationError("纬度须在 -90 到 90 之间")

    @validates("longitude")
    def _longitude(self, value, **_kwargs):
        """-180 to 180 degrees."""
        if value is not None and not -180 <= value <= 180:
            raise ValidationError("经度须在 -180 到 180 之间")

    checkin_radius_m = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=20, max=5000, error="签到范围须在 20 到 5000 米之间"),
    )
    starts_at = _aware()
    ends_at = _aware()
    signup_opens_at = _aware(allow_none=True)
    signup_closes_at = _aware(allow_none=True)
    walk_ins_allowed = fields.Boolean()
    points_rule_version = fields.Integer(
        allow_none=True,
        validate=validate.Range(
            min=1, max=INT32_MAX, error="积分规则版本须在 1 到 2147483647 之间"
        ),
        metadata={"description": "a version of the points rules (not checked against the ledger)"},
    )
    shifts = fields.List(
        fields.Nested(ShiftIn), validate=validate.Length(min=1, max=30, error="至少需要一个岗位")
    )


class ActivityCreate(ActivityFields):
    """A new activity (created as a draft)."""

    title = Text(required=True, validate=TITLE, error_messages=REQUIRED)
    category = Text(
        required=True,
        validate=validate.OneOf(list(CATEGORIES), error="未知的活动类别"),
        error_messages=REQUIRED,
    )
    dimensions = fields.List(
        Text(validate=validate.OneOf(list(DIMENSIONS), error="未知的嵌入维度")),
        required=True,
        validate=validate.Length(min=1, max=5, error="至少选择一个嵌入维度"),
        error_messages=REQUIRED,
    )
    host_unit_id = Text(required=True, error_messages=REQUIRED)
    starts_at = _aware(required=True)
    ends_at = _aware(required=True)

    @post_load
    def _default_shift(self, data, **_kwargs):
        data.setdefault("shifts", [{"name": "志愿者", "capacity": 20, "hour_weight": None}])
        data.setdefault("co_host_unit_ids", [])
        return data


class ActivityChange(ActivityFields):
    """Changes to an activity (every field optional)."""


class CompleteIn(Schema):
    """What the organizer records when the activity took place (all optional)."""

    audience = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(
            min=0, max=10_000_000, error="受众人次须为 0 到 10000000 之间的整数"
        ),
        metadata={"description": "受众人次: how many people the activity reached"},
    )


class CancelIn(Schema):
    """Why an activity is called off."""

    reason = Text(
        multiline=True,
        required=True,
        validate=validate.Length(min=2, max=500, error="请说明取消原因（2 到 500 个字符）"),
        error_messages=REQUIRED,
    )


class CopyIn(Schema):
    """The new dates of a copy."""

    starts_at = _aware(required=True)
    ends_at = _aware(required=True)
    title = Text(validate=TITLE)


class ShiftOut(Schema):
    """A shift with its places."""

    id = Text()
    name = Text()
    capacity = fields.Integer()
    hour_weight = fields.Float(allow_none=True)
    taken = fields.Integer()
    free = fields.Integer()


class ActivityOut(Schema):
    """An activity as volunteers and organizers see it."""

    id = Text()
    status = Text()
    status_label = Text()
    title = Text()
    description = Text(
        multiline=True,
    )
    category = Text()
    category_label = Text()
    dimensions = fields.List(Text())
    host_unit_id = Text()
    host_unit_name = Text()
    co_host_unit_ids = fields.List(Text())
    address = Text()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    checkin_radius_m = fields.Integer(allow_none=True)
    starts_at = AwareDateTime()
    ends_at = AwareDateTime()
    signup_opens_at = AwareDateTime(allow_none=True)
    signup_closes_at = AwareDateTime(allow_none=True)
    walk_ins_allowed = fields.Boolean()
    points_rule_version = fields.Integer(allow_none=True)
    cancel_reason = Text(allow_none=True)
    audience = fields.Integer(allow_none=True, metadata={"description": "受众人次, if recorded"})
    shifts = fields.List(fields.Nested(ShiftOut))
    free_places = fields.Integer()
    distance_m = fields.Integer(
        allow_none=True,
        metadata={"description": "metres from near (lists asked with near; null: no coordinates)"},
    )
    created_at = AwareDateTime()
    updated_at = AwareDateTime()


class ActivityPage(PageOut):
    """A page of activities."""

    items = fields.List(fields.Nested(ActivityOut))


NEAR = "位置须为“纬度,经度”，如 29.87,121.55（纬度在 -90 到 90 之间，经度在 -180 到 180 之间）"


class Place(Text):
    """A place given as "latitude,longitude" in degrees, loaded as a (latitude, longitude) pair."""

    default_error_messages = {"place": NEAR}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            latitude, longitude = (float(part) for part in text.split(","))
        except ValueError:
            raise self.make_error("place") from None
        if not (math.isfinite(latitude) and math.isfinite(longitude)):
            raise self.make_error("place")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise self.make_error("place")
        return latitude, longitude


class ActivityQuery(Schema):
    """Filters of the activity lists."""

    q = Text(
        validate=validate.Length(max=100, error="搜索词最多 100 个字符"),
        metadata={
            "description": "words (separated by spaces), each found in the title, description, "
            "address or host unit's name, in any case"
        },
    )
    near = Place(
        metadata={
            "description": "where the reader stands, as latitude,longitude (e.g. 29.87,121.55): "
            "the nearest first, each with its distance_m; those without coordinates last"
        }
    )
    unit_id = Text()
    category = Text(validate=validate.OneOf(list(CATEGORIES), error="未知的活动类别"))
    dimension = Text(validate=validate.OneOf(list(DIMENSIONS), error="未知的嵌入维度"))
    from_ = AwareDateTime(data_key="from", attribute="from")
    to = AwareDateTime()
    has_free_places = fields.Boolean(load_default=False)
    mine = fields.Boolean(load_default=False, metadata={"description": "the activities I organize"})
    status = Text(validate=validate.OneOf([s.value for s in ActivityStatus]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
