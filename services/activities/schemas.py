"""HTTP schemas of services/activities."""

from __future__ import annotations

from marshmallow import Schema, fields


class UnitOut(Schema):
    """A unit of the tree."""

    id = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.String(allow_none=True)
    path = fields.String()


class UnitList(Schema):
    """Every unit, in tree order."""

    items = fields.List(fields.Nested(UnitOut))
    total = fields.Integer()
