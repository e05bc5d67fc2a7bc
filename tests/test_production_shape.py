"""The production shape without Docker: the compose file's own start commands, run here.

gunicorn serves each service and web (each on a free port of 127.0.0.1), ``shiliu worker`` runs
each service's relay and consumer, the one-shot jobs create the topics, migrate and load the
demonstration city, all against PostgreSQL (one new database per service) and the session's
broker. The gateway is Debian's nginx running the committed configuration with the gateway
container's environment, its upstreams pointed at the local ports (``tests/nginx_support.py``),
and every request goes through its one base URL.

The journey today: the platform becomes ready, the demonstration units are listed and reach the
volunteers' and the ledger's own databases, the page is served. Later issues extend it here,
with more tests on the same ``production`` fixture: a resident registers (web), signs up for an
activity (volunteers), checks in at the venue and gets points (ledger), all through
``production.gateway_url``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nginx_support
import pytest
import requests
from backbone import wait_for
from compose_check import interpolate, load
from databases import POSTGRES, POSTGRES_URL
from sqlalchemy import create_engine, make_url, text

from events.settings import SERVICES as DATABASES
from infra.broker import free_port
from infra.registry import SERVICES

HTTP_PARTS = (*SERVICES, "web")
BIN = Path(sys.executable).parent


class Processes:
    """The subprocesses of one production shape, each logging to its own file, stopped together."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.running: dict[str, subprocess.Popen] = {}

    def log(self, name: str, lines: int = 40) -> str:
        """Return the last lines a process wrote."""
        path = self.folder / f"{name}.log"
        text_ = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text_.splitlines()[-lines:])

    def run(self, name: str, command: list[str], env: dict[str, str]) -> None:
        """Run a one-shot job to completion; fail with its output if it fails."""
        with open(self.folder / f"{name}.log", "wb") as output:
            result = subprocess.run(
                command, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=180
            )
        assert result.returncode == 0, f"{name} failed:\n{self.log(name)}"

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        """Start a long-running process in its own process group."""
        with open(self.folder / f"{name}.log", "wb") as output:
            self.running[name] = subprocess.Popen(
                command,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def assert_alive(self) -> None:
        """Fail, with its output, if any process has exited."""
        for name, process in self.running.items():
            assert process.poll() is None, (
                f"{name} exited ({process.returncode}):\n{self.log(name)}"
            )

    def stop_all(self) -> None:
        """SIGTERM every process group, wait for a clean exit, SIGKILL what is left."""
        for process in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            # Whatever is left of the group (gunicorn's workers, should any linger) goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Production:
    """A running production shape: its base URL and the databases behind it."""

    gateway_url: str
    database_urls: dict[str, str]
    processes: Processes = field(repr=False)

    def access_log(self) -> list[dict]:
        """The gateway's JSON access log lines so far."""
        path = self.processes.folder / "gateway.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]

    def get(self, path: str, **kwargs) -> requests.Response:
        """GET a path of the one base URL."""
        return requests.get(self.gateway_url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        """POST to a path of the one base URL."""
        return requests.post(self.gateway_url + path, timeout=10, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        """PATCH a path of the one base URL."""
        return requests.patch(self.gateway_url + path, timeout=10, **kwargs)

    def count(self, service: str, table: str) -> int:
        """Count the rows of a table in one service's own database."""
        engine = create_engine(self.database_urls[service])
        try:
            with engine.connect() as conn:
                return conn.scalar(text(f"SELECT count(*) FROM {table}"))
        finally:
            engine.dispose()


def compose_command(compose: dict, service: str, port: int | None = None) -> list[str]:
    """The container's command from docker-compose.yml, bound to 127.0.0.1:port if it serves."""
    command = [str(interpolate(word, {})) for word in compose["services"][service]["command"]]
    if port is not None:
        command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    return command


def compose_environment(compose: dict, service: str) -> dict[str, str]:
    """The container's environment from docker-compose.yml (defaults interpolated)."""
    environment = compose["services"][service].get("environment") or {}
    return {name: str(interpolate(value, {})) for name, value in environment.items()}


def _create_databases(tag: str, folder: Path) -> tuple[dict[str, str], list[str]]:
    """One new database per service: PostgreSQL when it answers here, else SQLite files."""
    if not POSTGRES:
        return {name: f"sqlite:///{folder / f'{name}.db'}" for name in DATABASES}, []
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    urls, created = {}, []
    with admin.connect() as conn:
        for name in DATABASES:
            database = f"shiliu_{tag}_{name}"
            conn.execute(text(f'CREATE DATABASE "{database}"'))
            created.append(database)
            url = make_url(POSTGRES_URL).set(database=database, query={})
            urls[name] = url.render_as_string(hide_password=False)
    admin.dispose()
    return urls, created


def _drop_databases(created: list[str]) -> None:
    if not created:
        return
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for database in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


def _ready(production: Production) -> bool:
    production.processes.assert_alive()
    try:
        return production.get("/readyz").status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def production(broker, tmp_path_factory):
    """Every part started as its container would be, on PostgreSQL and the session's broker."""
    folder = tmp_path_factory.mktemp("production")
    compose = load()
    tag = uuid.uuid4().hex[:8]
    urls, created = _create_databases(tag, folder)
    ports = {part: free_port() for part in (*HTTP_PARTS, "gateway")}
    local = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "SHILIU_DATA_DIR": str(folder / "data"),
        "SHILIU_KAFKA_BOOTSTRAP": broker,
        "SHILIU_TOPIC_PREFIX": f"p{tag}.",
        # The embedded broker settles a group in seconds only with short timeouts (DESIGN §4).
        "SHILIU_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "SHILIU_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "SHILIU_KAFKA_MAX_POLL_INTERVAL_MS": "30000",
        # One gunicorn worker per part: this machine has two cores for all of them.
        "WEB_CONCURRENCY": "1",
        # What infra/compose.env gives every container.
        "SHILIU_SECRET_KEY": f"smoke-test-secret-{uuid.uuid4().hex}",
        **{f"SHILIU_{name.upper()}_URL": f"http://127.0.0.1:{ports[name]}" for name in SERVICES},
        **{f"SHILIU_{name.upper()}_DATABASE_URL": url for name, url in urls.items()},
    }
    # The gateway container's environment, each part's host:port moved to this machine.
    upstreams = {
        name: f"127.0.0.1:{ports[value.split(':')[0]]}"
        for name, value in compose_environment(compose, "gateway").items()
        if name.startswith("SHILIU_UPSTREAM_")
    }

    def env(service: str) -> dict[str, str]:
        return {**os.environ, **compose_environment(compose, service), **local}

    processes = Processes(folder)
    try:
        processes.run("topics", compose_command(compose, "topics"), env("topics"))
        processes.run("migrate", compose_command(compose, "migrate"), env("migrate"))
        processes.run("seed", compose_command(compose, "seed"), env("seed"))
        for name in (*SERVICES, "web"):
            worker = f"{name}-worker"
            processes.start(worker, compose_command(compose, worker), env(worker))
        for part in HTTP_PARTS:
            processes.start(part, compose_command(compose, part, ports[part]), env(part))
        gateway = nginx_support.prepare(folder / "gateway", upstreams, ports["gateway"])
        checked = nginx_support.check(gateway)
        assert checked.returncode == 0, checked.stderr
        processes.start("gateway", nginx_support.command(gateway), dict(os.environ))
        running = Production(f"http://127.0.0.1:{ports['gateway']}", urls, processes)
        wait_for(
            lambda: _ready(running), timeout=120, interval=0.5, message="the gateway's /readyz"
        )
        yield running
    finally:
        processes.stop_all()
        _drop_databases(created)


def test_the_gateway_is_ready_when_every_part_is(production):
    answer = production.get("/readyz")
    assert answer.status_code == 200
    report = answer.json()
    assert report["ready"] is True
    assert set(report["services"]) == {*SERVICES, "web"}
    for part, state in report["services"].items():
        assert state["database"] == "ok" and state["broker"] == "ok", part
    assert production.get("/healthz").json() == {"status": "alive"}


def test_the_demonstration_units_are_served_and_reach_the_volunteers_and_the_ledger(production):
    listed = production.get("/api/v1/units").json()
    assert listed["total"] == 12
    assert {"宁波市", "新碶街道", "北仑区“石榴红”志愿服务队"} <= {
        u["name"] for u in listed["items"]
    }
    for service in ("volunteers", "ledger"):
        wait_for(
            lambda service=service: (
                production.processes.assert_alive() or production.count(service, "unit_views") == 12
            ),
            timeout=60,
            message=f"the units to reach the {service} database",
        )
    metrics = production.get("/metrics/activities").text
    assert 'shiliu_outbox_backlog{service="activities"} 0.0' in metrics


def test_the_page_and_the_correlation_id_pass_through_the_gateway(production):
    page = production.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and "石榴" in page.text
    assert page.headers["Content-Encoding"] == "gzip"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    missing = production.get("/api/v1/nothing-here", headers={"X-Correlation-ID": "smoke-1"})
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")
    assert (
        missing.headers["X-Correlation-ID"] == "smoke-1"
    )  # once: two would read "smoke-1, smoke-1"

    # Without one, the gateway makes it: the part answers with it, and the gateway logs it.
    units = production.get("/api/v1/units")
    made = units.headers["X-Correlation-ID"]

    def logged():
        return {line["correlation_id"]: line for line in production.access_log()}

    lines = wait_for(lambda: made in logged() and logged(), timeout=10, message="the access log")
    assert lines[made]["uri"] == "/api/v1/units" and lines[made]["upstream_status"] == "200"
    assert lines["smoke-1"]["status"] == 404


def test_a_resident_registers_signs_up_checks_in_and_gets_points_through_the_gateway(production):
    """The resident's whole journey, every request through the one base URL."""
    units = {u["name"]: u for u in production.get("/api/v1/units").json()["items"]}
    community = units["富春社区"]
    wait_for(
        lambda: production.count("web", "unit_views") == 12,
        timeout=60,
        message="web to learn the unit tree",
    )
    registered = production.post(
        "/api/v1/accounts",
        json={
            "phone": "13600001234",
            "password": "smoke2026pw",
            "name": "烟测居民",
            "home_unit_id": community["id"],
        },
    )
    assert registered.status_code == 201, registered.text
    resident = bearer(production, "13600001234", "smoke2026pw")
    me = production.get("/api/v1/me", headers=resident).json()
    volunteer_id = me["id"]
    assert me["profile"]["home_unit_id"] == community["id"]

    # The community's organizer, made the way a new installation makes its first staff.
    created = subprocess.run(
        [
            str(BIN / "shiliu"),
            "accounts",
            "create",
            "--username",
            "smoke-organizer",
            "--password",
            "organize2026",
            "--role",
            "organizer",
            "--unit",
            community["id"],
        ],
        env={**os.environ, "SHILIU_WEB_DATABASE_URL": production.database_urls["web"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr
    organizer = bearer(production, "smoke-organizer", "organize2026")

    now = datetime.now(UTC).replace(microsecond=0)
    activity = production.post(
        "/api/v1/activities",
        headers=organizer,
        json={
            "title": "烟测邻里节",
            "category": "festival",
            "dimensions": ["culture"],
            "host_unit_id": community["id"],
            # Sign-up is open until the start; check-in opens 30 minutes before it.
            "starts_at": (now + timedelta(minutes=20)).isoformat(),
            "ends_at": (now + timedelta(hours=2)).isoformat(),
        },
    ).json()
    published = production.post(f"/api/v1/activities/{activity['id']}/publish", headers=organizer)
    assert published.status_code == 200, published.text

    def signed_up():
        answer = production.post(
            f"/api/v1/activities/{activity['id']}/signups", headers=resident, json={}
        )
        return answer.status_code == 201 and answer.json()

    signup = wait_for(signed_up, timeout=60, message="volunteers to learn of the activity")
    assert signup["status"] == "confirmed"
    checked_in = production.post(
        f"/api/v1/activities/{activity['id']}/checkins",
        headers=organizer,
        json={"volunteer_id": volunteer_id},
    )
    assert checked_in.status_code == 201, checked_in.text
    # The neighbours came early: the organizer starts it now (an activity.updated for everyone).
    started = production.patch(
        f"/api/v1/activities/{activity['id']}",
        headers=organizer,
        json={"starts_at": (now - timedelta(minutes=1)).isoformat()},
    )
    assert started.status_code == 200, started.text

    def confirmed():
        answer = production.post(
            f"/api/v1/activities/{activity['id']}/attendance/confirm",
            headers=organizer,
            json={
                "entries": [
                    {"volunteer_id": volunteer_id, "hours": "2", "reason": "现场确认，未签退"}
                ],
                "no_shows": [],
            },
        )
        return answer.status_code == 200 and answer.json()

    wait_for(confirmed, timeout=60, message="volunteers to see the activity started")

    def balance():
        answer = production.get(f"/api/v1/ledger/volunteers/{volunteer_id}", headers=resident)
        return answer.status_code == 200 and answer.json()["balance"]

    # The default rule: 5 for attending + 10 per confirmed hour.
    assert wait_for(balance, timeout=60, message="the points to reach the ledger") == 25

    def told():
        answer = production.get("/api/v1/notifications", headers=resident)
        kinds = {item["kind"]: item for item in answer.json()["items"]}
        return "hours_confirmed" in kinds and kinds["hours_confirmed"]

    # ... and the notifications worker put it in the resident's inbox, points and all.
    message = wait_for(told, timeout=60, message="the points to reach the inbox")
    assert "2.0 小时" in message["text"] and "25 积分" in message["text"]


def bearer(production, username: str, password: str) -> dict:
    """Authorization headers for an account, through the gateway."""
    answer = production.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
