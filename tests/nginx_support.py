"""Debian's nginx running the gateway's configuration here, as the official image would.

The image keeps our file in ``/etc/nginx/templates/``, fills in ``${SHILIU_UPSTREAM_<PART>}`` from
the environment (``substitute``) and includes the result from the ``http`` block of its own
``nginx.conf`` (``main_config`` is that file, with every path in a folder of the test's own).
``locations`` and ``choose`` read a configuration and pick a location as nginx does, for the
locations the gateway uses (``=``, ``~`` in order, then the longest prefix).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from infra.gateway_nginx import LISTEN_PORT, TEMPLATE

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MIME_TYPES = Path("/etc/nginx/mime.types")


def substitute(text: str, env: dict[str, str]) -> str:
    """Replace ``${NAME}`` and ``$NAME`` for every name ``env`` defines, as the image's
    entrypoint does with envsubst (nginx's own ``$variables`` are left alone)."""
    for name in sorted(env, key=len, reverse=True):
        text = text.replace(f"${{{name}}}", env[name])
        text = re.sub(rf"\${re.escape(name)}(?![A-Za-z0-9_])", lambda _m, n=name: env[n], text)
    return text


def main_config(folder: Path, include: Path) -> str:
    """An ``nginx.conf`` like the official image's, with its pid, logs and temp files in folder."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers may then use the test's folder
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\n"
        "daemon off;\n"
        f"pid {folder / 'nginx.pid'};\n"
        "error_log stderr notice;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    include {MIME_TYPES};\n"
        "    default_type application/octet-stream;\n"
        f"{temp}\n"
        f"    include {include};\n"
        "}\n"
    )


def prepare(folder: Path, upstreams: dict[str, str], port: int, template: Path = TEMPLATE) -> Path:
    """Write the filled-in gateway config (listening on 127.0.0.1:port) and its nginx.conf into
    folder; return the nginx.conf."""
    folder.mkdir(parents=True, exist_ok=True)
    text = substitute(template.read_text(encoding="utf-8"), upstreams)
    text = text.replace(f"listen {LISTEN_PORT};", f"listen 127.0.0.1:{port};")
    (folder / "shiliu.conf").write_text(text, encoding="utf-8")
    main = folder / "nginx.conf"
    main.write_text(main_config(folder, folder / "shiliu.conf"), encoding="utf-8")
    return main


def check(main: Path) -> subprocess.CompletedProcess:
    """``nginx -t``: nginx's own verdict on a configuration."""
    return subprocess.run(
        [NGINX, "-t", "-p", str(main.parent), "-e", "stderr", "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def command(main: Path) -> list[str]:
    """The command line that runs nginx in the foreground with this configuration."""
    return [NGINX, "-p", str(main.parent), "-e", "stderr", "-c", str(main)]


@dataclass(frozen=True)
class Location:
    """One ``location`` of a configuration: modifier, pattern, and the part it proxies to."""

    modifier: str  # "=", "~", "" (prefix) or "@" (named)
    pattern: str
    part: str | None
    uri: str | None  # the URI proxy_pass puts instead of the matched one, if any


_LOCATION = re.compile(
    r"^\s*location\s+(?:(?P<modifier>=|~\*?|\^~)\s+)?(?P<pattern>\"[^\"]+\"|\S+)\s*\{"
    r"(?P<body>.*?)\}[ \t]*(?:#[^\n]*)?$",
    re.M | re.S,
)
_PROXY_PASS = re.compile(r"proxy_pass\s+http://(?P<part>[a-z0-9_-]+)(?P<uri>/[^;\s]*)?;")


def locations(text: str) -> list[Location]:
    """Every location of a configuration, in its order."""
    found = []
    for match in _LOCATION.finditer(text):
        pattern = match["pattern"].strip('"')
        modifier = match["modifier"] or ("@" if pattern.startswith("@") else "")
        proxy = _PROXY_PASS.search(match["body"])
        found.append(
            Location(modifier, pattern, proxy and proxy["part"], proxy and (proxy["uri"] or None))
        )
    return found


def choose(found: list[Location], path: str) -> Location | None:
    """The location nginx picks for a path: an exact match, else the first regex that
    matches, else the longest prefix."""
    for location in found:
        if location.modifier == "=" and location.pattern == path:
            return location
    for location in found:
        if location.modifier == "~" and re.search(location.pattern, path):
            return location
    prefixes = [loc for loc in found if loc.modifier == "" and path.startswith(loc.pattern)]
    return max(prefixes, key=lambda loc: len(loc.pattern), default=None)


def upstream_path(location: Location, path: str) -> str:
    """The path the part receives: proxy_pass's URI in place of an exact match, else the same."""
    if location.uri and location.modifier == "=":
        return location.uri
    return path
