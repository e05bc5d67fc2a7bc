"""The statistics benchmarks run end to end and report what they measured (no timing is
asserted: the numbers are only checked to be there and to be the ones the report derives)."""

from __future__ import annotations

import pytest
from bench_support import cleaned_up, on_session_broker

from infra.bench_stats import run_consumer_bench, run_report_bench

BENCH_FOLDERS = "shiliu-stats-bench-*"


def test_the_report_of_a_year_is_timed_on_planted_facts(capsys):
    with cleaned_up(BENCH_FOLDERS):
        report = run_report_bench(communities=12, attendances=2_000, queries=2)
    assert report["database"] == "sqlite" and report["attendances"] == 2_000
    # About a third of three years' activities fall in the year the report asks for.
    assert 0 < report["year_attendances"] < report["attendances"]
    for name in ("totals", "unit", "month", "category", "dimension"):
        assert 0 < report[f"{name}_p95_ms"] <= report["p95_ms"]
    assert "aim: p95 < 200 ms" in capsys.readouterr().out


def test_the_consumer_is_measured_beside_both_baselines(broker, monkeypatch, capsys):
    on_session_broker(monkeypatch, broker)
    with cleaned_up(BENCH_FOLDERS):
        report = run_consumer_bench(300, poll_records=100)
    assert report["events"] == 300 and report["applied"] == 300
    assert report["raw_before_per_s"] > 0 and report["raw_after_per_s"] > 0
    assert report["raw_consume_insert_per_s"] == pytest.approx(
        (report["raw_before_per_s"] + report["raw_after_per_s"]) / 2, abs=1
    )
    assert report["ratio"] == pytest.approx(
        report["statistics_per_s"] / report["raw_consume_insert_per_s"], abs=0.001
    )
    assert "× baseline" in capsys.readouterr().out
