"""One configured time zone: the services count days where the city is, not where UTC is."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from events.settings import city_zone
from services.volunteers import rules


@pytest.fixture
def zone(monkeypatch):
    """Set SHILIU_TIMEZONE for this test (city_zone() reads it once per process)."""

    def use(name: str) -> None:
        monkeypatch.setenv("SHILIU_TIMEZONE", name)
        city_zone.cache_clear()

    yield use
    monkeypatch.delenv("SHILIU_TIMEZONE", raising=False)
    city_zone.cache_clear()


def test_a_late_evening_in_utc_is_the_next_morning_in_ningbo_and_the_same_evening_in_berlin(zone):
    moment = datetime(2026, 3, 8, 20, 30, tzinfo=UTC)
    zone("Asia/Shanghai")
    assert (rules.local_date(moment), rules.local_time(moment)) == (date(2026, 3, 9), "04:30")
    zone("Europe/Berlin")
    assert (rules.local_date(moment), rules.local_time(moment)) == (date(2026, 3, 8), "21:30")
