"""The flask-smorest set-up every service's JSON API shares."""

from __future__ import annotations

import http

from flask import Flask, Response, current_app, request
from flask_smorest import Api, abort
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields, validate
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from events.settings import Settings
from services.common import auth
from services.common.app import create_base_app

PROBLEM = "application/problem+json"


class MessageOut(Schema):
    """A message's meaning: ``key``, the message id (the Chinese template with ``{names}``), and
    the ``values`` that fill it; a value that is itself a message to translate (a status name) is
    an object of this form too."""

    key = fields.String(required=True, metadata={"example": "长度最多为 {max}"})
    values = fields.Dict(metadata={"example": {"max": 200}})


class Problem(Schema):
    """An error (RFC 9457): a stable type, a title and detail for people, and for a validation
    error the messages of each field (by location: json, query, path). ``message`` is the
    detail's meaning and ``error_messages`` those of ``errors`` (the same shape, each message as
    a ``MessageOut``), so that a client can show them in another language."""

    type = fields.String(required=True, metadata={"example": "urn:shiliu:problem:validation"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    message = fields.Nested(MessageOut)
    errors = fields.Dict(metadata={"description": "messages by location and field"})
    error_messages = fields.Dict(
        metadata={"description": "the meaning of each message of errors: {key, values}"}
    )


class ShiliuApi(Api):
    """flask-smorest's Api, documenting every error as what it is: problem+json (``Problem``)."""

    ERROR_SCHEMA = Problem

    def _register_responses(self):
        """Register the shared error responses with the problem+json content type."""
        for status in http.HTTPStatus:
            if 400 <= status < 600:
                response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
                prepare_response(response, self.spec, PROBLEM)
                self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (problem+json)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def make_api(app: Flask, title: str) -> Api:
    """Attach a flask-smorest Api to the app; its OpenAPI document is built from the schemas."""
    app.config.setdefault("API_TITLE", title)
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    api = ShiliuApi(app)
    app.extensions["shiliu_api"] = api
    # flask-smorest registers its own HTTP error handler; ours answers with problem+json.
    if "shiliu_http_error" in app.extensions:
        app.register_error_handler(HTTPException, app.extensions["shiliu_http_error"])
    return api


def create_service_app(
    name: str, config: Settings | None, import_name: str, *blueprints: SmorestBlueprint
) -> Flask:
    """A service's app as every service wires it: the shared behaviour (``create_base_app``),
    its JSON API titled "石榴 NAME", and the service's own blueprints on that API."""
    app = create_base_app(name, config, import_name)
    api = make_api(app, f"石榴 {name}")
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    return app


class Parser(FlaskParser):
    """webargs' Flask parser, answering a body that is not JSON, or JSON nested too deep for
    Python's parser (a RecursionError), with a 400 that names the body."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            abort(400, messages={"json": ["JSON 嵌套层次太深"]})

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        abort(400, messages={"json": ["须为有效的 JSON"]})


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint, parsing each request with one schema instance made up front.

    Given a schema class, webargs builds a new instance on every request, which costs more
    than the parsing itself; the OpenAPI document is the same either way. Every JSON API of the
    platform is made of these (their parser is ``Parser``).
    """

    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args, caller=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.caller = caller or auth.principal
        self.before_request(self._authenticate_then_authorize)

    def _authenticate_then_authorize(self):
        """Before the arguments are parsed: 401 for an anonymous caller of an operation that is
        not public, 403 for a caller holding none of the roles it needs (anywhere), so that
        validation (422) and lookups (404) answer only those who may ask."""
        view = current_app.view_functions.get(request.endpoint)
        if view is None or getattr(view, "shiliu_public", False):
            return
        who = self.caller()
        if who is None:
            raise auth.Unauthenticated("需要登录后才能操作", code="unauthenticated")
        roles = getattr(view, "shiliu_roles", None)
        if roles and not (who.system or any(grant.role in roles for grant in who.grants)):
            detail, code = getattr(view, "shiliu_refusal", None) or REFUSAL
            raise auth.Forbidden(detail, code=code)

    def route(self, rule, *, parameters=None, **options):
        """Route as flask-smorest does, declaring in the document whether a token is needed."""
        register = super().route(rule, parameters=parameters, **options)

        def decorator(view):
            public = getattr(view, "shiliu_public", False)
            security = [{}, {"bearer": []}] if public else [{"bearer": []}]
            apidoc = getattr(view, "_apidoc", {})
            manual = {**apidoc.get("manual_doc", {}), "security": security}
            view._apidoc = {**apidoc, "manual_doc": manual}
            return register(view)

        return decorator

    def arguments(self, schema, **kwargs):
        """Parse and document the request's arguments with ``schema`` (see flask-smorest)."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, **kwargs)

    def act(self, rule: str, answer: type, role_names: tuple[str, ...], schema=None, **reading):
        """Offer an act on one thing: ``POST rule`` for callers holding one of ``role_names``,
        the body read with ``schema`` where the act takes one (``reading`` as ``arguments``
        takes it, such as ``required=False``), and the thing as it now stands (``answer``) as
        the answer. The acts of a kind (on an activity, on an award cycle) differ only in that."""

        def offer(view):
            view = self.response(200, answer)(view)
            if schema is not None:
                view = self.arguments(schema, **reading)(view)
            return self.post(rule)(roles(*role_names)(view))

        return offer


def public(view):
    """Mark an operation anyone may call (a token, if sent, is still read); put it right under
    the route decorator. Every other operation needs a signed-in caller."""
    view.shiliu_public = True
    return view


REFUSAL = ("你的角色不覆盖这个单位", "out-of-scope")  # as require_scope says


def roles(*names: str, detail: str | None = None, code: str | None = None):
    """Mark an operation only callers holding one of these roles (at any unit) may call; the
    unit's scope is checked by the operation itself. Put it right under the route decorator.
    ``detail`` and ``code`` say why others are refused (the operation's own words)."""

    def mark(view):
        view.shiliu_roles = names
        if detail:
            view.shiliu_refusal = (detail, code or REFUSAL[1])
        return view

    return mark


class PageArgs(Schema):
    """Pagination query arguments."""

    # marshmallow 4 ignores validators that return False: they must raise, as Range does.
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PageOut(Schema):
    """One page of a list, as every list of the services answers it: the page's ``items``, how
    many there are in all, and which page of what size this is. A page's schema derives from
    this one and names its items (``items = fields.List(fields.Nested(ItemOut))``), which stay
    the answer's first key; one that tells more about the page adds its own fields."""

    items = fields.List(fields.Raw())
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


def one_page(items: list, total: int, args: dict) -> dict:
    """The answer of a ``PageOut``: these items of ``total``, on the page ``args`` asked for
    (a ``PageArgs``)."""
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_answer(data: bytes, mimetype: str, filename: str, *, inline: bool) -> Response:
    """A document as the answer: shown in the browser (``inline``, a certificate's PDF) or saved
    as a file (a committee's Excel), under ``filename`` either way."""
    disposition = "inline" if inline else "attachment"
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )
