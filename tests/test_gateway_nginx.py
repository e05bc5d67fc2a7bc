"""The production gateway is nginx, configured from the parts' URL maps, checked by nginx itself.

Each part here is a small echo server that says who it is and what it received; Debian's nginx
runs the committed configuration in front of them, as the official image would.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import nginx_support
import pytest
import requests
from backbone import wait_for
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from events.settings import Settings
from infra.broker import free_port
from infra.gateway import READINESS_PATH, route, url_maps
from infra.gateway_nginx import TEMPLATE, render, upstream_variable
from infra.registry import PARTS, WEB

SHILIU = Path(sys.executable).parent / "shiliu"
SAMPLES = {"default": "x1", "string": "x1", "int": "7", "path": "a/b.css"}
GATEWAY_ITSELF = "gateway"


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """Every part's URL map, as `shiliu gateway config` reads them."""
    folder = tmp_path_factory.mktemp("maps")
    return url_maps(Settings.from_env({"SHILIU_DATA_DIR": str(folder)}))


def sample_path(rule: str) -> str:
    """A path a werkzeug rule matches: each variable replaced by a value its converter takes."""

    def value(match: re.Match) -> str:
        return SAMPLES[match["converter"] or "default"]

    return re.sub(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?\w+>", value, rule)


def expected(maps, path: str) -> tuple[str, str]:
    """Where `shiliu dev` sends a path: the gateway's own answers, else ``route``."""
    if path == "/healthz":
        return GATEWAY_ITSELF, path
    if path == "/readyz":
        return "web", READINESS_PATH
    return route(maps, path, "GET")


def every_sample(maps) -> list[str]:
    """One path for every route of every part, and the gateway's own paths."""
    paths = {sample_path(rule.rule) for url_map in maps.values() for rule in url_map.iter_rules()}
    paths |= {"/", "/healthz", "/readyz", "/api/v1/nothing-here", "/metrics/nobody"}
    paths |= {f"/metrics/{part}" for part in maps}
    return sorted(paths)


def routing_problems(text: str, maps) -> list[str]:
    """Each path the configuration sends elsewhere than ``route``, and each location no part
    serves, one sentence each."""
    found = []
    locations = nginx_support.locations(text)
    for path in every_sample(maps):
        chosen = nginx_support.choose(locations, path)
        where = (
            (chosen.part or GATEWAY_ITSELF, nginx_support.upstream_path(chosen, path))
            if chosen
            else None
        )
        if where != expected(maps, path):
            found.append(
                f"{path}: served by {expected(maps, path)}, the gateway sends it to {where}"
            )
    for location in locations:
        if location.modifier != "~":
            continue
        served = [
            path
            for path in every_sample(maps)
            if re.search(location.pattern, path) and route(maps, path, "GET")[0] == location.part
        ]
        if not served:
            found.append(f"location {location.pattern} → {location.part}: no route of it there")
    return found


def test_the_committed_config_is_the_one_the_parts_url_maps_make(maps, tmp_path):
    assert TEMPLATE.read_text(encoding="utf-8") == render(maps), "run `shiliu gateway config`"

    checked = subprocess.run(
        [str(SHILIU), "gateway", "config", "--check"], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stderr
    stale = tmp_path / "shiliu.conf.template"
    stale.write_text(TEMPLATE.read_text().replace("/api/v1/honor-roll", "/api/v1/honour-roll"))
    checked = subprocess.run(
        [str(SHILIU), "gateway", "config", "--check", "--output", str(stale)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 1 and "out of date" in checked.stderr


def test_every_route_of_every_part_goes_to_the_part_that_serves_it(maps):
    text = TEMPLATE.read_text(encoding="utf-8")
    assert routing_problems(text, maps) == []

    # A route the gateway misses: the volunteers' sign-ups would reach web.
    signups = "location ~ ^/api/v1/activities/[^/]+/signups$ "
    missing = "\n".join(line for line in text.splitlines() if signups not in line)
    assert routing_problems(missing, maps) == [
        "/api/v1/activities/x1/signups: served by ('volunteers', '/api/v1/activities/x1/signups'),"
        " the gateway sends it to ('web', '/api/v1/activities/x1/signups')"
    ]
    # A location no part serves.
    stray = text.replace(
        "    location / {",
        "    location ~ ^/api/v1/payments$ { proxy_pass http://ledger; }\n    location / {",
    )
    assert routing_problems(stray, maps) == [
        "location ^/api/v1/payments$ → ledger: no route of it there"
    ]


def test_nginx_finds_the_config_valid_and_a_broken_one_invalid(tmp_path):
    upstreams = {upstream_variable(part): "127.0.0.1:9" for part in PARTS}  # every part's
    main = nginx_support.prepare(tmp_path / "good", upstreams, free_port())
    checked = nginx_support.check(main)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr

    # The image leaves a variable its environment does not define as it is: nginx refuses it.
    without_web = {name: value for name, value in upstreams.items() if "WEB" not in name}
    main = nginx_support.prepare(tmp_path / "unset", without_web, free_port())
    checked = nginx_support.check(main)
    assert checked.returncode != 0 and "SHILIU_UPSTREAM_WEB" in checked.stderr


# --- nginx in front of echo servers -------------------------------------------------------------


def _echo(part: str):
    @Request.application
    def answer(request: Request) -> Response:
        body = request.get_data()
        reply = Response(
            json.dumps(
                {
                    "part": part,
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string.decode(),
                    "headers": dict(request.headers),
                    "length": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "padding": "石榴" * int(request.args.get("pad", "0")),
                }
            ),
            status=int(request.args.get("status", "200")),
            mimetype="application/json",
        )
        if "X-Correlation-ID" in request.headers:
            reply.headers["X-Correlation-ID"] = request.headers["X-Correlation-ID"]
        if "referrer" in request.args:
            reply.headers["Referrer-Policy"] = request.args["referrer"]
        return reply

    return answer


@pytest.fixture(scope="module")
def echoes(maps):
    """One echo server per part on 127.0.0.1: part → host:port."""
    servers = {
        part: make_server("127.0.0.1", free_port(), _echo(part), threaded=True) for part in maps
    }
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers.values()]
    for thread in threads:
        thread.start()
    yield {part: f"127.0.0.1:{server.server_port}" for part, server in servers.items()}
    for server in servers.values():
        server.shutdown()


class RunningNginx:
    """nginx running a configuration in the foreground; its output (the access log) in a file."""

    def __init__(self, folder: Path, upstreams: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        main = nginx_support.prepare(
            folder,
            {upstream_variable(part): address for part, address in upstreams.items()},
            self.port,
        )
        self.log_path = folder / "nginx.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                nginx_support.command(main), stdout=log, stderr=subprocess.STDOUT
            )
        wait_for(self._answers, timeout=20, message="nginx to listen")

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.log_path.read_text()
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def access_log(self) -> list[dict]:
        """The JSON access log lines written so far."""
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self) -> None:
        """Stop nginx (SIGTERM: a fast shutdown)."""
        self.process.terminate()
        self.process.wait(20)


@pytest.fixture(scope="module")
def gateway(echoes, tmp_path_factory):
    """The committed configuration in Debian's nginx, every part an echo server."""
    running = RunningNginx(tmp_path_factory.mktemp("nginx"), echoes)
    yield running
    running.stop()


def test_nginx_sends_every_route_where_shiliu_dev_would(gateway, maps):
    for path in every_sample(maps):
        answer = requests.get(gateway.url + path, timeout=10)
        part, part_path = expected(maps, path)
        if part == GATEWAY_ITSELF:
            assert answer.json() == {"status": "alive"}, path
            continue
        echoed = answer.json()
        assert (echoed["part"], echoed["path"]) == (part, part_path), path


def test_a_request_keeps_its_method_query_body_and_headers(gateway):
    body = bytes(range(256)) * 4096  # 1 MiB
    answer = requests.post(
        f"{gateway.url}/api/v1/units?page=2&per_page=5",
        data=body,
        headers={"Authorization": "Bearer t", "Content-Type": "application/octet-stream"},
        timeout=10,
    )
    echoed = answer.json()
    assert echoed["part"] == "activities" and echoed["method"] == "POST"
    assert echoed["query"] == "page=2&per_page=5"
    assert echoed["length"] == len(body) and echoed["sha256"] == hashlib.sha256(body).hexdigest()
    headers = echoed["headers"]
    assert headers["Authorization"] == "Bearer t"
    assert headers["Host"] == f"127.0.0.1:{gateway.port}"
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Forwarded-Host"] == f"127.0.0.1:{gateway.port}"


def test_a_body_over_the_limit_is_refused_as_a_problem(gateway):
    answer = requests.post(f"{gateway.url}/api/v1/units", data=b"x" * (3 * 1024 * 1024), timeout=10)
    assert answer.status_code == 413
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["type"] == "urn:shiliu:problem:body-too-large"


def test_the_correlation_id_is_the_clients_or_a_new_one_passed_on_answered_and_logged(gateway):
    given = requests.get(
        f"{gateway.url}/api/v1/units", headers={"X-Correlation-ID": "smoke-7"}, timeout=10
    )
    assert given.json()["headers"]["X-Correlation-Id"] == "smoke-7"
    assert given.headers["X-Correlation-ID"] == "smoke-7"

    fresh = requests.get(f"{gateway.url}/api/v1/units", timeout=10)
    made = fresh.json()["headers"]["X-Correlation-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert fresh.headers["X-Correlation-ID"] == made

    # One the parts would have to cut or trim (they keep 64 characters) is replaced instead.
    unusable = requests.get(
        f"{gateway.url}/api/v1/units", headers={"X-Correlation-ID": "a" * 65}, timeout=10
    )
    assert re.fullmatch(r"[0-9a-f]{32}", unusable.json()["headers"]["X-Correlation-Id"])

    def logged():
        ids = {line["correlation_id"]: line for line in gateway.access_log()}
        return "smoke-7" in ids and made in ids and ids

    lines = wait_for(logged, timeout=10, message="the access log lines")
    line = lines["smoke-7"]
    assert line["method"] == "GET" and line["uri"] == "/api/v1/units" and line["status"] == 200
    assert line["upstream"].startswith("127.0.0.1:") and line["upstream_status"] == "200"


def test_security_headers_are_added_once_and_the_parts_own_win(gateway):
    page = requests.get(f"{gateway.url}/", timeout=10)
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in page.headers
    assert page.headers["Server"] == "nginx"  # no version

    own = requests.get(f"{gateway.url}/?referrer=no-referrer", timeout=10)
    assert own.headers["Referrer-Policy"] == "no-referrer"  # one header, the part's

    behind_tls = requests.get(f"{gateway.url}/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert behind_tls.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert behind_tls.json()["headers"]["X-Forwarded-Proto"] == "https, http"


def test_json_is_compressed_for_clients_that_take_gzip(gateway):
    raw = requests.get(
        f"{gateway.url}/api/v1/units?pad=1000",
        headers={"Accept-Encoding": "gzip"},
        timeout=10,
        stream=True,
    )
    assert raw.headers["Content-Encoding"] == "gzip"
    assert raw.headers["Vary"] == "Accept-Encoding"
    assert json.loads(gzip.decompress(raw.raw.read()))["part"] == "activities"

    plain = requests.get(
        f"{gateway.url}/api/v1/units?pad=1000", headers={"Accept-Encoding": "identity"}, timeout=10
    )
    assert "Content-Encoding" not in plain.headers


def test_a_part_that_does_not_answer_is_a_502_problem_and_an_error_status_passes_through(
    echoes, tmp_path
):
    nobody = f"127.0.0.1:{free_port()}"
    running = RunningNginx(tmp_path, {**echoes, "ledger": nobody})
    try:
        down = requests.get(f"{running.url}/metrics/ledger", timeout=10)
        assert down.status_code == 502
        assert down.headers["Content-Type"] == "application/problem+json"
        assert down.json()["type"] == "urn:shiliu:problem:upstream-unavailable"
        assert re.fullmatch(r"[0-9a-f]{32}", down.headers["X-Correlation-ID"])

        # A part's own 503 (its /readyz, say) is its answer, not the gateway's.
        busy = requests.get(f"{running.url}/readyz?status=503", timeout=10)
        assert busy.status_code == 503 and busy.json()["path"] == READINESS_PATH
    finally:
        running.stop()


# --- the gateway's /readyz: web asks every service ------------------------------------------------


@Request.application
def _ready_service(request: Request) -> Response:
    body = {"service": "activities", "database": "ok", "broker": "ok", "ready": True}
    return Response(json.dumps(body), mimetype="application/json")


def test_web_reports_every_part_and_is_not_ready_while_one_is_not(make_settings):
    server = make_server("127.0.0.1", free_port(), _ready_service, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answering = f"http://127.0.0.1:{server.server_port}"
        urls = {
            "activities": answering,
            "volunteers": answering,
            "ledger": f"http://127.0.0.1:{free_port()}",  # nobody
        }
        web = WEB.create_app(
            make_settings("sqlite", bootstrap=f"127.0.0.1:{free_port()}", service_urls=urls)
        )
        answer = web.test_client().get(READINESS_PATH)
    finally:
        server.shutdown()
    assert answer.status_code == 503
    report = answer.get_json()
    assert report["ready"] is False
    assert report["services"]["activities"]["ready"] is True
    assert report["services"]["volunteers"]["ready"] is True
    assert report["services"]["ledger"] == {"ready": False, "error": "unreachable: ConnectionError"}
    web_part = report["services"]["web"]
    assert web_part["database"] == "ok" and web_part["broker"].startswith("unreachable")
