"""The production gateway's nginx configuration, written from the parts' URL maps.

``render`` turns the routing table (``infra.gateway.service_routes``: every ``/api/`` rule a
service serves) into one regex location per route, sent to that service's upstream; web serves
every other path, as ``infra.gateway.route`` decides for ``shiliu dev``. The result is committed
as ``infra/nginx/shiliu.conf.template`` (``shiliu gateway config`` writes it again; a test fails
when it is out of date) and mounted into the official nginx image's ``/etc/nginx/templates/``,
whose entrypoint substitutes ``${SHILIU_UPSTREAM_<PART>}`` (``host:port``) from the environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from werkzeug.routing import Map, Rule

from infra.gateway import METRICS_PREFIX, READINESS_PATH, WEB, service_routes

TEMPLATE = Path(__file__).resolve().parent / "nginx" / "shiliu.conf.template"
LISTEN_PORT = 8000
# No part takes file uploads; the largest body is an attendance confirmation of a big activity
# (about 150 bytes an attendee): 2 MiB is more than ten thousand attendees.
MAX_BODY = "2m"
CONNECT_TIMEOUT = "5s"
# web calls the services with a 10 s (30 s for files) timeout; the gateway waits longer than that.
READ_TIMEOUT = "60s"

# Werkzeug's converters, as PCRE (nginx) patterns of one path segment or more.
CONVERTERS = {
    "default": "[^/]+",
    "string": "[^/]+",
    "int": "[0-9]+",
    "path": "[^/].*",
    "uuid": "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
}
_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?\w+>")
_SPECIAL = re.compile(r"([.^$*+?()\[\]{}|\\])")


class UnknownConverter(ValueError):
    """A route uses a converter the nginx configuration cannot express yet."""


def upstream_variable(part: str) -> str:
    """The environment variable holding a part's ``host:port`` for the gateway."""
    return f"SHILIU_UPSTREAM_{part.upper()}"


def rule_pattern(rule: Rule | str) -> str:
    """The anchored PCRE pattern matching exactly the paths a werkzeug rule matches (a rule
    ending in ``/`` also matches the path without it, which werkzeug redirects)."""
    text = rule if isinstance(rule, str) else rule.rule
    pattern, position = "", 0
    for match in _VARIABLE.finditer(text):
        pattern += _SPECIAL.sub(r"\\\1", text[position : match.start()])
        converter = match["converter"] or "default"
        if converter not in CONVERTERS or match["args"]:
            raise UnknownConverter(f"{text}: add the converter {converter!r} to CONVERTERS")
        pattern += CONVERTERS[converter]
        position = match.end()
    pattern += _SPECIAL.sub(r"\\\1", text[position:])
    if pattern.endswith("/") and len(pattern) > 1:
        pattern += "?"
    return f"^{pattern}$"


def _location_pattern(pattern: str) -> str:
    # nginx reads { } ; and spaces as syntax: such a pattern must be quoted.
    return f'"{pattern}"' if re.search(r"[{};\s]", pattern) else pattern


def _problem(status: int, code: str, title: str, detail: str) -> str:
    """A problem+json body as services/common/errors.py writes it, for nginx's own errors."""
    return (
        f'{{"type": "urn:shiliu:problem:{code}", "title": "{title}", '
        f'"status": {status}, "detail": "{detail}"}}'
    )


def route_locations(url_maps: Mapping[str, Map]) -> list[tuple[str, str, list[str]]]:
    """(pattern, service, rules) for every distinct route pattern, in ``route``'s order; a
    pattern an earlier service already has stays with it, as ``route`` would decide."""
    locations: dict[str, tuple[str, list[str]]] = {}
    for service, rule in service_routes(url_maps):
        pattern = rule_pattern(rule)
        owner, rules = locations.setdefault(pattern, (service, []))
        if owner == service and rule.rule not in rules:
            rules.append(rule.rule)
    return [(pattern, service, rules) for pattern, (service, rules) in locations.items()]


def render(url_maps: Mapping[str, Map]) -> str:
    """The gateway's nginx configuration (an ``http``-level file for ``conf.d``)."""
    parts = list(url_maps)
    lines = [
        "# 石榴 Shiliu: the gateway, the one base URL in front of every part.",
        "# Written by `shiliu gateway config` from the parts' URL maps (infra/gateway_nginx.py);",
        "# do not edit it by hand: change the routes in the code and write it again.",
        "#",
        "# The official nginx image reads it from /etc/nginx/templates/ and substitutes each",
        "# ${SHILIU_UPSTREAM_<PART>} (host:port) from the environment into /etc/nginx/conf.d/.",
        "",
        "# --- the parts ---------------------------------------------------------------------------",
    ]
    for part in parts:
        lines += [
            f"upstream {part} {{",
            f"    server ${{{upstream_variable(part)}}};",
            "    keepalive 16;",
            "}",
        ]
    lines += [
        "",
        "# --- the correlation id: the client's when it gave a usable one, else nginx's request id --",
        "map $http_x_correlation_id $correlation_id {",
        '    "~^[!-~]{1,64}$" $http_x_correlation_id;',
        "    default $request_id;",
        "}",
        "",
        "# --- X-Forwarded-*: this hop appended to what a proxy in front said (SHILIU_TRUSTED_PROXIES)",
        "map $http_x_forwarded_proto $forwarded_proto {",
        '    "" $scheme;',
        '    default "$http_x_forwarded_proto, $scheme";',
        "}",
        "map $http_x_forwarded_host $forwarded_host {",
        '    "" $http_host;',
        '    default "$http_x_forwarded_host, $http_host";',
        "}",
        "",
        "# --- security headers: the part's own when it sets one, else the gateway's --------------",
        "map $upstream_http_x_content_type_options $x_content_type_options {",
        '    "" nosniff;',
        '    default "";',
        "}",
        "map $upstream_http_referrer_policy $referrer_policy {",
        '    "" strict-origin-when-cross-origin;',
        '    default "";',
        "}",
        "map $upstream_http_x_correlation_id $correlation_id_answer {",
        '    "" $correlation_id;',
        '    default "";',
        "}",
        "# HSTS only when the TLS proxy in front says the request came over HTTPS.",
        "map $http_x_forwarded_proto $strict_transport_security {",
        '    "~^https" "max-age=31536000";',
        '    default "";',
        "}",
        "",
        "# --- one JSON line per request on stdout ---------------------------------------------------",
        "log_format shiliu_json escape=json",
        '    \'{"time": "$time_iso8601", "correlation_id": "$correlation_id", \'',
        '    \'"client": "$remote_addr", "forwarded_for": "$http_x_forwarded_for", \'',
        '    \'"method": "$request_method", "uri": "$request_uri", "status": $status, \'',
        '    \'"bytes_sent": $bytes_sent, "request_length": $request_length, \'',
        '    \'"request_time": $request_time, "upstream": "$upstream_addr", \'',
        '    \'"upstream_status": "$upstream_status", \'',
        '    \'"upstream_response_time": "$upstream_response_time", \'',
        '    \'"user_agent": "$http_user_agent"}\';',
        "",
        "server {",
        f"    listen {LISTEN_PORT};",
        "    server_name _;",
        "    server_tokens off;",
        "    access_log /dev/stdout shiliu_json;",
        "",
        f"    client_max_body_size {MAX_BODY};",
        "    client_header_timeout 15s;",
        "    client_body_timeout 30s;",
        "    send_timeout 60s;",
        "    keepalive_timeout 65s;",
        "",
        "    proxy_http_version 1.1;",
        '    proxy_set_header Connection "";',
        "    proxy_set_header Host $http_host;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $forwarded_proto;",
        "    proxy_set_header X-Forwarded-Host $forwarded_host;",
        "    proxy_set_header X-Correlation-ID $correlation_id;",
        f"    proxy_connect_timeout {CONNECT_TIMEOUT};",
        f"    proxy_send_timeout {READ_TIMEOUT};",
        f"    proxy_read_timeout {READ_TIMEOUT};",
        "    proxy_redirect off;",
        "",
        "    gzip on;",
        "    gzip_comp_level 5;",
        "    gzip_min_length 1024;",
        "    gzip_proxied any;",
        "    gzip_vary on;",
        "    gzip_types text/css text/plain text/javascript application/javascript",
        "               application/json application/problem+json image/svg+xml;",
        "",
        "    add_header X-Content-Type-Options $x_content_type_options always;",
        "    add_header Referrer-Policy $referrer_policy always;",
        "    add_header X-Correlation-ID $correlation_id_answer always;",
        "    add_header Strict-Transport-Security $strict_transport_security always;",
        "",
        "    # nginx's own errors answer as the parts do, in problem+json.",
        "    error_page 413 @too_large;",
        "    error_page 502 @unavailable;",
        "    error_page 504 @timeout;",
        "    location @too_large {",
        "        default_type application/problem+json;",
        "        return 413 '"
        + _problem(413, "body-too-large", "请求内容过大", f"at most {MAX_BODY} bytes")
        + "';",
        "    }",
        "    location @unavailable {",
        "        default_type application/problem+json;",
        "        return 502 '"
        + _problem(502, "upstream-unavailable", "上游不可用", "the part is unreachable")
        + "';",
        "    }",
        "    location @timeout {",
        "        default_type application/problem+json;",
        "        return 504 '"
        + _problem(504, "upstream-timeout", "上游超时", "the part did not answer in time")
        + "';",
        "    }",
        "",
        "    # The gateway itself: alive; ready when every part is (web asks the services).",
        "    location = /healthz {",
        "        default_type application/json;",
        '        return 200 \'{"status": "alive"}\';',
        "    }",
        "    location = /readyz {",
        f"        proxy_pass http://{WEB}{READINESS_PATH};",
        "    }",
        "",
        "    # Each part's Prometheus metrics.",
    ]
    for part in parts:
        lines.append(
            f"    location = {METRICS_PREFIX}{part} {{ proxy_pass http://{part}/metrics; }}"
        )
    lines += ["", "    # Every route a service serves (web serves the rest)."]
    for pattern, service, rules in route_locations(url_maps):
        lines.append(
            f"    location ~ {_location_pattern(pattern)} {{ proxy_pass http://{service}; }}"
            f"  # {', '.join(rules)}"
        )
    lines += [
        "",
        "    location / {",
        f"        proxy_pass http://{WEB};",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"
