"""Shared fixtures: one real broker per session, unique topics per test, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from backbone import GROUP_TIMEOUTS
from databases import ENGINES, POSTGRES_URL, migrate
from sqlalchemy import create_engine, text

from events import logs
from events.settings import Settings
from infra.broker import EmbeddedBroker, free_port
from services.common.app import ServiceContext

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
logs.configure("console", level="INFO")


def pytest_report_header(config):
    return f"databases: {', '.join(ENGINES)}"


@pytest.fixture(scope="session", autouse=True)
def light_password_hashing():
    """Passwords hashed with argon2id at its lightest cost in this process. At the production
    cost (64 MiB, three passes: ~0.2 s a hash or a check here) every sign-in, token and new
    account waited for it, over half the time of the modules that sign people in. The
    production cost is pinned by tests/test_security.py; processes the suite starts (`shiliu
    dev`, the production shape) keep it."""
    from argon2 import PasswordHasher

    from web import operations

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            operations, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        yield


@pytest.fixture(scope="session")
def broker():
    """The one embedded broker of this test session (or the one SHILIU_TEST_KAFKA_BOOTSTRAP names)."""
    external = os.environ.get("SHILIU_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield Settings.from_env({"SHILIU_KAFKA_BOOTSTRAP": external}).kafka_bootstrap
        return
    ARTIFACTS.mkdir(exist_ok=True)
    with EmbeddedBroker(
        Settings.from_env({}),
        port=free_port(),
        log_path=ARTIFACTS / f"broker-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log",
    ) as running:
        yield running.bootstrap


@pytest.fixture(params=ENGINES)
def engine_name(request) -> str:
    """Each test that asks runs once per database engine."""
    return request.param


def _database_urls(engine_name: str, tmp_path: Path, schemas: list[str]) -> dict[str, str]:
    from events.settings import SERVICES

    if engine_name == "sqlite":
        return {name: f"sqlite:///{tmp_path / f'{name}.db'}" for name in SERVICES}
    tag = uuid.uuid4().hex[:10]
    urls = {}
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in SERVICES:
            schema = f"t_{tag}_{name}"
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            urls[name] = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    admin.dispose()
    return urls


@pytest.fixture
def make_settings(tmp_path, request):
    """Build Settings for this test: its own data folder, databases and topic prefix (the
    databases empty, or ``migrated`` to head)."""
    schemas: list[str] = []

    def build(
        engine_name: str = "sqlite",
        bootstrap: str | None = None,
        migrated: bool = False,
        **overrides,
    ) -> Settings:
        env = {"SHILIU_DATA_DIR": str(tmp_path / "data")}
        if bootstrap:
            env["SHILIU_KAFKA_BOOTSTRAP"] = bootstrap
        base = Settings.from_env(env)
        built = replace(
            base,
            **GROUP_TIMEOUTS,
            topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
            database_urls=_database_urls(engine_name, tmp_path, schemas),
            **overrides,
        )
        if migrated:
            for name, url in built.database_urls.items():
                migrate(name, url)
        return built

    yield build
    _drop_schemas(schemas)


def _drop_schemas(schemas: list[str]) -> None:
    if schemas:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(make_settings, engine_name, broker) -> Settings:
    """Settings on the session broker with this test's topics created, for each engine."""
    from events import kafka as kafka_clients

    built = make_settings(engine_name, bootstrap=broker)
    kafka_clients.ensure_topics(built)
    return built


@pytest.fixture
def contexts(settings):
    """Migrated ServiceContexts of every service, on this test's settings (on the broker)."""
    from infra.registry import PARTS

    made = {}
    for name in PARTS:
        migrate(name, settings.database_url(name))
        made[name] = ServiceContext.create(name, settings)
    yield made
    for ctx in made.values():
        ctx.engine.dispose()


@pytest.fixture
def desk(make_settings, engine_name):
    """The volunteers service alone on this test's database, with activities published into
    its projection by calling its handlers (see tests/volunteering.py): no broker, no topics."""
    from volunteering import Desk

    settings = make_settings(engine_name)
    migrate("volunteers", settings.database_url("volunteers"))
    made = Desk(settings)
    yield made
    made.app.extensions["shiliu"].engine.dispose()


@pytest.fixture
def ledger(make_settings, engine_name):
    """A migrated ledger database on each engine, with a consumer that needs no broker (see
    tests/ledger_support.py); ``settings`` are the test's."""
    from ledger_support import Ledger

    built = make_settings(engine_name)
    migrate("ledger", built.database_url("ledger"))
    made = Ledger(built.database_url("ledger"))
    made.settings = built
    yield made
    made.close()


@pytest.fixture(scope="module")
def year(city):
    """The demonstration city after a year of volunteering (see tests/awards_support.py)."""
    from awards_support import live_a_year

    return live_a_year(city)


@pytest.fixture(scope="module", params=ENGINES)
def city_engine(request) -> str:
    """The database engine of a module's city; a module may narrow it by redefining this."""
    return request.param


@pytest.fixture(scope="module")
def city_backbone() -> str:
    """How a module's city carries events between its parts: "in-process" (events/runner.py:
    each outbox handed straight to the consuming parts' handlers, for tests about domain rules),
    or "broker" (relays, topics and consumer groups on the session broker, for tests about the
    backbone). A module that needs the broker redefines this."""
    return "in-process"


@pytest.fixture(scope="module")
def city(broker, tmp_path_factory, city_engine, city_backbone):
    """The whole platform with the demonstration city and its sign-ins, shared by a module.

    Yields a helper with a werkzeug client on the one base URL and ways to sign in. Its parts
    are on the session broker (readiness asks it) but, unless ``city_backbone`` says "broker",
    events go from part to part in process (no topics, no consumer groups).
    """
    from tests_support import City, new_platform

    settings = replace(
        Settings.from_env({"SHILIU_DATA_DIR": str(tmp_path_factory.mktemp("city"))}),
        kafka_bootstrap=broker,
        embedded_broker=False,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        **GROUP_TIMEOUTS,
    )
    schemas: list[str] = []
    settings = replace(
        settings,
        database_urls=_database_urls(city_engine, tmp_path_factory.mktemp("db"), schemas),
    )
    running = new_platform(settings, city_backbone)
    gateway = running.start(seed=True, history=False)
    yield City(running, gateway)
    running.stop()
    _drop_schemas(schemas)
