"""The ledger's ingest benchmark runs end to end and reports what it measured (no timing is
asserted: the numbers are only checked to be the ones the report says it derived)."""

from __future__ import annotations

import pytest
from bench_support import cleaned_up, on_session_broker

from infra.bench_ledger import _rate, run_ingest_bench


def test_rate_spans_the_polls_around_the_range():
    marks = [(0, 10.0), (400, 11.0), (800, 12.0), (1000, 14.0)]
    assert _rate(marks, 0, 100) == 400.0  # the first poll holds the first 100 events
    assert _rate(marks, 900, 1000) == 100.0  # 800..1000 in the last two seconds
    assert _rate(marks, 0, 1000) == 250.0


def test_ingest_bench_reports_both_baselines_and_cleans_up(broker, monkeypatch, capsys):
    on_session_broker(monkeypatch, broker)
    with cleaned_up("shiliu-ledger-bench-*"):
        report = run_ingest_bench(300, 50, None, poll_records=100)
    assert report["events"] == 300 and report["database"] == "sqlite"
    assert report["raw_before_per_s"] > 0 and report["raw_after_per_s"] > 0
    assert report["raw_consume_insert_per_s"] == pytest.approx(
        (report["raw_before_per_s"] + report["raw_after_per_s"]) / 2, abs=1
    )
    assert report["ratio"] == pytest.approx(
        report["ledger_ingest_per_s"] / report["raw_consume_insert_per_s"], abs=0.001
    )
    assert report["ledger_first_tenth_per_s"] > 0 and report["ledger_last_tenth_per_s"] > 0
    out = capsys.readouterr().out
    assert "before the ledger" in out and "its last tenth" in out
