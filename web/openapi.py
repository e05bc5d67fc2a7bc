"""One OpenAPI document for the one base URL: every part's flask-smorest spec, merged."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Flask, current_app, jsonify
from flask_swagger_ui import get_swaggerui_blueprint

bp = Blueprint("openapi", __name__)
DOCUMENT = "/api/v1/openapi.json"
DOCS = "/api/v1/docs"


def _part_apps() -> dict[str, Flask]:
    """The apps whose specs make up the document: in-process ones, or spec-only copies."""
    apps = dict(current_app.config.get("SHILIU_SERVICE_APPS") or {})
    if not apps:
        if "shiliu_spec_apps" not in current_app.extensions:
            current_app.extensions["shiliu_spec_apps"] = _spec_only_apps(
                current_app.extensions["shiliu"].settings
            )
        apps = current_app.extensions["shiliu_spec_apps"]
    return {**apps, "web": current_app._get_current_object()}


def _spec_only_apps(settings) -> dict[str, Flask]:
    from infra.registry import SERVICES

    throwaway = replace(settings, database_urls=dict.fromkeys(settings.database_urls, "sqlite://"))
    return {name: part.create_app(throwaway) for name, part in SERVICES.items()}


class SchemaClash(RuntimeError):
    """Two parts define different schemas under one name: rename one of them."""


def merge(specs: dict[str, dict]) -> dict:
    """Merge OpenAPI documents of several parts into one (paths, components, tags)."""
    paths: dict = {}
    components: dict[str, dict] = {}
    tags: list = []
    for part, spec in specs.items():
        for path, operations in spec.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        for section, entries in spec.get("components", {}).items():
            merged = components.setdefault(section, {})
            for name, entry in entries.items():
                if name in merged and merged[name] != entry:
                    raise SchemaClash(f"{part} redefines {section} {name}")
                merged[name] = entry
        tags += [t for t in spec.get("tags", []) if t not in tags]
    components.setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "石榴 Shiliu API",
            "version": "v1",
            "description": (
                "Every JSON API of Shiliu at one base URL. Sign in with POST /api/v1/auth/token "
                "and send `Authorization: Bearer <token>`. Errors are application/problem+json."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": components,
        "security": [{}, {"bearer": []}],
    }


@bp.get(DOCUMENT)
def document():
    """The merged OpenAPI document."""
    specs = {
        name: app.extensions["shiliu_api"].spec.to_dict()
        for name, app in _part_apps().items()
        if "shiliu_api" in app.extensions
    }
    return jsonify(merge(specs))


def init_app(app: Flask) -> None:
    """Serve the document and the interactive page (Swagger UI, bundled with its package)."""
    app.register_blueprint(bp)
    app.register_blueprint(
        get_swaggerui_blueprint(DOCS, DOCUMENT, config={"app_name": "石榴 Shiliu API"}),
        url_prefix=DOCS,
    )
