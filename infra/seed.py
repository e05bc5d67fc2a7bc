"""The demonstration city: districts, streets, communities, a 石榴红 team, people, activities.

What the city holds is data, in ``demo_city.json`` next to this file: the unit tree (``city``), the
upcoming activities (``upcoming``, days from today), the sign-ins (``accounts``, one password),
the neighbours, the recent past (``history``, days ago, with who came for how many hours) and
one adjustment waiting for approval. This module plants it through the services' operations.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from events.envelope import utcnow
from services.activities import operations
from services.activities.models import Unit

DATA_FILE = Path(__file__).with_name("demo_city.json")
_DATA = json.loads(DATA_FILE.read_text(encoding="utf-8"))


def _unit(node: dict) -> tuple:
    return (node["slug"], node["name"], node["kind"], [_unit(c) for c in node.get("children", [])])


def _activity(spec: dict, days: str) -> tuple:
    shifts = [(s["name"], s["capacity"], s.get("hour_weight")) for s in spec["shifts"]]
    fields = ("title", "category", "dimensions", "host", days, "start_hour_utc", "hours", "address")
    return (*(spec[k] for k in fields), shifts)


# The data of demo_city.json as the functions below and the tests take it:
# (slug, name, kind, children)
DEMO_CITY = _unit(_DATA["city"])
# (title, category, dimensions, host path, days ahead, start hour (UTC), hours, address, shifts),
# each shift (name, capacity, hour weight or None)
DEMO_ACTIVITIES = tuple(_activity(a, "in_days") for a in _DATA["upcoming"])
DEMO_PASSWORD = _DATA["password"]
# (username or phone, name, role or None for a volunteer, unit path)
DEMO_ACCOUNTS = tuple((a["login"], a["name"], a["role"], a["unit"]) for a in _DATA["accounts"])
# Neighbours who have volunteered these past weeks (phone, name, home community, ethnicity they
# consented to give for statistics); they sign in with DEMO_PASSWORD like the accounts above.
DEMO_NEIGHBOURS = tuple(
    (n["phone"], n["name"], n["home"], n["ethnicity"]) for n in _DATA["neighbours"]
)
# Past activities and who came: like DEMO_ACTIVITIES with days ago, and the attendance, each
# (login, shift number, hours confirmed, or None for a no-show).
DEMO_HISTORY = tuple(
    (*_activity(a, "days_ago"), [(c["login"], c["shift"], c["hours"]) for c in a["attendance"]])
    for a in _DATA["history"]
)
HISTORY_REASON = _DATA["history_reason"]
# Older activities are closed (attendance final); newer stay completed.
HISTORY_OPEN_DAYS = _DATA["history_open_days"]
# A manual adjustment the city's administrator asked for, awaiting a second administrator.
DEMO_ADJUSTMENT = tuple(_DATA["adjustment"][k] for k in ("login", "points", "reason"))


def seed_demo(session_factory: sessionmaker, progress=None) -> int:
    """Create the demonstration unit tree once; return the number of units created."""
    with session_factory() as session, session.begin():
        if session.scalar(select(Unit.id).where(Unit.path == "/nb/")):
            return 0
        created = 0

        def plant(node, parent_id):
            nonlocal created
            slug, name, kind, children = node
            unit = operations.create_unit(
                session, name=name, kind=kind, parent_id=parent_id, slug=slug
            )
            created += 1
            if progress:
                progress(1)
            for child in children:
                plant(child, unit.id)

        plant(DEMO_CITY, None)
        seed_demo_activities(session)
    return created


def seed_demo_activities(session) -> None:
    """Publish a few upcoming activities so the demonstration has something to sign up for."""
    for title, category, dimensions, path, days, hour, hours, address, shifts in DEMO_ACTIVITIES:
        _publish_activity(
            session,
            (title, category, dimensions, path, address, shifts),
            _day_at(days, hour),
            hours,
            walk_ins_allowed=True,
        )


def _day_at(days: int, hour: int) -> datetime:
    """That many days from today (before it when negative), at that hour (UTC)."""
    today = utcnow().replace(minute=0, second=0, microsecond=0)
    return (today + timedelta(days=days)).replace(hour=hour)


def _publish_activity(session, spec, starts: datetime, hours: int, **extra):
    """Create and publish a demonstration activity: spec is (title, category, dimensions, host
    path, address, shifts), each shift (name, capacity, hour weight or None)."""
    title, category, dimensions, path, address, shifts = spec
    activity = operations.create_activity(
        session,
        "seed",
        {
            "title": title,
            "category": category,
            "dimensions": dimensions,
            "host_unit_id": session.scalar(select(Unit.id).where(Unit.path == path)),
            "address": address,
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=hours),
            "shifts": [
                {"name": n, "capacity": c, "hour_weight": w and Decimal(w)} for n, c, w in shifts
            ],
            **extra,
        },
    )
    return operations.publish_activity(session, activity)


def demo_sign_ins() -> list[str]:
    """The demonstration sign-ins, for the `make run` banner."""
    return [f"{name}: {login} / {DEMO_PASSWORD}" for login, name, _role, _path in DEMO_ACCOUNTS]


def seed_demo_accounts(web_app) -> int:
    """Create the demonstration accounts once (web and its service apps must be running);
    return how many were created."""
    return _create_people(
        web_app,
        [
            (a["login"], a["name"], a["role"], a["unit"], {"languages": a.get("languages", [])})
            for a in _DATA["accounts"]
        ],
    )


def _create_people(web_app, people) -> int:
    """Create the accounts of ``people`` that do not exist yet, each (login, name, role or None
    for a volunteer, unit path, profile of a volunteer); return how many were created."""
    from services.common.app import service_context
    from web import operations
    from web.models import Account, UnitView

    factory = service_context(web_app).session_factory
    created = 0
    with web_app.test_request_context("/"):
        for login, name, role, path, profile in people:
            with factory() as session, session.begin():
                if session.scalar(select(Account.id).where(Account.username == login)):
                    continue
                place = session.scalar(select(UnitView).where(UnitView.path == path))
                if role is None:
                    operations.register_volunteer(
                        session,
                        {
                            "phone": login,
                            "password": DEMO_PASSWORD,
                            "name": name,
                            "home_unit_id": place.unit_id,
                            "ethnicity_consent": "ethnicity" in profile,
                            **profile,
                        },
                    )
                else:
                    operations.create_staff_unchecked(
                        session, login, name, DEMO_PASSWORD, role, place.unit_id
                    )
                created += 1
    return created


def seed_demo_history(apps: dict, web_app, wait) -> int:
    """Register DEMO_NEIGHBOURS and hold the past activities of DEMO_HISTORY through the
    services as if it happened then: published, signed up for before the start, attendance
    confirmed by the organizer after the end, completed (and closed when older than
    HISTORY_OPEN_DAYS). The ledger earns its points from the events like any others;
    DEMO_ADJUSTMENT then waits there for approval. ``apps`` are the service apps by name;
    ``wait(check, what)`` waits until ``check()`` is true (a service has learnt something from
    the broker). A step already done is skipped, so a second start changes nothing; return the
    activities created."""
    from services.activities.models import Activity
    from services.common.app import service_context
    from services.common.auth import Grant, Principal
    from services.ledger import operations as ledger
    from services.ledger.models import VolunteerView
    from services.volunteers import operations as volunteering
    from services.volunteers.models import ActivityView
    from web.models import Account, UnitView

    def factory(app):
        return service_context(app).session_factory

    _create_people(
        web_app,
        [
            (n["phone"], n["name"], None, n["home"], {k: n[k] for k in ("languages", "ethnicity")})
            for n in _DATA["neighbours"]
        ],
    )
    with factory(web_app)() as session:
        ids = dict(session.execute(select(Account.username, Account.id)).all())
    volunteers = factory(apps["volunteers"])
    created = 0
    for title, category, dimensions, path, days, hour, hours, address, shifts, came in DEMO_HISTORY:
        starts = _day_at(-days, hour)
        ends = starts + timedelta(hours=hours)
        with factory(apps["activities"])() as session, session.begin():
            activity = session.scalar(select(Activity).where(Activity.title == title))
            if activity is None:
                activity = _publish_activity(
                    session,
                    (title, category, dimensions, path, address, shifts),
                    starts,
                    hours,
                    signup_opens_at=starts - timedelta(days=10),
                )
                created += 1
            activity_id, status = activity.id, activity.status
        if status != "published":
            continue

        def learnt(activity_id=activity_id):
            with volunteers() as session:
                return session.get(ActivityView, activity_id) is not None

        wait(learnt, f"the activity “{title}”")
        with volunteers() as session:
            shift_ids = [s.shift_id for s in volunteering.shifts_of(session, activity_id)]
        for login, shift, _hours in came:
            with volunteers() as session, session.begin():
                if volunteering.live_signup(session, activity_id, ids[login]) is None:
                    volunteering.sign_up(
                        session,
                        activity_id,
                        ids[login],
                        shift_ids[shift],
                        now=starts - timedelta(days=3),
                    )
        with volunteers() as session, session.begin():
            volunteering.confirm_attendance(
                session,
                activity_id,
                by=ids["organizer"],
                entries=[
                    {"volunteer_id": ids[login], "hours": Decimal(h), "reason": HISTORY_REASON}
                    for login, _shift, h in came
                    if h is not None
                ],
                no_shows=[ids[login] for login, _shift, h in came if h is None],
                now=ends + timedelta(hours=2),
            )
        with factory(apps["activities"])() as session, session.begin():
            activity = operations.complete_activity(
                session, operations.get_activity(session, activity_id)
            )
            if days > HISTORY_OPEN_DAYS:
                operations.close_activity(session, activity)

    login, points, reason = DEMO_ADJUSTMENT
    with factory(web_app)() as session:
        city = session.scalar(select(UnitView).where(UnitView.path == "/nb/"))
    admin = Principal(ids["admin"], grants=(Grant("admin", city.unit_id, city.path),))
    books = factory(apps["ledger"])

    def known(volunteer_id=ids[login]):
        with books() as session:
            return session.get(VolunteerView, volunteer_id) is not None

    wait(known, "the volunteer in the ledger")
    with books() as session, session.begin():
        body = {"volunteer_id": ids[login], "points": points, "reason": reason}
        ledger.request_adjustment(session, admin, body, idempotency_key="demo-adjustment")
    return created
