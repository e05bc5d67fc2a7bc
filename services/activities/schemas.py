"""HTTP schemas of services/activities."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from events.schemas import UNIT_KINDS

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
