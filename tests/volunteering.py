"""Helpers for the sign-up, check-in and attendance tests: the volunteers service on its own,
activities published into its projection, volunteers and their tokens."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from events import catalog
from events.envelope import utcnow
from events.store import outbox
from services.common.app import service_context
from services.common.auth import Grant, issue_token
from services.volunteers import handlers
from services.volunteers.app import create_app
from services.volunteers.models import ActivityView, Volunteer

FC = "/nb/bl/xq/fc/"
VENUE = ("29.906123", "121.844567")  # 富春社区文化家园


def activity_payload(
    starts_in: timedelta = timedelta(days=2),
    hours: float = 3,
    capacity: int = 30,
    **overrides,
) -> dict:
    """A valid activity.published payload, starting some time from now."""
    starts_at = utcnow().replace(microsecond=0) + starts_in
    activity_id = overrides.pop("activity_id", f"a-{uuid.uuid4().hex[:8]}")
    payload = {
        "activity_id": activity_id,
        "title": "三月邻里节",
        "category": "节庆联谊",
        "dimensions": ["文化", "社会"],
        "host_unit_id": "u-fc",
        "host_unit_path": FC,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(hours=hours),
        "signup_opens_at": None,
        "signup_closes_at": None,
        "walk_ins_allowed": False,
        "shifts": [
            {"shift_id": f"{activity_id}-s1", "name": "默认岗位", "capacity": capacity},
        ],
        "address": "新碶街道富春社区文化家园",
        "latitude": None,
        "longitude": None,
        "checkin_radius_m": None,
        "checkin_opens_at": None,
        "checkin_closes_at": None,
    }
    payload.update(overrides)
    return payload


class Desk:
    """The volunteers service with a client, as the people of a community use it."""

    def __init__(self, settings):
        self.settings = settings
        self.app = create_app(settings)
        self.factory = service_context(self.app).session_factory
        self._serial = 0

    def client(self):
        """A fresh test client (one per thread)."""
        return self.app.test_client()

    def token(self, account_id: str, organizer: bool = False, path: str = FC) -> dict:
        """Authorization headers of a volunteer, or of an organizer at a unit."""
        grants = [Grant("organizer", "u-fc", path)] if organizer else []
        token = issue_token(self.settings.secret_key, account_id, grants, name=account_id)
        return {"Authorization": f"Bearer {token}"}

    def volunteers(self, count: int, ethnicities: list[str | None] | None = None) -> list[str]:
        """Create volunteer profiles; return their ids."""
        ids = []
        with self.factory() as session, session.begin():
            for n in range(count):
                self._serial += 1
                volunteer_id = f"v{self._serial:04d}-{uuid.uuid4().hex[:6]}"
                now = utcnow()
                session.add(
                    Volunteer(
                        id=volunteer_id,
                        display_name=f"志愿者{self._serial}",
                        home_unit_id="u-fc",
                        home_unit_path=FC,
                        languages=[],
                        ethnicity=ethnicities[n] if ethnicities else None,
                        created_at=now,
                        updated_at=now,
                    )
                )
                ids.append(volunteer_id)
        return ids

    def publish(self, payload: dict, event_type: str = "activity.published") -> dict:
        """Apply an activity event the way the consumer does."""
        event = catalog.make_event(event_type, payload, producer="activities")
        loaded = catalog.get(event_type).load(event.payload)
        with self.factory() as session, session.begin():
            handlers.HANDLERS[event_type](session, event, loaded)
        return payload

    def call(self, method: str, path: str, who: str | None, organizer: bool = False, **kw):
        """Call the service as someone."""
        headers = self.token(who, organizer) if who else {}
        return self.client().open(path, method=method, headers=headers, **kw)

    def events(self, event_type: str) -> list[dict]:
        """The payloads of one event type in the outbox, in commit order."""
        import json

        with self.factory() as session:
            values = session.scalars(
                select(outbox.c.value)
                .where(outbox.c.event_type == event_type)
                .order_by(outbox.c.seq)
            ).all()
        return [json.loads(bytes(v))["payload"] for v in values]


def at(moment: datetime) -> str:
    """An RFC 3339 string of a moment."""
    return moment.isoformat()


def city_activity(city, starts_in: timedelta = timedelta(days=2), **overrides) -> dict:
    """An activity of 富春社区 applied straight to the city's volunteers projection."""
    from services.volunteers import operations

    fc = city.unit(FC)
    payload = activity_payload(
        starts_in=starts_in, host_unit_id=fc.unit_id, host_unit_path=fc.path, **overrides
    )
    factory = service_context(city.apps["volunteers"]).session_factory
    with factory() as session, session.begin():
        operations.apply_activity_state(session, payload)
    return payload


def city_operation(city, name: str, *args, **kwargs):
    """Run one volunteers operation on the city's database, in its own transaction."""
    from services.volunteers import operations

    factory = service_context(city.apps["volunteers"]).session_factory
    with factory() as session, session.begin():
        return getattr(operations, name)(session, *args, **kwargs)


def city_code(city, activity: dict) -> str:
    """The live check-in code of a city activity."""
    from services.volunteers import rules

    factory = service_context(city.apps["volunteers"]).session_factory
    with factory() as session:
        secret = session.get(ActivityView, activity["activity_id"]).checkin_secret
    return rules.current_code(secret, utcnow())[0]
