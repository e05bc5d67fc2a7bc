"""A test's view of the running demonstration city: clients, sign-ins, accounts."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.test import Client

from infra.seed import DEMO_PASSWORD
from services.common.app import service_context


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
