"""One base URL for everything: routes each request to the part whose URL map claims it.

``route`` is the one routing decision. The in-process ``Gateway`` (``shiliu dev``) calls the
owner app directly; the production gateway is nginx, whose configuration
(``infra/nginx/shiliu.conf.template``) ``infra.gateway_nginx`` writes from the same URL maps:
one location per route a service serves, web for the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace

from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from events.settings import Settings
from infra.registry import SERVICES
from infra.registry import WEB as WEB_PART
from services.common.app import ServiceContext, service_context
from web import readiness

WEB = "web"
METRICS_PREFIX = "/metrics/"
API_PREFIX = "/api/"
READINESS_PATH = readiness.PATH  # where the production gateway's /readyz goes: web asks every part


def url_maps(settings: Settings) -> dict[str, Map]:
    """Return every part's URL map, services first (their apps are built only to read them,
    on throwaway in-memory databases that are never connected)."""
    throwaway = replace(settings, database_urls=dict.fromkeys(settings.database_urls, "sqlite://"))
    maps = {}
    for part in [*SERVICES.values(), WEB_PART]:
        app = part.create_app(throwaway)
        maps[part.name] = app.url_map
        app.extensions["shiliu"].engine.dispose()
    return maps


def service_routes(url_maps: Mapping[str, Map]) -> list[tuple[str, Rule]]:
    """The routing table: (service, rule) for every ``/api/`` rule a service serves through the
    gateway, in the order ``route`` asks the services; web serves every other path."""
    table = []
    for name, url_map in url_maps.items():
        if name == WEB:
            continue
        rules = sorted(url_map.iter_rules(), key=lambda rule: rule.rule)
        table += [(name, rule) for rule in rules if rule.rule.startswith(API_PREFIX)]
    return table


def claims(url_map: Map, path: str, method: str) -> bool:
    """Tell whether a URL map has a route for this path (any method counts)."""
    adapter = url_map.bind("gateway")
    try:
        adapter.match(path, method)
        return True
    except (MethodNotAllowed, RequestRedirect):
        return True
    except NotFound:
        return False


def route(url_maps: Mapping[str, Map], path: str, method: str) -> tuple[str, str]:
    """Return (part, path on that part) for a request: a service claims its ``/api/`` paths,
    ``/metrics/<part>`` is that part's ``/metrics``, and web serves everything else."""
    if path.startswith(METRICS_PREFIX):
        part = path[len(METRICS_PREFIX) :].strip("/")
        if part in url_maps:
            return part, "/metrics"
    if path.startswith(API_PREFIX):
        for name, url_map in url_maps.items():
            if name != WEB and claims(url_map, path, method):
                return name, path
    return WEB, path


def health_answer(path: str, readiness) -> Response | None:
    """The gateway's own answer to /healthz and /readyz (None for every other path)."""
    if path == "/healthz":
        return json_response({"status": "alive"})
    if path == "/readyz":
        report = readiness()
        return json_response(report, 200 if report["ready"] else 503)
    return None


def json_response(body: dict, status: int = 200) -> Response:
    """Return a JSON response the gateway itself answers with (health, readiness)."""
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


class Gateway:
    """A WSGI app that serves /healthz and /readyz itself and passes the rest to the owner app.

    Services come first, so their ``/api/v1/...`` routes win; the web app serves the rest.
    """

    def __init__(
        self, services: dict[str, Flask], web: Flask, readiness: Callable[[], dict] | None = None
    ):
        self.services = services
        self.web = web
        self.apps: dict[str, Flask] = {**services, WEB: web}
        self.url_maps = {name: app.url_map for name, app in self.apps.items()}
        self._readiness = readiness

    def readiness(self) -> dict:
        """Check every service's database and the broker."""
        if self._readiness is not None:
            return self._readiness()
        contexts: dict[str, ServiceContext] = {
            name: service_context(app) for name, app in self.apps.items()
        }
        report = {name: ctx.readiness() for name, ctx in contexts.items()}
        return {"ready": all(part["ready"] for part in report.values()), "services": report}

    def owner(self, path: str, method: str) -> Flask:
        """Return the app that serves this path."""
        return self.apps[route(self.url_maps, path, method)[0]]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/") or "/"
        health = health_answer(path, self.readiness)
        if health is not None:
            return health(environ, start_response)
        part, part_path = route(self.url_maps, path, Request(environ).method)
        environ["PATH_INFO"] = part_path
        return self.apps[part](environ, start_response)
