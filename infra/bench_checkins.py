"""Check-in benchmark: N volunteers checking in to one activity through the volunteers API,
beside a bare Flask endpoint inserting one row into the same database, in the same run.

Both apps are called in-process through their WSGI interface by the same number of client
threads, so the ratio shows what the check-in rules, the token, the unique record and the outbox
event cost over the cheapest possible write. A report, never a pass/fail test.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask, request
from sqlalchemy import Column, DateTime, MetaData, String, Table, func, insert, select

from events.envelope import utcnow
from events.settings import Settings
from services.common.app import service_context
from services.common.auth import issue_token
from services.common.db import upgrade
from services.volunteers import operations, rules
from services.volunteers.app import create_app
from services.volunteers.models import ActivityView, Attendance, Signup, Volunteer

bare_metadata = MetaData()
bare_rows = Table(
    "bench_bare_rows",
    bare_metadata,
    Column("id", String(36), primary_key=True),
    Column("volunteer_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)


def bare_app(engine) -> Flask:
    """The baseline: one endpoint, one INSERT in its own transaction, nothing else."""
    app = Flask("bare")

    @app.post("/rows")
    def add_row():
        body = request.get_json()
        with engine.begin() as conn:
            conn.execute(
                insert(bare_rows).values(
                    id=str(uuid.uuid4()), volunteer_id=body["volunteer_id"], at=utcnow()
                )
            )
        return {"ok": True}, 201

    return app


def _prepare(app, count: int) -> tuple[str, list[str]]:
    """One activity under way, ``count`` volunteers each holding a confirmed place on it."""
    factory = service_context(app).session_factory
    starts = utcnow() - timedelta(minutes=5)
    payload = {
        "activity_id": f"bench-{uuid.uuid4().hex[:8]}",
        "title": "基准测试活动",
        "category": "志愿服务",
        "dimensions": ["社会"],
        "host_unit_id": "u-bench",
        "host_unit_path": "/bench/",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=3),
        "walk_ins_allowed": False,
        "shifts": [{"shift_id": f"s-{uuid.uuid4().hex[:8]}", "name": "默认", "capacity": count}],
    }
    now = utcnow()
    people = [f"bv-{n:05d}-{uuid.uuid4().hex[:6]}" for n in range(count)]
    with factory() as session, session.begin():
        operations.apply_activity_state(session, payload)
        session.execute(
            insert(Volunteer),
            [
                {
                    "id": v,
                    "display_name": f"志愿者{n}",
                    "home_unit_id": "u-bench",
                    "home_unit_path": "/bench/",
                    "languages": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for n, v in enumerate(people)
            ],
        )
        session.execute(
            insert(Signup),
            [
                {
                    "id": str(uuid.uuid4()),
                    "activity_id": payload["activity_id"],
                    "shift_id": payload["shifts"][0]["shift_id"],
                    "volunteer_id": v,
                    "party_size": 1,
                    "status": "confirmed",
                    "created_at": now,
                    "removed": False,
                }
                for v in people
            ],
        )
    return payload["activity_id"], people


def _drive(app, threads: int, requests_: list[tuple[str, dict, dict]]) -> tuple[float, list]:
    """Send the requests from ``threads`` clients; return (seconds, per-request latencies)."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    chunks = [requests_[n::threads] for n in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def worker(chunk):
        client = app.test_client()
        mine, codes = [], []
        barrier.wait()
        for path, headers, body in chunk:
            begun = time.perf_counter()
            answer = client.post(path, headers=headers, json=body() if callable(body) else body)
            mine.append(time.perf_counter() - begun)
            codes.append(answer.status_code)
        with lock:
            latencies.extend(mine)
            statuses.extend(codes)

    workers = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    for thread in workers:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in workers:
        thread.join()
    seconds = time.perf_counter() - start
    bad = [s for s in statuses if s not in (200, 201)]
    if bad:
        raise click.ClickException(f"{len(bad)} requests failed, e.g. HTTP {bad[0]}")
    return seconds, latencies


def _ms(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)


def run_checkin_bench(count: int, threads: int, database_url: str | None = None) -> dict:
    """Measure check-ins through the API against a bare insert endpoint on the same database."""
    workdir = Path(tempfile.mkdtemp(prefix="shiliu-bench-checkins-"))
    url = database_url or f"sqlite:///{workdir / 'volunteers.db'}"
    settings = replace(
        Settings.from_env({"SHILIU_DATA_DIR": str(workdir)}),
        database_urls={"volunteers": url},
    )
    upgrade("volunteers", url)
    app = create_app(settings)
    engine = service_context(app).engine
    bare_metadata.create_all(engine)
    activity_id, people = _prepare(app, count)
    with service_context(app).session_factory() as session:
        secret = session.get(ActivityView, activity_id).checkin_secret

    def live_code():
        return {"code": rules.current_code(secret, utcnow())[0]}

    path = f"/api/v1/activities/{activity_id}/checkins"
    checkins = [
        (path, {"Authorization": f"Bearer {issue_token(settings.secret_key, v)}"}, live_code)
        for v in people
    ]
    rows = [("/rows", {}, {"volunteer_id": v}) for v in people]

    bare = bare_app(engine)
    bare_seconds, bare_latency = _drive(bare, threads, rows)
    api_seconds, api_latency = _drive(app, threads, checkins)
    with service_context(app).session_factory() as session:
        recorded = session.scalar(
            select(func.count())
            .select_from(Attendance)
            .where(Attendance.activity_id == activity_id)
        )
    engine.dispose()
    shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "volunteers": count,
        "threads": threads,
        "database": url.split(":", 1)[0],
        "bare_inserts_per_s": round(count / bare_seconds),
        "checkins_per_s": round(count / api_seconds),
        "bare_p50_ms": _ms(bare_latency, 0.5),
        "bare_p95_ms": _ms(bare_latency, 0.95),
        "checkin_p50_ms": _ms(api_latency, 0.5),
        "checkin_p95_ms": _ms(api_latency, 0.95),
        "attendance_records": recorded,
        "mean_checkin_ms": round(statistics.mean(api_latency) * 1000, 1),
    }
    report["checkins_vs_bare"] = round(report["checkins_per_s"] / report["bare_inserts_per_s"], 3)
    click.echo(
        "\n".join(
            [
                f"check-in benchmark: {count} volunteers, one activity, {threads} client threads, "
                f"{report['database']}",
                f"  bare Flask insert endpoint  {report['bare_inserts_per_s']:>7,} rows/s"
                f"       p50 {report['bare_p50_ms']} ms  p95 {report['bare_p95_ms']} ms  (baseline)",
                f"  POST …/checkins (API)       {report['checkins_per_s']:>7,} check-ins/s"
                f"  p50 {report['checkin_p50_ms']} ms  p95 {report['checkin_p95_ms']} ms"
                f"  = {report['checkins_vs_bare']:.2f} × bare (aim ≥ 0.50)",
                f"  attendance records written {recorded:>7,}",
            ]
        )
    )
    click.echo(json.dumps(report))
    return report
