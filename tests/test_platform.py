"""The platform as `make run` starts it: one base URL, readiness, the first flow across the backbone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

import pytest
import requests
from backbone import wait_for
from databases import migrate
from sqlalchemy import func, select
from werkzeug.test import Client

from events import kafka as kafka_clients
from events.settings import Settings
from events.store import outbox
from infra.broker import free_port, port_in_use
from infra.dev import Platform
from infra.seed import (
    DEMO_ACTIVITIES,
    DEMO_ADJUSTMENT,
    DEMO_HISTORY,
    DEMO_NEIGHBOURS,
    DEMO_PASSWORD,
    HISTORY_OPEN_DAYS,
    seed_demo_history,
)
from services.activities.models import Activity
from services.common.app import service_context
from services.ledger.models import Adjustment, LedgerEntry
from services.ledger.models import UnitView as LedgerUnit
from services.volunteers.models import UnitView as VolunteerUnit


def _started(settings, history: bool):
    running = Platform(settings)
    gateway = running.start(seed=True, history=history)
    yield running, Client(gateway)
    running.stop()


@pytest.fixture
def platform(settings):
    """Every service, its relay and consumer, and web, in this process on the session broker."""
    yield from _started(settings, history=False)


@pytest.fixture
def platform_with_history(settings):
    """The platform as `make run` starts it: the demonstration city with its recent past."""
    yield from _started(settings, history=True)


def _units(platform_, service, model) -> int:
    factory = service_context(platform_.apps[service]).session_factory
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_unit_created_in_activities_reaches_the_volunteers_and_ledger_projections(platform):
    running, client = platform
    listed = client.get("/api/v1/units").get_json()
    assert listed["total"] == 12
    wait_for(lambda: _units(running, "volunteers", VolunteerUnit) == 12, message="volunteers")
    wait_for(lambda: _units(running, "ledger", LedgerUnit) == 12, message="ledger")
    factory = service_context(running.apps["ledger"]).session_factory
    with factory() as session:
        street = session.scalar(select(LedgerUnit).where(LedgerUnit.path == "/nb/bl/xq/"))
    assert street.name == "新碶街道" and street.kind == "street"


def test_one_base_url_serves_pages_apis_and_health(platform):
    _, client = platform
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["ready"] is True
    assert set(body["services"]) == {
        "activities",
        "volunteers",
        "ledger",
        "notifications",
        "statistics",
        "web",
    }
    assert all(
        part["database"] == "ok" and part["broker"] == "ok" for part in body["services"].values()
    )
    # What the production gateway asks for its /readyz: web, with the services in its process.
    parts = client.get("/readyz/parts")
    assert parts.status_code == 200 and set(parts.get_json()["services"]) == set(body["services"])
    page = client.get("/")
    assert page.status_code == 200 and "石榴" in page.get_data(as_text=True)
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["Content-Type"].startswith("application/problem+json")


def _token(client, login: str) -> dict:
    answer = client.post("/api/v1/auth/token", json={"username": login, "password": DEMO_PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def test_the_demo_history_earns_its_points_through_the_ledger_once(platform_with_history):
    running, client = platform_with_history
    attended = [(login, h) for *_, came in DEMO_HISTORY for login, _shift, h in came]
    ledger = service_context(running.apps["ledger"]).session_factory

    def rows() -> int:
        with ledger() as session:
            return session.scalar(select(func.count()).select_from(LedgerEntry))

    # One award per confirmed attendance, one deduction per no-show, and nothing else.
    wait_for(lambda: rows() == len(attended), message="the demo history in the ledger")
    with ledger() as session:
        kinds = Counter(session.scalars(select(LedgerEntry.reason_code)))
    assert kinds == {
        "attendance": sum(h is not None for _, h in attended),
        "no_show": sum(h is None for _, h in attended),
    }

    headers = _token(client, "13800000001")
    me = client.get("/api/v1/me", headers=headers).get_json()
    mine = client.get(f"/api/v1/ledger/volunteers/{me['id']}", headers=headers).get_json()
    # 邻里节 (3 h × 10 + 5) × 120% = 42, 普通话角 2 h × 10 + 5 = 25, legal aid as translator
    # 3 h × 10 × 1.5 + 5 = 50, 百家宴 (4 h × 10 + 5) × 120% = 54: the default rule of DESIGN §7.
    assert mine["balance"] == 42 + 25 + 50 + 54
    explained = {e["activity_title"]: e["explanation"] for e in mine["entries"]["items"]}
    assert "3小时 × 10 × 1.5 + 5 = 50分" in explained["法律援助咨询日"]

    # The adjustment the city's administrator asked for counts once the district's approves it.
    district = _token(client, "bl-admin")
    pending = client.get("/api/v1/ledger/adjustments?status=pending", headers=district)
    (asked,) = pending.get_json()["items"]
    assert asked["reason"] == DEMO_ADJUSTMENT[2] and asked["volunteer_id"] == me["id"]
    approve = f"/api/v1/ledger/adjustments/{asked['id']}/approve"
    assert client.post(approve, headers=district).status_code == 200
    balance = client.get(f"/api/v1/ledger/volunteers/{me['id']}", headers=headers).get_json()
    assert balance["balance"] == mine["balance"] + DEMO_ADJUSTMENT[1]

    admin = _token(client, "admin")
    city = client.get("/api/v1/units", headers=admin).get_json()["items"][0]
    standings = client.get(
        f"/api/v1/ledger/standings?unit_id={city['id']}", headers=admin
    ).get_json()["items"]
    assert len(standings) == 1 + len(DEMO_NEIGHBOURS)
    assert standings[0]["name"] == "阿依古丽" and standings[0]["rank"] == 1

    activities = service_context(running.apps["activities"]).session_factory
    with activities() as session:
        held = session.scalars(select(Activity.status).where(Activity.created_by == "seed")).all()
    closed = sum(days > HISTORY_OPEN_DAYS for _, _, _, _, days, *_ in DEMO_HISTORY)
    assert 0 < closed < len(DEMO_HISTORY)
    assert Counter(held) == {
        "published": len(DEMO_ACTIVITIES),
        "completed": len(DEMO_HISTORY) - closed,
        "closed": closed,
    }

    # What a second start does: nothing new, and no event that could change the ledger.
    def emitted() -> list[int]:
        counts = []
        for app in [*running.apps.values(), running.web]:
            with service_context(app).session_factory() as session:
                counts.append(session.scalar(select(func.count()).select_from(outbox)))
                if app is running.apps["ledger"]:
                    counts.append(session.scalar(select(func.count()).select_from(Adjustment)))
        return counts

    before = emitted()
    again = seed_demo_history(running.apps, running.web, running._wait)
    assert again == 0 and emitted() == before


def test_readiness_says_which_part_is_not_ready(make_settings, tmp_path):
    settings = make_settings("sqlite", bootstrap=f"127.0.0.1:{free_port()}")  # nobody listens there
    running = Platform(settings)
    # Start without a broker: only the databases and apps, no workers.
    from infra.registry import SERVICES, WEB

    for name, part in SERVICES.items():
        migrate(name, settings.database_url(name))
        running.apps[name] = part.create_app(settings)
    running.web = WEB.create_app(settings)
    from infra.gateway import Gateway

    client = Client(Gateway(running.apps, running.web))
    answer = client.get("/readyz")
    assert answer.status_code == 503
    report = answer.get_json()["services"]["activities"]
    assert report["database"] == "ok" and report["broker"].startswith("unreachable")


@pytest.mark.slow
def test_make_run_serves_readyz_creates_every_topic_stops_cleanly_and_keeps_data(tmp_path):
    port, broker_port = free_port(), free_port()
    env = {
        **os.environ,
        "SHILIU_DATA_DIR": str(tmp_path / "data"),
        "SHILIU_EMBEDDED_BROKER_PORT": str(broker_port),
    }
    env.pop("SHILIU_KAFKA_BOOTSTRAP", None)
    command = [sys.executable, "-m", "infra.cli", "dev", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return requests.get(f"{base}/readyz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    for run in (1, 2):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            wait_for(ready, timeout=120, interval=0.5, message="readyz to answer 200")
            units = requests.get(f"{base}/api/v1/units", timeout=5).json()
            assert units["total"] == 12, f"run {run}: the demo city is loaded exactly once"
            if run == 1:
                broker = Settings.from_env({"SHILIU_EMBEDDED_BROKER_PORT": str(broker_port)})
                client = kafka_clients.admin(broker)
                present = set(client.list_topics())
                client.close()
                assert set(kafka_clients.all_topics(broker)) <= present
        finally:
            process.send_signal(signal.SIGINT)
            output = process.communicate(timeout=60)[0].decode()
        assert process.returncode == 0, output[-3000:]
        assert "http://127.0.0.1" in output and "Stopped." in output
        assert not port_in_use("127.0.0.1", broker_port), "the broker was left running"
        assert not port_in_use("127.0.0.1", port)
