"""One base URL for everything: routes each request to the app whose URL map claims it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from services.common.app import ServiceContext, service_context


def claims(app: Flask, path: str, method: str) -> bool:
    """Tell whether a Flask app has a route for this path (any method counts)."""
    adapter = app.url_map.bind("gateway")
    try:
        adapter.match(path, method)
        return True
    except (MethodNotAllowed, RequestRedirect):
        return True
    except NotFound:
        return False


class Gateway:
    """A WSGI app that serves /healthz and /readyz itself and passes the rest to the owner app.

    Services come first, so their ``/api/v1/...`` routes win; the web app serves the rest.
    """

    def __init__(
        self, services: dict[str, Flask], web: Flask, readiness: Callable[[], dict] | None = None
    ):
        self.services = services
        self.web = web
        self._readiness = readiness

    def readiness(self) -> dict:
        """Check every service's database and the broker."""
        if self._readiness is not None:
            return self._readiness()
        contexts: dict[str, ServiceContext] = {
            name: service_context(app) for name, app in {**self.services, "web": self.web}.items()
        }
        report = {name: ctx.readiness() for name, ctx in contexts.items()}
        return {"ready": all(part["ready"] for part in report.values()), "services": report}

    def owner(self, path: str, method: str) -> Flask:
        """Return the app that serves this path."""
        if path.startswith("/api/"):
            for app in self.services.values():
                if claims(app, path, method):
                    return app
        return self.web

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/") or "/"
        if path == "/healthz":
            return Response('{"status":"alive"}', mimetype="application/json")(
                environ, start_response
            )
        if path == "/readyz":
            report = self.readiness()
            response = Response(
                Flask.json_provider_class(self.web).dumps(report),
                status=200 if report["ready"] else 503,
                mimetype="application/json",
            )
            return response(environ, start_response)
        request = Request(environ)
        return self.owner(path, request.method)(environ, start_response)
