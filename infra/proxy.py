"""The production gateway: one base URL in front of every part's own HTTP server.

It makes the same routing decision as the in-process gateway (``infra.gateway.route``) and
forwards the request, streaming both bodies, to the owner's upstream base URL, configured by
``SHILIU_UPSTREAM_<PART>`` (e.g. ``SHILIU_UPSTREAM_ACTIVITIES=http://activities:8000``).
It answers ``/healthz`` itself and ``/readyz`` from every upstream's ``/readyz``.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import requests
import structlog
from werkzeug.routing import Map
from werkzeug.wrappers import Response

from events.settings import Settings
from infra.gateway import WEB, health_answer, route
from infra.registry import SERVICES
from infra.registry import WEB as WEB_PART
from services.common.errors import problem

log = structlog.get_logger(__name__)

PARTS = (*SERVICES, WEB)
# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded;
# the length is set again by whoever sends the body on. Host is kept: pages see the public one.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
CHUNK = 64 * 1024


class UpstreamsMissing(RuntimeError):
    """The gateway was started without an upstream URL for every part."""


def upstreams_from_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Read ``SHILIU_UPSTREAM_<PART>`` for every part; raise if one is missing."""
    env = os.environ if env is None else env
    found = {part: env.get(f"SHILIU_UPSTREAM_{part.upper()}", "").rstrip("/") for part in PARTS}
    missing = [f"SHILIU_UPSTREAM_{part.upper()}" for part, url in found.items() if not url]
    if missing:
        raise UpstreamsMissing(f"set {', '.join(missing)} to the parts' base URLs")
    return found


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


class _Body:
    """The request body as a file of known length, so it streams upstream with its length."""

    def __init__(self, stream, length: int):
        self.stream = stream
        self.remaining = length

    def __len__(self) -> int:
        return self.remaining

    def read(self, size: int = -1) -> bytes:
        """Read at most ``size`` bytes (all that is left when negative)."""
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.stream.read(size)
        self.remaining -= len(data)
        return data


def _request_headers(environ) -> dict[str, str]:
    headers = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").title()
            if name.lower() not in HOP_BY_HOP:
                headers[name] = value
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    headers["X-Forwarded-Host"] = host
    headers["X-Forwarded-Proto"] = environ.get("wsgi.url_scheme", "http")
    client = environ.get("REMOTE_ADDR", "")
    earlier = environ.get("HTTP_X_FORWARDED_FOR")
    headers["X-Forwarded-For"] = f"{earlier}, {client}" if earlier else client
    return headers


def _request_body(environ):
    length = environ.get("CONTENT_LENGTH") or ""
    if length.strip():
        return _Body(environ["wsgi.input"], int(length))
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        stream = environ["wsgi.input"]
        return iter(lambda: stream.read(CHUNK), b"")
    return None


class ProxyGateway:
    """A WSGI app that forwards each request to the upstream of the part that owns its path."""

    def __init__(
        self,
        upstreams: dict[str, str],
        maps: dict[str, Map],
        timeout: float = 30.0,
        ready_timeout: float = 5.0,
    ):
        self.upstreams = upstreams
        self.maps = maps
        self.timeout = timeout
        self.ready_timeout = ready_timeout
        self._local = threading.local()

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ProxyGateway:
        """Build the gateway from ``SHILIU_UPSTREAM_*`` and the parts' URL maps."""
        return cls(upstreams_from_env(env), url_maps(Settings.from_env(env)))

    def _session(self) -> requests.Session:
        # One pooled session per thread: keep-alive connections to the upstreams.
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def readiness(self) -> dict:
        """Ask every upstream's /readyz at once; ready when all of them are."""

        def ask(part: str) -> tuple[str, dict]:
            try:
                answer = self._session().get(
                    f"{self.upstreams[part]}/readyz", timeout=self.ready_timeout
                )
                report = answer.json()
                report["ready"] = answer.status_code == 200 and bool(report.get("ready"))
                return part, report
            except (requests.RequestException, ValueError) as exc:
                return part, {"ready": False, "error": f"unreachable: {type(exc).__name__}"}

        with ThreadPoolExecutor(len(self.upstreams)) as pool:
            report = dict(pool.map(ask, self.upstreams))
        return {"ready": all(part["ready"] for part in report.values()), "services": report}

    def forward(self, environ, part: str, path: str) -> Response | requests.Response:
        """Send the request to the part's upstream; return its streamed answer (or a problem)."""
        url = self.upstreams[part] + path
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
        try:
            body = _request_body(environ)
        except ValueError:
            return problem(400, "bad-content-length", "请求无效", "Content-Length is not a number")
        try:
            return self._session().request(
                environ["REQUEST_METHOD"],
                url,
                headers=_request_headers(environ),
                data=body,
                stream=True,
                allow_redirects=False,
                timeout=self.timeout,
            )
        except requests.Timeout:
            log.warning("upstream timed out", part=part, url=url)
            return problem(504, "upstream-timeout", "上游超时", f"{part} did not answer in time")
        except requests.RequestException as exc:
            log.warning("upstream unreachable", part=part, url=url, error=repr(exc))
            return problem(502, "upstream-unavailable", "上游不可用", f"{part} is unreachable")

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/") or "/"
        health = health_answer(path, self.readiness)
        if health is not None:
            return health(environ, start_response)
        part, part_path = route(self.maps, path, environ.get("REQUEST_METHOD", "GET"))
        answer = self.forward(environ, part, part_path)
        if isinstance(answer, Response):
            return answer(environ, start_response)
        headers = [
            (name, value)
            for name, value in answer.raw.headers.iteritems()
            if name.lower() not in HOP_BY_HOP - {"content-length"}
        ]
        start_response(f"{answer.status_code} {answer.reason}", headers)
        return _stream(answer)


def _stream(answer: requests.Response):
    """Yield the upstream's body as it arrives, undecoded, and release the connection after."""
    try:
        yield from answer.raw.stream(CHUNK, decode_content=False)
    finally:
        answer.close()
