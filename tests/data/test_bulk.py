"""The stored forms bulk writers hand the driver: the same as the column types give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from connex_tui.data.bulk import money_units, naive_utc, utc_text
from connex_tui.data.types import Money
from connex_tui.engine.money import MoneyFormatError


@pytest.mark.parametrize("value", ["0", "-0", "12.345", "-2.5", "0.000001", "999999999.999999",
                                   "1E+3", "5.000000000"])
def test_money_units_equal_the_column_type_twice(value):
    want = Money().process_bind_param(Decimal(value), None)
    assert money_units(Decimal(value)) == want
    assert money_units(Decimal(value)) == want  # from the cache
    assert type(money_units(Decimal(value))) is int


@pytest.mark.parametrize("value, error", [
    (0.5, TypeError), (Decimal("0.0000001"), MoneyFormatError),
    (Decimal("NaN"), MoneyFormatError), (Decimal("Infinity"), OverflowError)])
def test_money_units_refuse_what_the_column_type_refuses(value, error):
    money_units(Decimal("0.5"))  # an equal Decimal in the cache does not let a float in
    with pytest.raises(error):
        money_units(value)
    with pytest.raises(error):
        Money().process_bind_param(value, None)


def test_money_units_of_none_is_none():
    assert money_units(None) is None


@pytest.mark.parametrize("t", [
    datetime(2025, 3, 14, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2025, 3, 14, 0, 0, tzinfo=UTC),
    datetime(2025, 3, 15, 5, 29, 59, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2024, 2, 29, 12, 0, 0, 500, tzinfo=ZoneInfo("America/New_York")),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
])
def test_utc_text_and_naive_utc_are_the_stored_forms(t):
    naive = t.astimezone(UTC).replace(tzinfo=None)
    assert naive_utc(t) == naive
    assert utc_text(t) == naive.isoformat(" ", "microseconds")
    assert utc_text(t) == utc_text(t)  # from the minute cache


def test_naive_times_are_refused():
    for convert in (utc_text, naive_utc):
        with pytest.raises(ValueError, match="naive"):
            convert(datetime(2025, 3, 14))
        assert convert(None) is None
