"""Helpers for the ledger tests: attendance events as services/volunteers will publish them,
a fresh migrated ledger database, and the points the rule gives, computed independently."""

from __future__ import annotations

import random
import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import func, select

from events import catalog
from events.consumer import ConsumerRunner
from events.envelope import Event
from events.settings import Settings
from services.common.db import make_engine, make_session_factory, upgrade
from services.ledger import operations
from services.ledger.handlers import HANDLERS
from services.ledger.models import Adjustment, LedgerEntry

T0 = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)


def confirmed(
    attendance_id: str,
    volunteer_id: str,
    hours: str,
    *,
    activity_id: str = "a-1",
    day: date = date(2026, 3, 8),
    at: datetime = T0,
    weight: str | None = None,
    cross_group: bool = False,
    corrected_from: str | None = None,
) -> Event:
    """An ``attendance.confirmed`` event (or ``attendance.corrected`` with ``corrected_from``)."""
    payload = {
        "attendance_id": attendance_id,
        "volunteer_id": volunteer_id,
        "activity_id": activity_id,
        "shift_id": "s-1",
        "hours": Decimal(hours),
        "activity_date": day,
        "confirmed_by": "acc-organizer",
        "confirmed_at": at,
        "shift_weight": Decimal(weight) if weight else None,
        "cross_group": cross_group,
    }
    name = "attendance.confirmed"
    if corrected_from is not None:
        name = "attendance.corrected"
        payload.update(previous_hours=Decimal(corrected_from), reason="更正时长")
    return catalog.make_event(name, payload, producer="volunteers")


def no_show(signup_id: str, volunteer_id: str, activity_id: str, day: date) -> Event:
    """An ``attendance.no_show`` event."""
    return catalog.make_event(
        "attendance.no_show",
        {
            "volunteer_id": volunteer_id,
            "activity_id": activity_id,
            "signup_id": signup_id,
            "activity_date": day,
            "recorded_by": "acc-organizer",
        },
        producer="volunteers",
    )


def records(events: list[Event], topic: str = "shiliu.attendance") -> list:
    """Events as the consumer receives them from the broker (value bytes, position)."""
    return [
        SimpleNamespace(
            topic=topic, partition=0, offset=n, key=e.key.encode(), value=e.encode(), headers=[]
        )
        for n, e in enumerate(events)
    ]


_TEMPLATE: dict[str, Path] = {}


def fresh_ledger_url(folder: Path, name: str = "ledger") -> str:
    """A migrated SQLite ledger database (copied from one migrated template, which is fast)."""
    if "db" not in _TEMPLATE or not _TEMPLATE["db"].exists():
        template = folder.parent / f"ledger-template-{id(_TEMPLATE)}.db"
        upgrade("ledger", f"sqlite:///{template}")
        _TEMPLATE["db"] = template
    target = folder / f"{name}.db"
    shutil.copyfile(_TEMPLATE["db"], target)
    return f"sqlite:///{target}"


@dataclass
class Ledger:
    """A ledger database with a consumer runner that applies records without a broker."""

    url: str

    def __post_init__(self):
        self.engine = make_engine(self.url)
        self.factory = make_session_factory(self.engine)
        self.runner = ConsumerRunner("ledger", HANDLERS, self.factory, Settings.from_env({}))

    def apply(self, events: list[Event], batch: int = 50) -> None:
        """Apply events in batches, as polls would."""
        recs = records(events)
        for start in range(0, len(recs), batch):
            self.runner.apply_records(recs[start : start + batch])

    def post_approved_adjustment(
        self, adjustment_id: str, volunteer_id: str, points: int, day: date
    ) -> None:
        """A manual adjustment asked for by one administrator and approved by another, posted
        as services/ledger posts one on approval."""
        with self.factory() as session, session.begin():
            adjustment = Adjustment(
                id=adjustment_id,
                volunteer_id=volunteer_id,
                points=points,
                reason="补记",
                entry_date=day,
                status="approved",
                requested_by="acc-1",
                requested_at=later(0),
                approved_by="acc-2",
                approved_at=later(1),
            )
            session.add(adjustment)
            session.flush()
            operations.post_adjustment(session, adjustment)

    def _per_volunteer(self, column) -> dict[str, int]:
        with self.factory() as session:
            rows = session.execute(
                select(LedgerEntry.volunteer_id, func.sum(column)).group_by(
                    LedgerEntry.volunteer_id
                )
            ).all()
        return {volunteer: int(total) for volunteer, total in rows}

    def balances(self) -> dict[str, int]:
        """Points per volunteer."""
        return self._per_volunteer(LedgerEntry.points)

    def hours(self) -> dict[str, int]:
        """Confirmed half-hours per volunteer."""
        return self._per_volunteer(LedgerEntry.hours_halves)

    def close(self) -> None:
        """Dispose of the engine."""
        self.engine.dispose()


# ---- the rule, computed independently of services/ledger (the oracle of the property test) ----


def rule_points(hours: Decimal, weight: Decimal | None, cross_group: bool) -> int:
    """DESIGN §7 default rule with exact fractions: 5 + 10/h × weight, +20%, half up."""
    from fractions import Fraction

    counted = min(Fraction(hours), Fraction(8))
    hour_points = counted * 10 * Fraction(weight if weight is not None else 1)
    hour_points = int(hour_points + Fraction(1, 2))  # half up (non-negative)
    subtotal = 5 + hour_points
    if cross_group:
        subtotal += int(Fraction(subtotal * 20, 100) + Fraction(1, 2))
    return subtotal


def expected_balances(events: list[Event]) -> dict[str, int]:
    """What the rule gives for the final word on each attendance: the latest confirmation
    (a correction wins a tie), at most 100 per volunteer and day, −5 per no-show where the
    volunteer's attendance at that activity was never confirmed."""
    final: dict[str, tuple] = {}
    for event in events:
        if event.type not in ("attendance.confirmed", "attendance.corrected"):
            continue
        p = event.payload
        key = (p["confirmed_at"], event.type == "attendance.corrected", event.id)
        if p["attendance_id"] not in final or key > final[p["attendance_id"]][0]:
            final[p["attendance_id"]] = (key, p)
    per_day: dict[tuple, int] = defaultdict(int)
    attended = set()
    for _key, p in final.values():
        weight = Decimal(p["shift_weight"]) if p["shift_weight"] is not None else None
        points = rule_points(Decimal(p["hours"]), weight, p["cross_group"])
        per_day[(p["volunteer_id"], p["activity_date"])] += points
        attended.add((p["volunteer_id"], p["activity_id"]))
    balances: dict[str, int] = defaultdict(int)
    for (volunteer, _day), points in per_day.items():
        balances[volunteer] += min(100, points)
    seen_signups = set()
    for event in events:
        p = event.payload
        if event.type == "attendance.no_show" and p["signup_id"] not in seen_signups:
            seen_signups.add(p["signup_id"])
            balances[p["volunteer_id"]] += 0
            if (p["volunteer_id"], p["activity_id"]) not in attended:
                balances[p["volunteer_id"]] -= 5
    return dict(balances)


def later(minutes: int) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def stream(count: int, volunteers: int = 300, seed: int = 7) -> list[Event]:
    """A deterministic stream of attendance events: confirmations (some capped), corrections,
    no-shows, and events a producer sent twice."""
    rng = random.Random(seed)
    events: list[Event] = []
    confirmations: list[Event] = []
    while len(events) < count:
        roll = rng.random()
        volunteer = f"v-{rng.randrange(volunteers)}"
        day = date(2026, 3, 1) + timedelta(days=rng.randrange(20))
        if roll < 0.70 or not confirmations:
            event = confirmed(
                f"at-{len(confirmations)}",
                volunteer,
                str(rng.randrange(0, 17) / 2),
                activity_id=f"a-{rng.randrange(40)}",
                day=day,
                at=later(rng.randrange(60)),
                weight=rng.choice([None, None, "1.50"]),
                cross_group=rng.random() < 0.3,
            )
            confirmations.append(event)
        elif roll < 0.85:
            base = rng.choice(confirmations).payload
            event = confirmed(
                base["attendance_id"],
                base["volunteer_id"],
                str(rng.randrange(0, 17) / 2),
                activity_id=base["activity_id"],
                day=date.fromisoformat(base["activity_date"]),
                at=later(60 + rng.randrange(60)),
                corrected_from=base["hours"],
            )
        elif roll < 0.95:
            event = no_show(f"su-{len(events)}", volunteer, f"a-{rng.randrange(40)}", day)
        else:
            event = rng.choice(events)  # the producer sent it twice
        events.append(event)
    return events


# ---- where volunteers belong, and standings summed from the rows (the oracle of the totals) ----


def unit(unit_id: str, path: str, kind: str = "community") -> Event:
    """A ``unit.created`` event."""
    payload = {"unit_id": unit_id, "name": unit_id, "kind": kind, "parent_id": None, "path": path}
    return catalog.make_event("unit.created", payload, producer="activities")


def volunteer(volunteer_id: str, home_unit_id: str, team_id: str | None = None, moved=False):
    """A ``volunteer.registered`` event (``volunteer.updated`` when ``moved``)."""
    payload = {
        "volunteer_id": volunteer_id,
        "display_name": f"志愿者{volunteer_id}",
        "home_unit_id": home_unit_id,
        "team_id": team_id,
    }
    if moved:
        payload["changes"] = ["home_unit_id", "team_id"]
    name = "volunteer.updated" if moved else "volunteer.registered"
    return catalog.make_event(name, payload, producer="volunteers")


def standings_from_rows(session, *, path, team_id, start, end, page, per_page):
    """Standings as the rows themselves say, summed here in Python: every volunteer the ledger
    knows, in the unit subtree and/or team, with rows dated in the range; ties share a rank."""
    from services.ledger.models import UnitView, VolunteerView

    sums: dict[str, int] = defaultdict(int)
    for volunteer_id, day, points in session.execute(
        select(LedgerEntry.volunteer_id, LedgerEntry.entry_date, LedgerEntry.points)
    ):
        if start <= day <= end:
            sums[volunteer_id] += points
    known = {v.volunteer_id: v for v in session.scalars(select(VolunteerView))}
    paths = {u.unit_id: u.path for u in session.scalars(select(UnitView))}
    ranked = [
        v
        for v in sums
        if v in known
        and (path is None or paths.get(known[v].home_unit_id, "").startswith(path))
        and (team_id is None or known[v].team_id == team_id)
    ]
    ranked.sort(key=lambda v: (-sums[v], v))
    items = [
        {
            "volunteer_id": v,
            "name": known[v].display_name,
            "points": sums[v],
            "rank": 1 + sum(1 for other in ranked if sums[other] > sums[v]),
        }
        for v in ranked[(page - 1) * per_page : page * per_page]
    ]
    return items, len(ranked)


def second_administrator(city) -> None:
    """Create 北仑区管理员 (``admin-bl``), who decides what the city's administrator asks for."""
    created = city.add_staff("admin-bl", "北仑区管理员", "beilun2026", "admin", "/nb/bl/")
    assert created.status_code == 201, created.get_data(as_text=True)
    city.token("admin-bl", "beilun2026")
