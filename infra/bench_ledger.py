"""Ledger benchmarks (reports, never pass/fail): ingest beside a bare baseline in the same run,
and the standings of a district on a large ledger."""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import click
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, insert, text
from tqdm import tqdm

from events import kafka as kafka_clients
from events.consumer import ConsumerRunner
from events.envelope import Event
from events.settings import Settings
from infra.bench import bench_run, raw_consume_insert
from services.common.db import make_engine, make_session_factory, upgrade
from services.ledger import operations
from services.ledger.handlers import HANDLERS
from services.ledger.models import LedgerEntry, UnitView, VolunteerView

_raw = MetaData()
raw_events = Table(
    "bench_raw_events",
    _raw,
    Column("event_id", String(36), primary_key=True),
    Column("key", String(64), nullable=False),
    Column("value", LargeBinary, nullable=False),
)


def _attendance_events(count: int, volunteers: int) -> list[Event]:
    rng = random.Random(3)
    start = date(2026, 1, 1)
    events = []
    for n in range(count):
        volunteer = f"v-{rng.randrange(volunteers)}"
        day = start + timedelta(days=rng.randrange(300))
        payload = {
            "attendance_id": f"at-{n}",
            "volunteer_id": volunteer,
            "activity_id": f"a-{rng.randrange(2000)}",
            "shift_id": "s-1",
            "hours": f"{rng.randrange(1, 17) / 2:.1f}",
            "activity_date": day.isoformat(),
            "confirmed_by": "bench",
            "confirmed_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
            "shift_weight": None,
            "cross_group": rng.random() < 0.3,
        }
        events.append(
            Event(
                type="attendance.confirmed",
                version=1,
                key=volunteer,
                payload=payload,
                producer="bench",
            )
        )
    return events


def _raw_consume_insert(settings: Settings, topic: str, factory, count: int, poll_records: int):
    """The baseline, in events/s: each record as it came (key and value) in one table."""

    def row(record) -> dict:
        return {"event_id": str(uuid.uuid4()), "key": record.key.decode(), "value": record.value}

    return raw_consume_insert(settings, topic, factory, raw_events, row, count, poll_records)


def _rate(marks: list[tuple[int, float]], start: int, end: int) -> float:
    """Events/s over the polls that took the count from ``start`` to ``end`` (as near as the
    polls' sizes allow)."""
    since = max((m for m in marks if m[0] <= start), key=lambda m: m[0])
    until = min((m for m in marks if m[0] >= end), key=lambda m: m[0])
    return (until[0] - since[0]) / max(until[1] - since[1], 1e-9)


def run_ingest_bench(
    count: int, volunteers: int, database_url: str | None, poll_records: int = 500
) -> dict:
    """Ledger consumer events/s beside raw consume + bulk insert into the same database."""
    with bench_run("ledger-bench", "lbench") as (workdir, settings, _broker):
        url = database_url or f"sqlite:///{workdir / 'ledger.db'}"
        upgrade("ledger", url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        _raw.create_all(engine)
        events = _attendance_events(count, volunteers)
        topic = settings.topic("shiliu.attendance")
        producer = kafka_clients.producer(settings)
        for event in tqdm(events, desc="produce", unit="event", leave=False):
            producer.send(topic, key=event.key.encode(), value=event.encode())
        producer.flush(300)
        producer.close()

        raw_before = _raw_consume_insert(settings, topic, factory, count, poll_records)

        runner = ConsumerRunner(
            "ledger",
            HANDLERS,
            factory,
            settings,
            group_id=f"{settings.topic_prefix}ledger",
            max_records=poll_records,
            reader_process=True,  # as services/ledger runs (infra/registry.py)
        )
        runner.wait_for_assignment()
        done, tenth = 0, max(1, count // 10)
        marks: list[tuple[int, float]] = []  # (events done, time) after each poll
        with tqdm(total=count, desc="ledger consumer", unit="event", leave=False) as bar:
            started = time.perf_counter()
            marks.append((0, started))
            while done < count:
                got = runner.poll_once(timeout_ms=1000)
                done += got
                marks.append((done, time.perf_counter()))
                bar.update(got)
            ledger_seconds = marks[-1][1] - started
        runner.close()
        # The baseline again, on the database as the ledger left it: its spread from run to run
        # is wider than the ledger's, so the ratio is taken to the mean of the two.
        raw_after = _raw_consume_insert(settings, topic, factory, count, poll_records)
        engine.dispose()
    first, last = _rate(marks, 0, tenth), _rate(marks, count - tenth, count)
    report = {
        "events": count,
        "database": url.split(":", 1)[0],
        "raw_consume_insert_per_s": round((raw_before + raw_after) / 2),
        "raw_before_per_s": round(raw_before),
        "raw_after_per_s": round(raw_after),
        "ledger_ingest_per_s": round(count / ledger_seconds),
        "ledger_first_tenth_per_s": round(first),
        "ledger_last_tenth_per_s": round(last),
    }
    report["ratio"] = round(report["ledger_ingest_per_s"] / report["raw_consume_insert_per_s"], 3)
    click.echo(
        "\n".join(
            [
                f"ledger ingest: {count} attendance.confirmed events, {report['database']}",
                f"  raw consume + bulk insert  {report['raw_consume_insert_per_s']:>9,} events/s"
                f"  (baseline: the mean of {report['raw_before_per_s']:,} before the ledger"
                f" and {report['raw_after_per_s']:,} after it)",
                f"  ledger consumer            {report['ledger_ingest_per_s']:>9,} events/s"
                f"  = {report['ratio']:.2f} × baseline (aim ≥ 0.50)",
                f"    its first tenth          {report['ledger_first_tenth_per_s']:>9,} events/s"
                "  (a young database)",
                f"    its last tenth           {report['ledger_last_tenth_per_s']:>9,} events/s",
            ]
        )
    )
    click.echo(json.dumps(report))
    return report


def run_standings_bench(
    database_url: str, volunteers: int, rows: int, queries: int, chunk: int = 20_000
) -> dict:
    """p50/p95 of the standings of a district (a year and a month) on a large ledger."""
    upgrade("ledger", database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    rng = random.Random(5)
    now = datetime.now(UTC)
    streets = [f"/b/d/s{n}/" for n in range(10)]
    communities = [f"{street}c{m}/" for street in streets for m in range(10)]
    with factory() as session, session.begin():
        if session.scalar(text("SELECT count(*) FROM ledger_entries")):
            raise click.UsageError("the standings benchmark needs an empty ledger database")
        units = [("u-b", "/b/"), ("u-d", "/b/d/")]
        units += [(f"u-{p.strip('/').replace('/', '-')}", p) for p in streets + communities]
        session.execute(
            insert(UnitView),
            [
                {"unit_id": u, "name": u, "kind": "community", "parent_id": None, "path": p}
                | {"updated_at": now}
                for u, p in units
            ],
        )
        homes = [u for u, p in units if p in communities]
        for start in range(0, volunteers, chunk):
            session.execute(
                insert(VolunteerView),
                [
                    {
                        "volunteer_id": f"v-{n}",
                        "display_name": f"志愿者{n}",
                        "home_unit_id": homes[n % len(homes)],
                        "team_id": None,
                        "updated_at": now,
                    }
                    for n in range(start, min(volunteers, start + chunk))
                ],
            )
    day0 = date(2026, 1, 1)
    with tqdm(total=rows, desc="ledger rows", unit="row", leave=False) as bar:
        for start in range(0, rows, chunk):
            batch = [
                {
                    "seq": n + 1,
                    "entry_id": str(uuid.UUID(int=n + 1)),
                    "volunteer_id": f"v-{rng.randrange(volunteers)}",
                    "kind": "award",
                    "reason_code": "attendance",
                    "points": rng.randrange(5, 90),
                    "hours_halves": rng.randrange(0, 17),
                    "explanation": "bench",
                    "activity_id": "a-1",
                    "attendance_id": None,
                    "entry_date": day0 + timedelta(days=rng.randrange(365)),
                    "rule_version": 1,
                    "source_event_id": None,
                    "reverses_entry_id": None,
                    "occurred_at": now,
                    "recorded_at": now,
                    "prev_hash": "0" * 64,
                    "hash": "0" * 64,
                }
                for n in range(start, min(rows, start + chunk))
            ]
            with factory() as session, session.begin():
                session.execute(insert(LedgerEntry), batch)
                # The ledger's own upkeep of the standings totals, as when rows are appended.
                operations.add_to_totals(session, batch[0]["seq"], batch[-1]["seq"])
            bar.update(len(batch))
    if engine.dialect.name == "postgresql":
        # A ledger a year old has been vacuumed by autovacuum many times; this one took its
        # million rows (and their totals' upserts) a moment ago.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    timings: dict[str, list[float]] = {"year": [], "month": []}
    for n in range(queries):
        for period, (start, end) in {
            "year": (day0, date(2026, 12, 31)),
            "month": (date(2026, 1 + n % 12, 1), date(2026, 1 + n % 12, 28)),
        }.items():
            with factory() as session:
                began = time.perf_counter()
                operations.standings(
                    session, path="/b/d/", team_id=None, start=start, end=end, page=1, per_page=50
                )
                timings[period].append((time.perf_counter() - began) * 1000)
    engine.dispose()

    def p95(values: list[float]) -> float:
        return sorted(values)[max(0, int(len(values) * 0.95) - 1)]

    report = {
        "database": database_url.split(":", 1)[0],
        "volunteers": volunteers,
        "rows": rows,
        "queries": queries,
        **{f"{k}_p50_ms": round(statistics.median(v), 1) for k, v in timings.items()},
        **{f"{k}_p95_ms": round(p95(v), 1) for k, v in timings.items()},
    }
    click.echo(
        f"standings of a district: {volunteers:,} volunteers, {rows:,} rows, {report['database']}\n"
        f"  a year   p50 {report['year_p50_ms']} ms  p95 {report['year_p95_ms']} ms\n"
        f"  a month  p50 {report['month_p50_ms']} ms  p95 {report['month_p95_ms']} ms"
        "  (aim: p95 < 100 ms on PostgreSQL)"
    )
    click.echo(json.dumps(report))
    return report
