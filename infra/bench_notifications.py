"""Notifications benchmarks (reports, never pass/fail): the fan-out of one city-wide day's
reminders beside a bare bulk insert of the same rows in the same run, and the lag from an
attendance confirmation to its inbox message under a steady load."""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy import create_engine, func, insert, select, text
from tqdm import tqdm

from events import kafka as kafka_clients
from events.envelope import Event, utcnow
from events.settings import city_zone
from events.store import outbox
from infra.bench import bench_run
from services.common.app import BrokerProbe, ServiceContext
from services.common.db import make_engine, make_session_factory, upgrade
from services.common.states import ActivityStatus
from services.notifications import reminders
from services.notifications.kinds import KINDS
from services.notifications.models import (
    ActivityView,
    Notification,
    Reminder,
    SignupView,
)
from services.notifications.telling import new_id

PER_ACTIVITY = 50  # sign-ups of each activity of the day
KIND = "reminder_day_before"


@contextlib.contextmanager
def fresh_databases(workdir: Path, database_url: str | None, *names: str):
    """A fresh, empty database URL for each name: SQLite files in ``workdir``, or (with a
    PostgreSQL ``database_url``) a schema of its own in that database, dropped after."""
    if not database_url or database_url.startswith("sqlite"):
        yield {name: f"sqlite:///{workdir / f'{name}.db'}" for name in names}
        return
    tag = uuid.uuid4().hex[:8]
    schemas = {name: f"bench_{tag}_{name}" for name in names}
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for schema in schemas.values():
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in database_url else "?"
    try:
        yield {
            name: f"{database_url}{sep}options=-csearch_path%3D{schema}"
            for name, schema in schemas.items()
        }
    finally:
        with admin.connect() as conn:
            for schema in schemas.values():
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _day(count: int) -> tuple[date, datetime]:
    """The city-wide day (a week ahead) and the moment its day-before reminders are all due."""
    day = (datetime.now(city_zone()) + timedelta(days=7)).date()
    due = reminders.due_times(datetime.combine(day, datetime.min.time(), city_zone()))[KIND]
    return day, due + timedelta(minutes=1)


def _plant(factory, count: int, day: date) -> None:
    """``count`` pending reminders of one day: activities of ``PER_ACTIVITY`` held places each,
    starting between 08:00 and 17:30 city time, their sign-ups and reminders."""
    now = utcnow()
    activities = max(1, -(-count // PER_ACTIVITY))
    activity_rows, signup_rows, reminder_rows = [], [], []
    for a in range(activities):
        starts = datetime.combine(day, datetime.min.time(), city_zone()) + timedelta(
            hours=8, minutes=30 * (a % 20)
        )
        activity_rows.append(
            {
                "activity_id": f"a-{a}",
                "title": f"社区活动{a}",
                "starts_at": starts.astimezone(UTC),
                "ends_at": (starts + timedelta(hours=3)).astimezone(UTC),
                "address": f"幸福路{a}号",
                "organizer_id": f"o-{a % 20}",
                "shifts": [{"shift_id": "s-1", "name": "全天", "capacity": PER_ACTIVITY}],
                "status": ActivityStatus.PUBLISHED,
                "updated_at": now,
            }
        )
    for n in range(count):
        activity_id, signup_id = f"a-{n // PER_ACTIVITY}", f"su-{n}"
        signup_rows.append(
            {
                "signup_id": signup_id,
                "volunteer_id": f"v-{n}",
                "activity_id": activity_id,
                "shift_id": "s-1",
                "party_size": 1,
                "status": "confirmed",
                "updated_at": now,
            }
        )
        starts = activity_rows[n // PER_ACTIVITY]["starts_at"]
        reminder_rows.append(
            {
                "id": f"{signup_id}/{KIND}",
                "signup_id": signup_id,
                "volunteer_id": f"v-{n}",
                "activity_id": activity_id,
                "kind": KIND,
                "due_at": reminders.due_times(starts)[KIND],
                "state": "pending",
                "sent_at": None,
            }
        )
    with factory() as session, session.begin():
        session.execute(insert(ActivityView), activity_rows)
        session.execute(insert(SignupView), signup_rows)
        session.execute(insert(Reminder), reminder_rows)


def _bare_rows(count: int, now: datetime) -> list[dict]:
    """The rows the fan-out puts in the inbox, as plain dicts (the baseline inserts these)."""
    return [
        {
            "id": new_id(),  # as telling writes them
            "recipient_id": f"v-{n}",
            "kind": KIND,
            "values": {},
            "link": f"/activities/a-{n // PER_ACTIVITY}",
            "urgent": KINDS[KIND].urgent,
            "dedupe_key": f"su-{n}/{KIND}@{now.isoformat()}",
            "activity_id": f"a-{n // PER_ACTIVITY}",
            "signup_id": f"su-{n}",
            "created_at": now,
        }
        for n in range(count)
    ]


def _bare_insert(url: str, count: int, now: datetime) -> float:
    """Seconds a bare bulk insert of ``count`` inbox rows takes (one transaction)."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rows = _bare_rows(count, now)
    started = time.perf_counter()
    with factory() as session, session.begin():
        session.execute(insert(Notification.__table__), rows)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def _fanout(url: str, count: int, day: date, now: datetime) -> float:
    """Seconds ``reminders.send_due`` takes to send ``count`` planted reminders (called until it
    sends none); every reminder must have its one message."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    _plant(factory, count, day)
    sent = 0
    with tqdm(total=count, desc="send_due", unit="reminder", leave=False) as bar:
        started = time.perf_counter()
        while got := reminders.send_due(factory, now=now):
            sent += got
            bar.update(got)
        seconds = time.perf_counter() - started
    with factory() as session:
        told = session.scalar(select(func.count()).select_from(Notification))
    engine.dispose()
    if sent != count or told != count:
        raise click.ClickException(f"{sent} reminders sent, {told} messages of {count}")
    return seconds


def run_fanout_bench(count: int, database_url: str | None = None, rounds: int = 3) -> dict:
    """``reminders.send_due`` sending ``count`` due reminders beside a bare bulk insert of as
    many inbox rows, each on a fresh notifications database of the same engine; ``rounds``
    times, the two taking turns, and the median of each reported (one run of either lasts well
    under a second, and swings by a third on a busy two-core machine)."""
    workdir = Path(tempfile.mkdtemp(prefix="shiliu-notify-bench-"))
    names = [f"{part}{n}" for n in range(rounds) for part in ("bare", "fanout")]
    bare, fanout = [], []
    try:
        with fresh_databases(workdir, database_url, *names) as urls:
            day, now = _day(count)
            for n in range(rounds):
                for url in (urls[f"bare{n}"], urls[f"fanout{n}"]):
                    upgrade("notifications", url)
                bare.append(_bare_insert(urls[f"bare{n}"], count, now))
                fanout.append(_fanout(urls[f"fanout{n}"], count, day, now))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "reminders": count,
        "database": (database_url or "sqlite").split(":", 1)[0],
        "rounds": rounds,
        "bare_insert_per_s": round(count / statistics.median(bare)),
        "fanout_per_s": round(count / statistics.median(fanout)),
        "bare_runs_per_s": [round(count / s) for s in bare],
        "fanout_runs_per_s": [round(count / s) for s in fanout],
    }
    report["ratio"] = round(report["fanout_per_s"] / report["bare_insert_per_s"], 3)
    runs = ", ".join(f"{r:,}" for r in report["fanout_runs_per_s"])
    click.echo(
        "\n".join(
            [
                f"reminder fan-out: {count:,} reminders of one day, {report['database']},"
                f" median of {rounds} rounds",
                f"  bare bulk insert (one txn) {report['bare_insert_per_s']:>9,} rows/s  (baseline;"
                f" rounds {', '.join(f'{r:,}' for r in report['bare_runs_per_s'])})",
                f"  reminders.send_due         {report['fanout_per_s']:>9,} reminders/s"
                f"  = {report['ratio']:.2f} × baseline (aim ≥ 0.30; rounds {runs})",
            ]
        )
    )
    click.echo(json.dumps(report))
    return report


def _attendance(n: int, day: date, activities: int) -> Event:
    """The ``n``-th attendance confirmation of the load: a volunteer of their own (so their
    hours message is theirs alone), at one of the day's activities."""
    payload = {
        "attendance_id": f"at-{n}",
        "volunteer_id": f"v-{n}",
        "activity_id": f"a-{n % activities}",
        "shift_id": "s-1",
        "hours": f"{1 + n % 8}.0",
        "activity_date": day.isoformat(),
        "confirmed_by": "bench",
        "confirmed_at": utcnow().isoformat(),
        "shift_weight": None,
        "cross_group": False,
    }
    return Event(
        type="attendance.confirmed", version=1, key=f"v-{n}", payload=payload, producer="bench"
    )


def _known_activities(factory, count: int, day: date) -> None:
    """The day's activities as services/notifications knows them (from ``activity.published``)."""
    now = utcnow()
    starts = datetime.combine(day, datetime.min.time(), city_zone()) + timedelta(hours=8)
    with factory() as session, session.begin():
        session.execute(
            insert(ActivityView),
            [
                {
                    "activity_id": f"a-{a}",
                    "title": f"社区活动{a}",
                    "starts_at": starts,
                    "ends_at": starts + timedelta(hours=3),
                    "address": f"幸福路{a}号",
                    "organizer_id": "o-1",
                    "shifts": [{"shift_id": "s-1", "name": "全天", "capacity": 500}],
                    "status": ActivityStatus.PUBLISHED,
                    "updated_at": now,
                }
                for a in range(count)
            ],
        )


def _told(factory) -> dict[str, datetime]:
    """When each volunteer's hours message was put in the inbox."""
    with factory() as session:
        return dict(
            session.execute(
                select(Notification.recipient_id, Notification.created_at).where(
                    Notification.kind == "hours_confirmed"
                )
            ).all()
        )


def _relayed(factory) -> dict[str, tuple[datetime, datetime | None]]:
    """When the ledger's outbox took each volunteer's ``points.awarded``, and when the relay
    had it acknowledged."""
    with factory() as session:
        rows = session.execute(
            select(outbox.c.key, outbox.c.created_at, outbox.c.sent_at).where(
                outbox.c.event_type == "points.awarded"
            )
        ).all()
    return {key: (_aware(created), _aware(sent)) for key, created, sent in rows}


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives the outbox's times back without their zone: they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _ms(since: datetime, until: datetime) -> float:
    return (until - since).total_seconds() * 1000


def _wait_for(factory, count: int, seconds: float) -> dict[str, datetime]:
    deadline = time.monotonic() + seconds
    while len(told := _told(factory)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return told


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run_lag_bench(rate: int, seconds: float, database_url: str | None = None) -> dict:
    """``attendance.confirmed`` published at ``rate`` per second for ``seconds``, through the
    ledger (consumer, then relay) to the notifications consumer: the lag from each publication
    to its "hours confirmed" message's ``created_at``."""
    from infra.registry import PARTS
    from infra.workers import Workers

    with bench_run("notify-bench", "nbench") as (workdir, settings, _broker):
        count = max(1, round(rate * seconds))
        activities = 50
        day = datetime.now(city_zone()).date()
        workers = Workers()
        engines = []
        try:
            with fresh_databases(workdir, database_url, "ledger", "notifications") as urls:
                contexts = {}
                for name, url in urls.items():
                    upgrade(name, url)
                    engine = make_engine(url)
                    engines.append(engine)
                    contexts[name] = ServiceContext(
                        name, settings, engine, make_session_factory(engine), BrokerProbe(settings)
                    )
                inbox = contexts["notifications"].session_factory
                _known_activities(inbox, activities, day)
                workers.add(PARTS["ledger"], contexts["ledger"])  # its consumer and relay
                workers.add(PARTS["notifications"], contexts["notifications"], relay=False)
                topic = settings.topic("shiliu.attendance")
                producer = kafka_clients.producer(settings)
                # A first event through the whole path: every consumer has joined its group.
                warm_up = _attendance(count, day, activities)
                producer.send(topic, key=warm_up.key.encode(), value=warm_up.encode())
                if not _wait_for(inbox, 1, 120):
                    raise click.ClickException("the warm-up event never reached the inbox")
                events = [_attendance(n, day, activities) for n in range(count)]
                published: dict[str, datetime] = {}
                started = time.perf_counter()
                for n, event in enumerate(tqdm(events, desc="publish", unit="event", leave=False)):
                    pause = started + n / rate - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    published[event.key] = utcnow()
                    producer.send(topic, key=event.key.encode(), value=event.encode())
                publish_seconds = time.perf_counter() - started
                producer.flush(30)
                producer.close()
                told = _wait_for(inbox, count + 1, 60 + seconds)
                drained = time.perf_counter() - started
                relayed = _relayed(contexts["ledger"].session_factory)
        finally:
            workers.shutdown()
            for engine in engines:
                engine.dispose()
    lags = [_ms(at, told[key]) for key, at in published.items() if key in told]
    if not lags:
        raise click.ClickException("no hours message reached the inbox")
    # Where the time goes, by the ledger's outbox row of each award (its key is the volunteer):
    # committed by the ledger consumer, then acknowledged by the broker to the relay.
    hops = {"ledger": [], "relay": [], "inbox": []}
    for key, at in published.items():
        if key in told and key in relayed and relayed[key][1] is not None:
            emitted, sent = relayed[key]
            hops["ledger"].append(_ms(at, emitted))
            hops["relay"].append(_ms(emitted, sent))
            hops["inbox"].append(_ms(sent, told[key]))
    report = {
        "events": count,
        "database": (database_url or "sqlite").split(":", 1)[0],
        "rate_per_s": rate,
        "published_per_s": round(count / publish_seconds),
        "told": len(lags),
        "lag_p50_ms": round(statistics.median(lags), 1),
        "lag_p99_ms": round(_percentile(lags, 0.99), 1),
        "lag_max_ms": round(max(lags), 1),
        "drain_s": round(drained - publish_seconds, 2),
    }
    for hop, values in hops.items():
        if values:
            report[f"{hop}_p50_ms"] = round(statistics.median(values), 1)
            report[f"{hop}_p99_ms"] = round(_percentile(values, 0.99), 1)
    steps = {
        "ledger": "published → ledger committed",
        "relay": "→ relayed (broker acked)",
        "inbox": "→ in the inbox",
    }
    click.echo(
        "\n".join(
            [
                f"attendance → inbox lag: {count:,} attendance.confirmed at {rate}/s"
                f" ({report['published_per_s']}/s published), {report['database']}",
                "  ledger consumer → ledger relay → notifications consumer, one embedded broker",
                f"  messages told              {report['told']:>9,} of {count:,}",
                f"  lag p50                    {report['lag_p50_ms']:>9,} ms",
                f"  lag p99                    {report['lag_p99_ms']:>9,} ms"
                f"  (max {report['lag_max_ms']:,} ms)",
                *[
                    f"    {label:<28} p50 {report[f'{hop}_p50_ms']:>7,} ms"
                    f"  p99 {report[f'{hop}_p99_ms']:>7,} ms"
                    for hop, label in steps.items()
                    if f"{hop}_p50_ms" in report
                ],
                f"  all told                   {report['drain_s']:>9} s after the last publication",
            ]
        )
    )
    click.echo(json.dumps(report))
    return report
