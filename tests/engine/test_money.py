"""Money and billing (docs/domain.md §8): exact decimals, MCD/Pulse, per-call rounding, tax."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connex_tui.engine.money import (
    MoneyFormatError,
    billable_seconds,
    billed_seconds,
    call_charge,
    format_money,
    from_micro,
    net_of_tax,
    parse_money,
    round_money,
    to_micro,
)

D = Decimal


# -- storage units ----------------------------------------------------------------------
@pytest.mark.parametrize(("value", "units"), [
    (D("0"), 0),
    (D("1"), 1_000_000),
    (D("12.345"), 12_345_000),
    (D("-5"), -5_000_000),
    (D("0.000001"), 1),
    (D("-0.000001"), -1),
    (D("999999999999.999999"), 999_999_999_999_999_999),
])
def test_to_micro_and_back(value, units):
    assert to_micro(value) == units
    assert type(to_micro(value)) is int
    assert from_micro(units) == value


def test_from_micro_always_has_six_places():
    assert str(from_micro(12_345_000)) == "12.345000"
    assert str(from_micro(0)) == "0.000000"


def test_to_micro_refuses_sub_micro_amounts():
    with pytest.raises(MoneyFormatError):
        to_micro(D("0.0000001"))
    assert to_micro(D("1.0000000")) == 1_000_000  # trailing zeros are not extra precision


# -- operator input ---------------------------------------------------------------------
@pytest.mark.parametrize(("text", "value"), [
    ("12.50", D("12.50")),
    ("-5", D("-5")),
    (".5", D("0.5")),
    ("+3", D("3")),
    ("  7.25 ", D("7.25")),
    ("0.123456", D("0.123456")),
    ("5.", D("5")),
])
def test_parse_money_accepts_plain_decimals(text, value):
    assert parse_money(text) == value
    assert isinstance(parse_money(text), Decimal)


@pytest.mark.parametrize("text", [
    "1e3", "1E3", "1,000", "1 000", "0.1234567", "abc", "", " ", "NaN", "Infinity", "--5",
    "1.2.3", "$5", "1000000000000",
    "٠.٠١", "١٢", "１２.５", "0.٥", "²",  # other scripts' digits: ASCII 0-9 only
])
def test_parse_money_refuses(text):
    with pytest.raises(MoneyFormatError):
        parse_money(text)


def test_parse_money_decimal_limit_is_configurable():
    assert parse_money("0.12", max_decimals=2) == D("0.12")
    with pytest.raises(MoneyFormatError, match="at most 2 decimals"):
        parse_money("0.123", max_decimals=2)


def test_format_money():
    assert format_money(D("1234.5")) == "1,234.50"
    assert format_money(D("-0.005")) == "-0.01"
    assert format_money(D("0.0001234"), 6) == "0.000123"


# -- durations --------------------------------------------------------------------------
@pytest.mark.parametrize(("ms", "seconds"), [
    (0, 0), (-5, 0), (1, 1), (999, 1), (1000, 1), (1001, 2), (9100, 10), (60_000, 60),
])
def test_billable_seconds_rounds_up_to_whole_seconds(ms, seconds):
    assert billable_seconds(ms) == seconds


@pytest.mark.parametrize(("mcd", "pulse", "duration", "billed"), [
    # every example of docs/domain.md §8
    (30, 6, 1, 30), (30, 6, 31, 36), (30, 6, 37, 42),
    (60, 6, 10, 60), (60, 6, 61, 66),
    (60, 60, 61, 120),
    (1, 1, 61, 61), (1, 1, 0, 0),
    # and the edges
    (30, 6, 0, 0), (30, 6, 30, 30), (30, 6, 36, 36), (6, 6, 6, 6), (6, 6, 7, 12),
    (60, 60, 60, 60), (60, 60, 121, 180),
])
def test_billed_seconds(mcd, pulse, duration, billed):
    assert billed_seconds(duration, mcd, pulse) == billed


# -- charges ----------------------------------------------------------------------------
def test_call_charge_domain_example():
    billed = billed_seconds(billable_seconds(9100), 1, 1)
    assert billed == 10
    one = call_charge(billed, D("0.005"), D(0), answered=True, precision=4, rounding="up")
    assert one == D("0.0009")
    assert str(one) == "0.0009"
    assert sum([one] * 100, D(0)) == D("0.0900")


def test_connect_fee_only_on_answered_calls():
    assert call_charge(60, D("0.01"), D("0.05"), answered=True) == D("0.0600")
    assert call_charge(0, D("0.01"), D("0.05"), answered=False) == D("0")
    assert call_charge(60, D("0.01"), D("0.05"), answered=False) == D("0")


def test_call_charge_uses_the_cards_precision_and_rounding():
    # 10 s at 0.005/min = 0.000833...
    args = (10, D("0.005"), D(0))
    assert call_charge(*args, answered=True, precision=4, rounding="down") == D("0.0008")
    assert call_charge(*args, answered=True, precision=6, rounding="up") == D("0.000834")
    assert call_charge(*args, answered=True, precision=6, rounding="half_up") == D("0.000833")
    assert call_charge(*args, answered=True, precision=2, rounding="up") == D("0.01")


@pytest.mark.parametrize(("value", "method", "expected"), [
    (D("0.00005"), "up", D("0.0001")),
    (D("0.00001"), "up", D("0.0001")),
    (D("0.00009"), "down", D("0.0000")),
    (D("0.00005"), "half_up", D("0.0001")),
    (D("0.00005"), "half_down", D("0.0000")),
    (D("0.00006"), "half_down", D("0.0001")),
    (D("0.00004"), "half_up", D("0.0000")),
    (D("0.0003"), "up", D("0.0003")),
])
def test_rounding_methods(value, method, expected):
    assert round_money(value, 4, method) == expected


def test_unknown_rounding_method_is_an_error():
    with pytest.raises(KeyError):
        round_money(D("1"), 4, "sideways")


# -- tax --------------------------------------------------------------------------------
@pytest.mark.parametrize(("gross", "tax", "net", "tax_part"), [
    (D("120"), D("20"), D("100"), D("20")),
    (D("100"), D("0"), D("100"), D("0")),
    (D("100"), D("7.5"), D("93.023256"), D("6.976744")),
    (D("10"), D("100"), D("5"), D("5")),
])
def test_net_of_tax(gross, tax, net, tax_part):
    got_net, got_tax = net_of_tax(gross, tax)
    assert (got_net, got_tax) == (net, tax_part)
    assert got_net + got_tax == gross  # nothing lost to rounding


# -- properties -------------------------------------------------------------------------
increments = st.sampled_from([(60, 60), (30, 6), (60, 6), (6, 6), (1, 1), (60, 1), (0, 6)])
rates = st.decimals(min_value=D("0"), max_value=D("10"), places=6)
fees = st.decimals(min_value=D("0"), max_value=D("1"), places=6)
roundings = st.sampled_from(["up", "down", "half_up", "half_down"])


@given(st.integers(min_value=0, max_value=100_000), increments)
def test_billed_is_never_less_than_duration(duration, inc):
    billed = billed_seconds(duration, *inc)
    assert billed >= duration
    assert (billed == 0) == (duration == 0)
    if duration:
        assert billed >= inc[0]
        assert (billed - inc[0]) % inc[1] == 0 or billed == inc[0]


@given(st.integers(min_value=0, max_value=100_000), st.integers(min_value=0, max_value=3600),
       increments, rates, fees, st.integers(min_value=0, max_value=6), roundings)
def test_charge_is_monotonic_in_duration(d1, extra, inc, rate, fee, precision, rounding):
    def charge(d):
        return call_charge(billed_seconds(d, *inc), rate, fee, answered=True,
                           precision=precision, rounding=rounding)

    assert charge(d1) <= charge(d1 + extra)
    assert charge(d1) >= 0


@given(st.integers(min_value=1, max_value=86_400), increments, rates,
       st.integers(min_value=0, max_value=6))
def test_rounding_up_never_undercharges(duration, inc, rate, precision):
    billed = billed_seconds(duration, *inc)
    exact = D(billed) * rate / 60
    charged = call_charge(billed, rate, D(0), answered=True, precision=precision, rounding="up")
    assert charged >= exact
    assert charged - exact < D(1).scaleb(-precision)


@given(st.decimals(min_value=D("-999999999999.999999"), max_value=D("999999999999.999999"),
                   places=6, allow_nan=False, allow_infinity=False))
def test_micro_units_are_an_exact_inverse(value):
    units = to_micro(value)
    assert type(units) is int
    assert from_micro(units) == value
    assert to_micro(from_micro(units)) == units


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_from_micro_is_an_exact_inverse(units):
    assert to_micro(from_micro(units)) == units


@given(st.decimals(min_value=D("-999999"), max_value=D("999999"), places=6,
                   allow_nan=False, allow_infinity=False))
def test_parse_money_reads_what_format_writes(value):
    assert parse_money(format(value, "f")) == value
