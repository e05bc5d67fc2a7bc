"""The flask-smorest set-up every service's JSON API shares."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import HTTPException


def make_api(app: Flask, title: str) -> Api:
    """Attach a flask-smorest Api to the app; its OpenAPI document is built from the schemas."""
    app.config.setdefault("API_TITLE", title)
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    api = Api(app)
    app.extensions["shiliu_api"] = api
    # flask-smorest registers its own HTTP error handler; ours answers with problem+json.
    if "shiliu_http_error" in app.extensions:
        app.register_error_handler(HTTPException, app.extensions["shiliu_http_error"])
    return api


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint, parsing each request with one schema instance made up front.

    Given a schema class, webargs builds a new instance on every request, which costs more
    than the parsing itself; the OpenAPI document is the same either way.
    """

    def arguments(self, schema, **kwargs):
        """Parse and document the request's arguments with ``schema`` (see flask-smorest)."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, **kwargs)


class PageArgs(Schema):
    """Pagination query arguments."""

    # marshmallow 4 ignores validators that return False: they must raise, as Range does.
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
