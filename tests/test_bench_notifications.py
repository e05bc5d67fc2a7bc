"""The notifications benchmark runs end to end and reports what it measured (no timing is
asserted: the numbers are only checked to be there and to be the ones the report derives)."""

from __future__ import annotations

import pytest
from bench_support import cleaned_up, on_session_broker

from infra.bench_notifications import _percentile, run_fanout_bench, run_lag_bench

BENCH_FOLDERS = "shiliu-notify-bench-*"


def test_percentile_takes_the_value_at_the_share():
    values = [float(n) for n in range(1, 101)]
    assert _percentile(values, 0.99) == 99.0
    assert _percentile(values, 0.5) == 50.0
    assert _percentile([7.0], 0.99) == 7.0


def test_fanout_sends_every_reminder_and_reports_the_ratio(capsys):
    with cleaned_up(BENCH_FOLDERS):
        report = run_fanout_bench(200)
    assert report["reminders"] == 200 and report["database"] == "sqlite"
    assert report["bare_insert_per_s"] > 0 and report["fanout_per_s"] > 0
    assert report["ratio"] > 0
    assert report["ratio"] == pytest.approx(
        report["fanout_per_s"] / report["bare_insert_per_s"], abs=0.001
    )
    assert "× baseline" in capsys.readouterr().out


def test_lag_under_load_reports_its_percentiles(broker, monkeypatch, capsys):
    on_session_broker(monkeypatch, broker)
    with cleaned_up(BENCH_FOLDERS):
        report = run_lag_bench(rate=50, seconds=2)
    assert report["events"] == 100 and report["told"] == 100
    assert 0 < report["lag_p50_ms"] <= report["lag_p99_ms"] <= report["lag_max_ms"]
    for hop in ("ledger", "relay", "inbox"):  # where the time went, hop by hop
        assert report[f"{hop}_p50_ms"] <= report[f"{hop}_p99_ms"]
    assert "lag p99" in capsys.readouterr().out
