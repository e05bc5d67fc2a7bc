"""HTTP schemas of services/volunteers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class ProfileIn(Schema):
    """A volunteer's profile as web sends it on registration or change."""

    display_name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    home_unit_id = fields.String(required=True)
    team_id = fields.String(load_default=None, allow_none=True)
    languages = fields.List(
        fields.String(validate=validate.Length(max=30)),
        load_default=list,
        validate=validate.Length(max=20),
    )
    ethnicity = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=32))
    ethnicity_consent = fields.Boolean(load_default=False)


class VolunteerOut(Schema):
    """A profile as staff in scope see it (no ethnicity)."""

    id = fields.String()
    display_name = fields.String()
    home_unit_id = fields.String()
    team_id = fields.String(allow_none=True)
    languages = fields.List(fields.String())
    created_at = fields.DateTime()


class VolunteerPrivateOut(VolunteerOut):
    """A profile as its owner and administrators see it."""

    ethnicity = fields.String(allow_none=True)
    ethnicity_consent_at = fields.DateTime(allow_none=True)


class VolunteerPage(Schema):
    """One page of volunteers."""

    items = fields.List(fields.Nested(VolunteerOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
