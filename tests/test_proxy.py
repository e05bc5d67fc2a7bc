"""The production gateway: the same routing decision as `shiliu dev`, forwarded over HTTP."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from events.settings import Settings
from infra.broker import free_port
from infra.gateway import route
from infra.proxy import PARTS, ProxyGateway, UpstreamsMissing, upstreams_from_env, url_maps


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """Every part's URL map, as the production gateway reads them."""
    folder = tmp_path_factory.mktemp("maps")
    return url_maps(Settings.from_env({"SHILIU_DATA_DIR": str(folder)}))


@Request.application
def _echo(request: Request) -> Response:
    """An upstream that answers with what it received."""
    body = request.get_data()
    answer = Response(
        json.dumps(
            {
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode(),
                "headers": dict(request.headers),
                "length": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            }
        ),
        status=201,
        mimetype="application/json",
    )
    answer.headers.add("Set-Cookie", "a=1")
    answer.headers.add("Set-Cookie", "b=2")
    return answer


@pytest.fixture(scope="module")
def echo_upstream():
    """An HTTP server on 127.0.0.1 that echoes each request."""
    server = make_server("127.0.0.1", free_port(), _echo, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def test_both_gateways_make_one_routing_decision(maps):
    assert route(maps, "/api/v1/units", "GET") == ("activities", "/api/v1/units")
    assert route(maps, "/api/v1/units", "DELETE") == ("activities", "/api/v1/units")
    assert route(maps, "/", "GET") == ("web", "/")
    assert route(maps, "/api/v1/nothing-here", "GET") == ("web", "/api/v1/nothing-here")
    assert route(maps, "/metrics/ledger", "GET") == ("ledger", "/metrics")
    assert route(maps, "/metrics/nobody", "GET") == ("web", "/metrics/nobody")


def test_a_request_is_forwarded_with_its_body_headers_and_query_and_streamed_back(
    maps, echo_upstream
):
    gateway = Client(ProxyGateway(dict.fromkeys(PARTS, echo_upstream), maps))
    body = bytes(range(256)) * 4096  # 1 MiB
    answer = gateway.post(
        "/api/v1/units?page=2&per_page=5",
        data=body,
        headers={
            "X-Correlation-ID": "c-42",
            "Content-Type": "application/octet-stream",
            "Authorization": "Bearer t",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic c2VjcmV0",
        },
    )
    assert answer.status_code == 201
    echoed = json.loads(answer.get_data())
    assert echoed["method"] == "POST" and echoed["path"] == "/api/v1/units"
    assert echoed["query"] == "page=2&per_page=5"
    assert echoed["length"] == len(body)
    assert echoed["sha256"] == hashlib.sha256(body).hexdigest()
    headers = echoed["headers"]
    assert headers["X-Correlation-Id"] == "c-42" and headers["Authorization"] == "Bearer t"
    assert headers["Host"] == "localhost" and headers["X-Forwarded-Host"] == "localhost"
    assert "X-Forwarded-For" in headers
    assert "Keep-Alive" not in headers and "Proxy-Authorization" not in headers
    assert answer.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_an_unreachable_upstream_is_a_502_and_makes_the_gateway_not_ready(maps, echo_upstream):
    nobody = f"http://127.0.0.1:{free_port()}"
    gateway = Client(ProxyGateway({**dict.fromkeys(PARTS, echo_upstream), "ledger": nobody}, maps))
    down = gateway.get("/metrics/ledger")
    assert down.status_code == 502
    assert down.headers["Content-Type"].startswith("application/problem+json")
    assert down.get_json()["type"] == "urn:shiliu:problem:upstream-unavailable"

    ready = gateway.get("/readyz")
    assert ready.status_code == 503
    report = ready.get_json()
    assert report["ready"] is False
    assert report["services"]["ledger"] == {"ready": False, "error": "unreachable: ConnectionError"}
    assert gateway.get("/healthz").status_code == 200


def test_a_gateway_without_an_upstream_for_every_part_says_which_are_missing():
    with pytest.raises(UpstreamsMissing, match="SHILIU_UPSTREAM_LEDGER"):
        upstreams_from_env({"SHILIU_UPSTREAM_ACTIVITIES": "http://activities:8000"})


def test_a_content_length_that_is_not_a_number_is_a_400(maps, echo_upstream):
    gateway = ProxyGateway(dict.fromkeys(PARTS, echo_upstream), maps)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/units",
        "CONTENT_LENGTH": "lots",
        "wsgi.input": None,
        "wsgi.url_scheme": "http",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
    }
    statuses = []
    body = b"".join(gateway(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["400 BAD REQUEST"] and b"bad-content-length" in body
