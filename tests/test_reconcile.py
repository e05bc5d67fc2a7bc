"""Reconciliation: every event a producer committed against every consumer that should apply it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from backbone import command_line_env, wait_for
from click.testing import CliRunner
from sqlalchemy import delete, select
from werkzeug.test import Client

from events.store import consumed_events, outbox
from infra.broker import free_port
from infra.cli import main
from infra.dev import Platform
from services.common.app import service_context


@pytest.fixture
def platform(settings):
    """The platform with the demonstration city (no history), on this test's broker topics."""
    running = Platform(settings)
    gateway = running.start(seed=True, history=False)
    yield running, Client(gateway)
    running.stop()


def _scrape(port: int) -> str:
    try:
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except requests.RequestException:
        return ""


def _database_env(monkeypatch, settings) -> None:
    command_line_env(monkeypatch, settings)
    for name, url in settings.database_urls.items():
        monkeypatch.setenv(f"SHILIU_{name.upper()}_DATABASE_URL", url)


def test_events_a_consumer_lost_are_named_and_published_again(platform, settings, monkeypatch):
    """Two unit events web applied are taken out of its record on purpose: reconciliation names
    exactly those two, the gauge counts them, and a re-drive brings them back."""
    running, client = platform
    wait_for(lambda: not running.unapplied().unapplied, timeout=60, message="the city to settle")
    web = service_context(running.web).session_factory
    activities = service_context(running.apps["activities"]).session_factory
    with activities() as session:
        lost = session.scalars(
            select(outbox.c.event_id)
            .where(outbox.c.event_type == "unit.created")
            .order_by(outbox.c.seq)
            .limit(2)
        ).all()
    with web() as session, session.begin():
        session.execute(
            delete(consumed_events).where(
                consumed_events.c.consumer == "web", consumed_events.c.event_id.in_(lost)
            )
        )

    _database_env(monkeypatch, settings)
    found = CliRunner().invoke(main, ["reconcile", "--settle", "0"])
    assert found.exit_code == 1, found.output
    assert "2 missing, 0 in flight" in found.output
    assert "missing      2  unit.created" in found.output and "activities -> web" in found.output
    assert all(event_id in found.output for event_id in lost)

    running.reconcile_gauge.settle = 0
    running.reconcile_gauge.cache_seconds = 0
    scraped = client.get("/metrics/web").get_data(as_text=True)
    assert (
        'shiliu_events_missing{consumer="web",event_type="unit.created",producer="activities"} 2.0'
        in scraped
    )

    port = free_port()
    served = subprocess.Popen(
        [str(Path(sys.executable).parent / "shiliu"), "reconcile", "--settle", "0"]
        + ["--metrics-port", str(port), "--every", "1"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wanted = 'shiliu_events_missing{consumer="web",event_type="unit.created",producer="activities"} 2.0'
        wait_for(lambda: wanted in _scrape(port), timeout=60, message="the served gauge")
    finally:
        served.terminate()
        served.wait(10)

    redriven = CliRunner().invoke(main, ["reconcile", "--settle", "0", "--redrive"])
    assert "2 events marked for publishing again" in redriven.output
    wait_for(lambda: not running.unapplied().unapplied, timeout=60, message="the re-driven events")
    settled = CliRunner().invoke(main, ["reconcile", "--settle", "0"])
    assert settled.exit_code == 0 and "0 missing" in settled.output, settled.output
    with web() as session:
        back = session.scalars(
            select(consumed_events.c.event_id).where(consumed_events.c.event_id.in_(lost))
        ).all()
    assert sorted(back) == sorted(lost)
    scraped = client.get("/metrics/web").get_data(as_text=True)
    assert "shiliu_events_missing{" not in scraped and "shiliu_reconcile_up 1.0" in scraped
