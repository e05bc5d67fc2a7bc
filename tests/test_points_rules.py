"""The points rule as plain functions: integer arithmetic, rounding, the daily cap, stars."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from services.ledger import rules as r

DEFAULT = SimpleNamespace(**r.DEFAULT_RULE)


def test_three_and_a_half_hours_earn_forty_points_as_the_page_explains():
    points = r.attendance_points(DEFAULT, r.half_hours(Decimal("3.5")))
    assert points.points == 40
    assert r.award_explanation(points.formula, 40, 40, 100) == "3.5小时 × 10 + 5 = 40分"


def test_a_translators_shift_weight_applies_to_the_hour_points_only_rounding_half_up():
    points = r.attendance_points(DEFAULT, 7, r.weight_percent("1.50"))
    assert points.hour_points == 53  # 3.5 × 10 × 1.5 = 52.5 → 53
    assert points.points == 58
    assert points.formula == "3.5小时 × 10 × 1.5 + 5"


def test_the_cross_group_bonus_adds_a_fifth_of_the_attendance_points():
    points = r.attendance_points(DEFAULT, 7, cross_group=True)
    assert points.points == 48  # (35 + 5) × 120%
    assert "三交加分" in points.formula


def test_hours_beyond_eight_do_not_count_and_odd_fractions_round_down_to_the_half_hour():
    assert r.attendance_points(DEFAULT, 20).points == 85
    assert r.half_hours(Decimal("2.7")) == 5
    assert r.half_hours(Decimal("-1")) == 0
    assert r.half_hours(None) == 0


def test_a_day_is_capped_at_one_hundred_points_shared_out_in_order():
    assert r.allocate_daily_cap([80, 40, 10], 100) == [80, 20, 0]
    assert sum(r.allocate_daily_cap([30, 40], 100)) == 70
    explanation = r.award_explanation("8小时 × 10 + 5", 85, 20, 100)
    assert explanation == "8小时 × 10 + 5 = 85分，当日上限100分，计20分"


@pytest.mark.parametrize(
    ("hours", "stars"), [(0, 0), (99.5, 0), (100, 1), (300, 2), (999, 3), (1000, 4), (1500, 5)]
)
def test_stars_follow_cumulative_confirmed_hours(hours, stars):
    assert r.stars(int(hours * 2), (100, 300, 600, 1000, 1500)) == stars


def test_rounding_is_integer_half_up():
    assert r.round_half_up(5, 2) == 3
    assert r.round_half_up(4, 2) == 2
    assert r.round_half_up(1, 3) == 0
    with pytest.raises(ValueError):
        r.round_half_up(-1, 2)


def test_the_star_thresholds_come_from_the_environment(monkeypatch):
    from services.ledger.operations import star_thresholds

    monkeypatch.setenv("SHILIU_LEDGER_STAR_HOURS", "50,100,200")
    assert star_thresholds() == (50, 100, 200)
    monkeypatch.setenv("SHILIU_LEDGER_STAR_HOURS", "300,100")
    with pytest.raises(RuntimeError):
        star_thresholds()
    monkeypatch.delenv("SHILIU_LEDGER_STAR_HOURS")
    assert star_thresholds() == (100, 300, 600, 1000, 1500)


def test_the_star_thresholds_are_settings_checked_when_they_are_read():
    from events.settings import Settings

    assert Settings.from_env({}).star_hours == (100, 300, 600, 1000, 1500)
    assert Settings.from_env({"SHILIU_LEDGER_STAR_HOURS": " 10, 20 "}).star_hours == (10, 20)
    with pytest.raises(RuntimeError, match="comma-separated whole hours: '1,x'"):
        Settings.from_env({"SHILIU_LEDGER_STAR_HOURS": "1,x"})
    with pytest.raises(RuntimeError, match="1 to 5 increasing numbers"):
        Settings.from_env({"SHILIU_LEDGER_STAR_HOURS": "1,2,3,4,5,6"})


def test_the_default_rule_is_described_for_people_not_developers(tmp_path):
    """Issue 20 item 14: "默认规则（DESIGN §7）" was shown to users; a database migrated before
    is reworded by ledger migration 0010."""
    from sqlalchemy import text

    from services.common.db import make_engine, upgrade

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    upgrade("ledger", url)
    engine = make_engine(url)
    with engine.connect() as connection:
        notes = connection.execute(text("SELECT note FROM points_rules")).scalars().all()
    engine.dispose()
    assert notes and all("DESIGN" not in note for note in notes)
    assert "默认规则" in notes
