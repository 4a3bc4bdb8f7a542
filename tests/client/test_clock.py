"""check_clock: a clock set back past the tolerance is noticed; time zones and DST are not."""

from __future__ import annotations

import datetime as dt

import pytest
from licensing_client import check_clock

UTC = dt.UTC
MARK = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_first_run_and_forward_time_move_the_mark() -> None:
    first = check_clock(MARK, None)
    assert first.high_water_mark == MARK and not first.set_back and first.set_back_by == dt.timedelta(0)
    later = MARK + dt.timedelta(days=3)
    assert check_clock(later, MARK).high_water_mark == later


def test_small_set_backs_are_tolerated_and_keep_the_mark() -> None:
    result = check_clock(MARK - dt.timedelta(hours=26), MARK)
    assert not result.set_back and result.high_water_mark == MARK
    assert result.set_back_by == dt.timedelta(hours=26)


def test_large_set_backs_are_reported() -> None:
    result = check_clock(MARK - dt.timedelta(hours=26, seconds=1), MARK)
    assert result.set_back and result.high_water_mark == MARK


def test_tolerance_is_configurable() -> None:
    assert check_clock(MARK - dt.timedelta(minutes=5), MARK, tolerance=dt.timedelta(minutes=1)).set_back


def test_the_same_instant_in_another_zone_is_not_a_set_back() -> None:
    tokyo = MARK.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert check_clock(tokyo, MARK) == check_clock(MARK, MARK)._replace(high_water_mark=tokyo)


def test_naive_times_are_refused() -> None:
    with pytest.raises(TypeError):
        check_clock(dt.datetime(2026, 6, 1), None)
    with pytest.raises(TypeError):
        check_clock(MARK, dt.datetime(2026, 6, 1))
