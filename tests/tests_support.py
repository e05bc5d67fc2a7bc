"""A test's view of the running demonstration city: clients, sign-ins, accounts."""

from __future__ import annotations

import re
import threading
import uuid
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from backbone import GROUP_TIMEOUTS, read_topic, send_events
from databases import migrate
from sqlalchemy import select
from waitress.server import create_server
from waitress.wasyncore import close_all
from werkzeug.test import Client

from events import kafka as kafka_clients
from events.envelope import decode
from events.runner import InProcessRunner
from events.settings import SERVICES, Settings
from events.store import outbox
from infra.broker import free_port
from infra.dev import Platform
from infra.registry import PARTS
from infra.seed import DEMO_PASSWORD
from infra.workers import Workers
from services.common.app import service_context


def csrf(html: str) -> str:
    """The CSRF token of a page's form."""
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def submit(client, page: str, action: str | None = None, query_string=None, **fields):
    """Fill a page's form and send it as a browser would: the page opened first (with the query
    string, which the form keeps) for its CSRF token, the form posted to ``action`` or back to the
    page."""
    html = client.get(page, query_string=query_string).get_data(as_text=True)
    data = {**fields, "csrf_token": csrf(html)}
    return client.post(action or page, query_string=query_string, data=data)


class City:
    """The platform with the demo city; sign in as its people and call the one base URL."""

    def __init__(self, platform, gateway):
        self.platform = platform
        self.client = Client(gateway)
        self.web = platform.web
        self.apps = platform.apps
        self._tokens: dict[str, str] = {}

    def unit(self, path: str):
        """The web projection of a demo unit, by path."""
        from web.models import UnitView

        with service_context(self.web).session_factory() as session:
            return session.scalar(select(UnitView).where(UnitView.path == path))

    def account(self, username: str):
        """A web account by username."""
        from web.models import Account

        with service_context(self.web).session_factory() as session:
            return session.scalar(select(Account).where(Account.username == username))

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        """A bearer token for an account (cached)."""
        if username not in self._tokens:
            answer = self.client.post(
                "/api/v1/auth/token",
                json={"username": username, "password": password},
                environ_base={"REMOTE_ADDR": "203.0.113.7"},
            )
            assert answer.status_code == 200, answer.get_data(as_text=True)
            self._tokens[username] = answer.get_json()["access_token"]
        return self._tokens[username]

    def as_(self, username: str | None) -> dict:
        """Authorization headers of an account (none for anonymous)."""
        return {"Authorization": f"Bearer {self.token(username)}"} if username else {}

    def deliver(self, events: list) -> None:
        """Publish events as a producer outside the platform would: to the broker, or handed
        straight to the consuming parts on an in-process city (then applied on return)."""
        runner = getattr(self.platform, "runner", None)
        if runner is None:
            send_events(self.platform.settings, events)
        else:
            runner.deliver(events)

    def published(self, logical_topic: str, expect: int) -> list:
        """The events published on a topic: read from the broker, or on an in-process city
        from the outboxes the runner hands on (each row once, in commit order)."""
        if getattr(self.platform, "runner", None) is None:
            records = read_topic(self.platform.settings, logical_topic, expect)
            return [decode(record.value) for record in records]
        events = []
        for app in [*self.apps.values(), self.web]:
            with service_context(app).session_factory() as session:
                values = session.scalars(
                    select(outbox.c.value)
                    .where(outbox.c.topic == logical_topic)
                    .order_by(outbox.c.seq)
                ).all()
            events.extend(decode(bytes(value)) for value in values)
        return events

    def call(self, method: str, path: str, username: str | None = None, **kwargs):
        """Call the one base URL as an account."""
        headers = {**self.as_(username), **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def page_client(self, username: str | None):
        """A Flask test client of web signed in (by session) as an account."""
        client = self.web.test_client()
        if username:
            account = self.account(username)
            with client.session_transaction() as session:
                session["_user_id"] = account.id
                session["_fresh"] = True
        return client

    def register(
        self, phone: str, name: str = "测试居民", community: str = "/nb/bl/xq/fc/", **extra
    ):
        """Register a volunteer through the API; return the response."""
        body = {
            "phone": phone,
            "password": "pomegranate8",
            "name": name,
            "home_unit_id": self.unit(community).unit_id,
            **extra,
        }
        return self.client.post("/api/v1/accounts", json=body)

    def add_staff(
        self, username: str, name: str, password: str, role: str, unit: str, by: str = "admin"
    ):
        """Create a staff account holding ``role`` at the unit of path ``unit`` through the API,
        as the administrator ``by``; return the response (the callers' cases refuse some)."""
        body = {
            "username": username,
            "name": name,
            "password": password,
            "role": role,
            "unit_id": self.unit(unit).unit_id,
        }
        return self.call("POST", "/api/v1/staff", by, json=body)

    def grant(self, account_id: str, role: str, unit: str, by: str = "admin"):
        """Grant an account ``role`` at the unit of path ``unit`` through the API, as ``by``;
        return the response (refused where ``by`` holds no administrator role over the unit)."""
        body = {"role": role, "unit_id": self.unit(unit).unit_id}
        return self.call("POST", f"/api/v1/accounts/{account_id}/roles", by, json=body)


class InProcessPlatform(Platform):
    """The platform with the in-process runner (events/runner.py) in place of its relays and
    consumers: every part's outbox handed straight to the consuming parts' handlers on one
    thread. For tests about domain rules; the backbone's promises are tested on the broker."""

    runner: InProcessRunner | None = None

    def _start_workers(self) -> None:
        contexts = self._contexts()
        self.runner = InProcessRunner(
            {name: ctx.session_factory for name, ctx in contexts.items()},
            {name: PARTS[name].handlers() for name in contexts},
            self.settings,
        )
        self.workers = Workers()
        self.workers.consumers.extend(self.runner.consumers.values())
        thread = threading.Thread(
            target=self.runner.run, args=(self.workers.stop,), name="in-process", daemon=True
        )
        thread.start()
        self.workers.threads.append(thread)


class _Served:
    """A waitress server on a background thread, stopped from the test thread."""

    def __init__(self, app, port: int):
        self.server = create_server(app, host="127.0.0.1", port=port, threads=6)
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)

    def start(self) -> _Served:
        self.thread.start()
        return self

    def stop(self) -> None:
        # Close every socket from inside the server's own loop, which then has nothing left
        # to wait on and returns; then stop the worker threads.
        self.server.trigger.pull_trigger(lambda: close_all(self.server._map, ignore_all=True))
        self.thread.join(timeout=10)
        self.server.task_dispatcher.shutdown()


def new_platform(settings: Settings, backbone: str) -> Platform:
    """A platform on fresh databases (migrated from the session's templates) whose parts talk
    through the broker (``backbone="broker"``, its topics created) or in process."""
    for name, url in settings.database_urls.items():
        migrate(name, url)
    if backbone == "broker":
        kafka_clients.ensure_topics(settings)
        return Platform(settings)
    return InProcessPlatform(settings)


@contextmanager
def serve_platform(broker: str, folder: Path, tag: str, backbone: str = "broker"):
    """Start the whole platform on SQLite and the session broker (topics prefixed with ``tag``)
    and serve it with waitress at a free port; yield (base URL, platform, gateway). With
    ``backbone="in-process"`` its parts talk in process (no topics, no consumer groups)."""
    base = Settings.from_env(
        {"SHILIU_DATA_DIR": str(folder / "data"), "SHILIU_KAFKA_BOOTSTRAP": broker}
    )
    settings = replace(
        base,
        **GROUP_TIMEOUTS,
        topic_prefix=f"{tag}{uuid.uuid4().hex[:10]}.",
        database_urls={name: f"sqlite:///{folder / f'{name}.db'}" for name in SERVICES},
    )
    platform = new_platform(settings, backbone)
    try:
        gateway = platform.start(seed=True, history=False)
        port = free_port()
        served = _Served(gateway, port).start()
        try:
            yield f"http://127.0.0.1:{port}", platform, gateway
        finally:
            served.stop()
    finally:
        platform.stop()
