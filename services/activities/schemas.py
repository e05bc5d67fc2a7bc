"""HTTP schemas of services/activities."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates

from events.schemas import UNIT_KINDS
from events.vocabulary import CATEGORIES, DIMENSIONS, STATUSES

NAME = validate.Length(min=1, max=100, error="名称须为 1 到 100 个字符")


class UnitOut(Schema):
    """A unit of the tree."""

    id = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.String(allow_none=True)
    path = fields.String()


class UnitList(Schema):
    """Units in tree order."""

    items = fields.List(fields.Nested(UnitOut))
    total = fields.Integer()


class UnitQuery(Schema):
    """Filters of the unit list."""

    under = fields.String(metadata={"description": "only this unit's subtree (a unit id)"})


class UnitCreate(Schema):
    """A new unit under a parent."""

    name = fields.String(required=True, validate=NAME)
    kind = fields.String(
        required=True, validate=validate.OneOf(UNIT_KINDS, error="单位类型须为 {choices} 之一")
    )
    parent_id = fields.String(required=True)
    slug = fields.String(
        load_default=None,
        validate=validate.Regexp(
            r"^[a-z0-9][a-z0-9-]{0,31}$", error="简称只能由小写字母、数字和连字符组成"
        ),
    )


class UnitChange(Schema):
    """A rename and/or a move."""

    name = fields.String(validate=NAME)
    parent_id = fields.String()


# ---- activities --------------------------------------------------------------------------

TITLE = validate.Length(min=1, max=100, error="标题须为 1 到 100 个字符")
REQUIRED = {"required": "必填"}


def _aware(**kwargs):
    return fields.AwareDateTime(
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

    id = fields.String(load_default=None, metadata={"description": "an existing shift's id"})
    name = fields.String(
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

    title = fields.String(validate=TITLE)
    description = fields.String(validate=validate.Length(max=5000, error="简介最多 5000 个字符"))
    category = fields.String(validate=validate.OneOf(list(CATEGORIES), error="未知的活动类别"))
    dimensions = fields.List(
        fields.String(validate=validate.OneOf(list(DIMENSIONS), error="未知的嵌入维度")),
        validate=validate.Length(min=1, max=5, error="至少选择一个嵌入维度"),
    )
    co_host_unit_ids = fields.List(fields.String(), validate=validate.Length(max=20))
    address = fields.String(validate=validate.Length(max=200, error="地址最多 200 个字符"))
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
    points_rule_version = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    shifts = fields.List(
        fields.Nested(ShiftIn), validate=validate.Length(min=1, max=30, error="至少需要一个岗位")
    )


class ActivityCreate(ActivityFields):
    """A new activity (created as a draft)."""

    title = fields.String(required=True, validate=TITLE, error_messages=REQUIRED)
    category = fields.String(
        required=True,
        validate=validate.OneOf(list(CATEGORIES), error="未知的活动类别"),
        error_messages=REQUIRED,
    )
    dimensions = fields.List(
        fields.String(validate=validate.OneOf(list(DIMENSIONS), error="未知的嵌入维度")),
        required=True,
        validate=validate.Length(min=1, max=5, error="至少选择一个嵌入维度"),
        error_messages=REQUIRED,
    )
    host_unit_id = fields.String(required=True, error_messages=REQUIRED)
    starts_at = _aware(required=True)
    ends_at = _aware(required=True)

    @post_load
    def _default_shift(self, data, **_kwargs):
        data.setdefault("shifts", [{"name": "志愿者", "capacity": 20, "hour_weight": None}])
        data.setdefault("co_host_unit_ids", [])
        return data


class ActivityChange(ActivityFields):
    """Changes to an activity (every field optional)."""


class CancelIn(Schema):
    """Why an activity is called off."""

    reason = fields.String(
        required=True,
        validate=validate.Length(min=2, max=500, error="请说明取消原因（2 到 500 个字符）"),
        error_messages=REQUIRED,
    )


class CopyIn(Schema):
    """The new dates of a copy."""

    starts_at = _aware(required=True)
    ends_at = _aware(required=True)
    title = fields.String(validate=TITLE)


class ShiftOut(Schema):
    """A shift with its places."""

    id = fields.String()
    name = fields.String()
    capacity = fields.Integer()
    hour_weight = fields.Decimal(as_string=True, allow_none=True)
    taken = fields.Integer()
    free = fields.Integer()


class ActivityOut(Schema):
    """An activity as volunteers and organizers see it."""

    id = fields.String()
    status = fields.String()
    status_label = fields.String()
    title = fields.String()
    description = fields.String()
    category = fields.String()
    category_label = fields.String()
    dimensions = fields.List(fields.String())
    host_unit_id = fields.String()
    host_unit_name = fields.String()
    co_host_unit_ids = fields.List(fields.String())
    address = fields.String()
    latitude = fields.Decimal(as_string=True, allow_none=True)
    longitude = fields.Decimal(as_string=True, allow_none=True)
    checkin_radius_m = fields.Integer(allow_none=True)
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    signup_opens_at = fields.AwareDateTime(allow_none=True)
    signup_closes_at = fields.AwareDateTime(allow_none=True)
    walk_ins_allowed = fields.Boolean()
    points_rule_version = fields.Integer(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    shifts = fields.List(fields.Nested(ShiftOut))
    free_places = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ActivityPage(Schema):
    """A page of activities."""

    items = fields.List(fields.Nested(ActivityOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ActivityQuery(Schema):
    """Filters of the activity lists."""

    unit_id = fields.String()
    category = fields.String(validate=validate.OneOf(list(CATEGORIES), error="未知的活动类别"))
    dimension = fields.String(validate=validate.OneOf(list(DIMENSIONS), error="未知的嵌入维度"))
    from_ = fields.AwareDateTime(data_key="from", attribute="from")
    to = fields.AwareDateTime()
    has_free_places = fields.Boolean(load_default=False)
    mine = fields.Boolean(load_default=False, metadata={"description": "the activities I organize"})
    status = fields.String(validate=validate.OneOf(list(STATUSES)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
