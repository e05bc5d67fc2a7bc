"""Statistics benchmarks (reports, never pass/fail), both in one run: the report of a district's
year on three years of planted facts, and the statistics consumer applying attendance beside
raw kafka-python consume + bulk insert of the same rows into the same database."""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, delete, insert, text
from tqdm import tqdm

from events import catalog
from events import kafka as kafka_clients
from events.consumer import ConsumerRunner
from events.settings import Settings
from events.vocabulary import CATEGORIES, DIMENSIONS
from infra.bench import bench_run, raw_consume_insert
from infra.bench_notifications import fresh_databases
from infra.registry import PARTS
from services.common.db import make_engine, make_session_factory, upgrade
from services.statistics import models, presence, reports
from services.statistics.handlers import HANDLERS, recount

BREAKDOWNS = (None, "unit", "month", "category", "dimension")
STREETS = 10
FIRST_DAY = date(2024, 1, 1)
YEAR = 2026  # the third year: the one the report asks for

_bare = MetaData()
bare_rows = Table(  # what the baseline writes: the attendance facts' columns, nothing else
    "bench_attendance_rows",
    _bare,
    Column("activity_id", String(64), primary_key=True),
    Column("volunteer_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("hours_halves", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@contextmanager
def _statistics_db(workdir: Path, database_url: str | None):
    """A fresh statistics database migrated to head: its engine and session factory."""
    with fresh_databases(workdir, database_url, "statistics") as urls:
        upgrade("statistics", urls["statistics"])
        engine = make_engine(urls["statistics"])
        try:
            yield engine, make_session_factory(engine)
        finally:
            engine.dispose()


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


# ---- the report of a district's year --------------------------------------------------------


def _tree(communities: int) -> tuple[list[dict], list[str]]:
    now = datetime.now(UTC)
    units = [
        {"unit_id": "u-c", "name": "市", "kind": "city", "parent_id": None, "path": "/c/"},
        {"unit_id": "u-d", "name": "区", "kind": "district", "parent_id": "u-c", "path": "/c/d/"},
    ]
    units += [
        {"unit_id": f"u-s{s}", "name": f"街道{s}", "kind": "street", "parent_id": "u-d"}
        | {"path": f"/c/d/s{s}/"}
        for s in range(STREETS)
    ]
    homes = []
    for n in range(communities):
        street = n % STREETS
        units.append(
            {"unit_id": f"u-c{n}", "name": f"社区{n}", "kind": "community"}
            | {"parent_id": f"u-s{street}", "path": f"/c/d/s{street}/c{n}/"}
        )
        homes.append(f"u-c{n}")
    return [u | {"updated_at": now} for u in units], homes


def _plant(factory, communities: int, attendances: int, chunk: int = 20_000) -> dict:
    """Three years of a district's facts, in bulk: activities of its communities with their
    dimensions and groups, ``attendances`` attendances (a tenth no-shows), volunteers, stars;
    each activity's attendance counted and its attendees' presence kept, as the consumer does."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    units, homes = _tree(communities)
    paths = {u["unit_id"]: u["path"] for u in units}
    per_activity = 20
    activities = max(1, attendances // per_activity)
    volunteers = max(per_activity, attendances // 10)
    days = (date(YEAR, 12, 31) - FIRST_DAY).days + 1
    categories, dimensions = sorted(CATEGORIES), sorted(DIMENSIONS)
    with factory() as session, session.begin():
        if session.scalar(text("SELECT count(*) FROM activity_facts")):
            raise click.UsageError("the report benchmark needs an empty statistics database")
        session.execute(insert(models.UnitView), units)
    facts, dims, groups, rows = [], [], [], []

    def flush(force: bool = False) -> None:
        if not force and len(rows) < chunk:
            return
        with factory() as session, session.begin():
            for model, batch in (
                (models.ActivityFact, facts),
                (models.ActivityDimension, dims),
                (models.ActivityGroups, groups),
                (models.AttendanceFact, rows),
            ):
                if batch:
                    session.execute(insert(model), batch)
            recount(session, [fact["activity_id"] for fact in facts])  # as the consumer does
        for batch in (facts, dims, groups, rows):
            batch.clear()

    with tqdm(total=activities, desc="planted activities", unit="activity", leave=False) as bar:
        for n in range(activities):
            host = homes[rng.randrange(len(homes))]
            day = FIRST_DAY + timedelta(days=rng.randrange(days))
            held = rng.random() < 0.9
            chosen = rng.sample(dimensions, rng.randrange(1, 3))
            activity_id = f"a-{n}"
            facts.append(
                {
                    "activity_id": activity_id,
                    "title": f"活动{n}",
                    "host_unit_id": host,
                    "host_path": paths[host],
                    "category": categories[rng.randrange(len(categories))],
                    "dimensions": ",".join(chosen),
                    "day": day,
                    "month": day.strftime("%Y-%m"),
                    "status": "completed" if held else "cancelled",
                    "held": held,
                    "audience": rng.randrange(0, 200) if held else None,
                    "updated_at": now,
                }
            )
            dims.extend({"activity_id": activity_id, "dimension": d} for d in chosen)
            if rng.random() < 0.4:
                groups.append(
                    {"activity_id": activity_id, "distinct_groups": rng.choice([None, 2, 3, 4])}
                )
            for volunteer in rng.sample(range(volunteers), per_activity):
                absent = rng.random() < 0.1
                rows.append(
                    {
                        "activity_id": activity_id,
                        "volunteer_id": f"v-{volunteer}",
                        "status": "no_show" if absent else "confirmed",
                        "hours_halves": 0 if absent else rng.randrange(1, 17),
                        "updated_at": now,
                    }
                )
            flush()
            bar.update(1)
    flush(force=True)
    with factory() as session, session.begin():
        presence.rebuild_all(session)
    with factory() as session, session.begin():
        for start in range(0, volunteers, chunk):
            batch = []
            for n in range(start, min(volunteers, start + chunk)):
                day = FIRST_DAY + timedelta(days=rng.randrange(days))
                batch.append(
                    {
                        "volunteer_id": f"v-{n}",
                        "home_unit_id": homes[n % len(homes)],
                        "registered_on": day,
                        "month": day.strftime("%Y-%m"),
                    }
                )
            session.execute(insert(models.VolunteerFact), batch)
        session.execute(
            insert(models.AwardFact),
            [
                {
                    "cycle_id": f"cy-{n // 10}",
                    "volunteer_id": f"v-{n}",
                    "unit_id": homes[n % len(homes)],
                    "awarded_on": date(2024 + n % 3, 12, 20),
                    "month": f"{2024 + n % 3}-12",
                    "revoked": n % 17 == 0,
                }
                for n in range(min(volunteers, 600))
            ],
        )
    return {"activities": activities, "attendances": activities * per_activity}


def run_report_bench(
    communities: int, attendances: int, queries: int, database_url: str | None = None
) -> dict:
    """p50/p95 of the report of a district's year, for the totals and each breakdown."""
    workdir = Path(tempfile.mkdtemp(prefix="shiliu-stats-bench-"))
    try:
        with _statistics_db(workdir, database_url) as (engine, factory):
            planted = _plant(factory, communities, attendances)
            if engine.dialect.name == "postgresql":
                # Three years of facts are vacuumed by autovacuum many times over; these were
                # inserted a moment ago.
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM ANALYZE"))
            timings: dict[str, list[float]] = {str(by or "totals"): [] for by in BREAKDOWNS}
            for _ in range(queries):
                for by in BREAKDOWNS:
                    with factory() as session:
                        district = session.get(models.UnitView, "u-d")
                        scope = reports.Scope(district, date(YEAR, 1, 1), date(YEAR, 12, 31))
                        began = time.perf_counter()
                        answer = reports.report(session, scope, by)
                        timings[str(by or "totals")].append((time.perf_counter() - began) * 1000)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    everything = [t for values in timings.values() for t in values]
    report = {
        "database": (database_url or "sqlite").split(":", 1)[0].split("+")[0],
        "communities": communities,
        **planted,
        "queries": queries,
        "year_activities_held": answer["totals"]["activities_held"],
        "year_attendances": answer["totals"]["attendances"],
        **{f"{k}_p95_ms": round(_p95(v), 1) for k, v in timings.items()},
        "p50_ms": round(statistics.median(everything), 1),
        "p95_ms": round(_p95(everything), 1),
    }
    click.echo(
        "\n".join(
            [
                f"report of a district's year: {communities} communities, 3 years,"
                f" {planted['attendances']:,} attendances, {report['database']}",
                *(f"  {k:<10} p95 {report[f'{k}_p95_ms']:>7} ms" for k in timings),
                f"  all        p50 {report['p50_ms']:>7} ms  p95 {report['p95_ms']} ms"
                "  (aim: p95 < 200 ms on PostgreSQL)",
            ]
        )
    )
    click.echo(json.dumps(report))
    return report


# ---- the consumer beside raw consume + bulk insert ------------------------------------------


def _events(count: int, per_activity: int = 20) -> tuple[list, list]:
    """The activities (published and completed) and ``count`` attendance confirmations."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    activities, attendance = [], []
    for n in range(max(1, count // per_activity)):
        starts = now - timedelta(days=rng.randrange(1, 300))
        activity_id = f"a-{n}"
        activities.append(
            catalog.make_event(
                "activity.published",
                {
                    "activity_id": activity_id,
                    "title": f"活动{n}",
                    "category": "festival",
                    "dimensions": ["culture"],
                    "host_unit_id": "u-c0",
                    "host_unit_path": "/c/d/s0/c0/",
                    "starts_at": starts,
                    "ends_at": starts + timedelta(hours=2),
                    "shifts": [{"shift_id": f"{activity_id}-s", "name": "志愿", "capacity": 50}],
                },
                producer="bench",
            )
        )
        activities.append(
            catalog.make_event(
                "activity.completed",
                {"activity_id": activity_id, "completed_at": now, "audience": 10},
                producer="bench",
            )
        )
        for k in range(per_activity):
            if len(attendance) == count:
                break
            attendance.append(
                catalog.make_event(
                    "attendance.confirmed",
                    {
                        "attendance_id": f"at-{n}-{k}",
                        "volunteer_id": f"v-{n * 7 + k}",
                        "activity_id": activity_id,
                        "hours": f"{rng.randrange(1, 17) / 2:.1f}",
                        "activity_date": starts.date(),
                        "confirmed_by": "bench",
                        "confirmed_at": now,
                    },
                    producer="bench",
                )
            )
    return activities, attendance


def _produce(settings: Settings, events: list) -> None:
    producer = kafka_clients.producer(settings)
    for event in tqdm(events, desc="produce", unit="event", leave=False):
        topic = settings.topic(catalog.get(event.type).topic)
        producer.send(topic, key=event.key.encode(), value=event.encode())
    producer.flush(300)
    producer.close()


def _raw_consume_insert(settings: Settings, factory, count: int, poll_records: int) -> float:
    """The baseline, in events/s: the attendance topic's records as the attendance facts'
    columns in a bare table."""
    with factory() as session, session.begin():
        session.execute(delete(bare_rows))
    now = datetime.now(UTC)

    def row(record) -> dict:
        payload = json.loads(record.value)["payload"]
        return {
            "activity_id": payload["activity_id"],
            "volunteer_id": payload["volunteer_id"],
            "status": "confirmed",
            "hours_halves": int(float(payload["hours"]) * 2),
            "updated_at": now,
        }

    topic = settings.topic("shiliu.attendance")
    return raw_consume_insert(settings, topic, factory, bare_rows, row, count, poll_records)


def _apply(runner: ConsumerRunner, count: int, desc: str) -> float:
    done = 0
    with tqdm(total=count, desc=desc, unit="event", leave=False) as bar:
        started = time.perf_counter()
        while done < count:
            got = runner.poll_once(timeout_ms=1000)
            done += got
            bar.update(got)
        return time.perf_counter() - started


def run_consumer_bench(
    count: int, database_url: str | None = None, poll_records: int = 500
) -> dict:
    """Statistics consumer events/s beside raw consume + bulk insert into the same database."""
    with (
        bench_run("stats-bench", "sbench") as (workdir, settings, _broker),
        _statistics_db(workdir, database_url) as (engine, factory),
    ):
        _bare.create_all(engine)
        with factory() as session, session.begin():
            units, _ = _tree(1)
            session.execute(insert(models.UnitView), units)
        activities, attendance = _events(count)
        runner = ConsumerRunner(
            "statistics",
            HANDLERS,
            factory,
            settings,
            group_id=f"{settings.topic_prefix}statistics",
            max_records=poll_records,
            reader_process=PARTS["statistics"].reader_process,  # as it runs
        )
        runner.wait_for_assignment()
        _produce(settings, activities)
        _apply(runner, len(activities), "the activities first")  # not timed
        _produce(settings, attendance)
        raw_before = _raw_consume_insert(settings, factory, count, poll_records)
        seconds = _apply(runner, count, "statistics consumer")
        runner.close()
        raw_after = _raw_consume_insert(settings, factory, count, poll_records)
        with factory() as session:
            applied = session.scalar(text("SELECT count(*) FROM attendance_facts"))
    report = {
        "events": count,
        "database": (database_url or "sqlite").split(":", 1)[0].split("+")[0],
        "applied": applied,
        "raw_consume_insert_per_s": round((raw_before + raw_after) / 2),
        "raw_before_per_s": round(raw_before),
        "raw_after_per_s": round(raw_after),
        "statistics_per_s": round(count / seconds),
    }
    report["ratio"] = round(report["statistics_per_s"] / report["raw_consume_insert_per_s"], 3)
    click.echo(
        "\n".join(
            [
                f"statistics consumer: {count:,} attendance.confirmed events, {report['database']}",
                f"  raw consume + bulk insert  {report['raw_consume_insert_per_s']:>9,} events/s"
                f"  (the mean of {report['raw_before_per_s']:,} before and"
                f" {report['raw_after_per_s']:,} after)",
                f"  statistics consumer        {report['statistics_per_s']:>9,} events/s"
                f"  = {report['ratio']:.2f} × baseline (aim ≥ 0.30)",
            ]
        )
    )
    click.echo(json.dumps(report))
    return report
