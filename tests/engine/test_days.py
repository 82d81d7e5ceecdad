"""engine/days: the UTC day an operator names, bounded so no day arithmetic overflows."""

from __future__ import annotations

from datetime import date

import pytest

from connex_tui.engine.days import FIRST_DAY, LAST_DAY, parse_day, step_day


def test_a_day_in_range_is_read():
    assert parse_day(" 2026-12-03 ") == date(2026, 12, 3)
    assert parse_day("1970-01-01") == FIRST_DAY and parse_day("2199-12-31") == LAST_DAY


@pytest.mark.parametrize(("text", "message"), [
    ("2026-2-3", "YYYY-MM-DD"), ("2026-02-30", "day is out of range for month"),
    ("0001-01-01", "between 1970-01-01 and 2199-12-31"),
    ("9999-12-31", "between 1970-01-01 and 2199-12-31"), ("２０２６-01-01", "YYYY-MM-DD")])
def test_bad_days_are_refused_with_a_message(text, message):
    with pytest.raises(ValueError, match=message):
        parse_day(text)


def test_a_step_past_the_range_is_none_not_an_overflow():
    assert step_day(date(2026, 12, 3), -1) == date(2026, 12, 2)
    assert step_day(FIRST_DAY, -1) is None and step_day(LAST_DAY, 1) is None
    assert step_day(date(1, 1, 1), -1) is None and step_day(date(9999, 12, 31), 1) is None
    assert step_day(date(2026, 1, 1), 10**9) is None
