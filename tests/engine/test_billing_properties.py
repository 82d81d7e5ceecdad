"""Billing beyond test_money: symmetric rounding, bad increments, and what credit pays for."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connex_tui.engine.money import (
    billed_seconds,
    call_charge,
    max_seconds_affordable,
    round_money,
)

D = Decimal
ROUNDINGS = ["up", "down", "half_up", "half_down"]


@pytest.mark.parametrize("method", ROUNDINGS)
@pytest.mark.parametrize("value", [D("0.00001"), D("0.00005"), D("0.00015"), D("1.23456")])
def test_rounding_is_symmetric_for_refunds(method, value):
    # A refund (negative) of a charge rounds to exactly minus the charge.
    assert round_money(-value, 4, method) == -round_money(value, 4, method)


def test_up_is_away_from_zero_and_down_toward_it():
    assert round_money(D("-0.00001"), 4, "up") == D("-0.0001")
    assert round_money(D("-0.00009"), 4, "down") == D("0.0000")


@pytest.mark.parametrize(("mcd", "pulse", "seconds", "billed"), [
    (30, 0, 31, 31),  # pulse 0 is billed per second, not a crash
    (30, -6, 31, 31),
    (-5, 6, 1, 6),  # negative MCD counts as 0
])
def test_bad_increments_bill_per_second(mcd, pulse, seconds, billed):
    assert billed_seconds(seconds, mcd, pulse) == billed


@pytest.mark.parametrize(("available", "rate", "fee", "inc", "expected"), [
    # 1.00 at 0.60/min, 1/1: 100 s cost exactly 1.0000
    (D("1"), D("0.6"), D(0), (1, 1), 100),
    # 60/60: only whole minutes; 1.00 at 0.60/min pays for one minute
    (D("1"), D("0.6"), D(0), (60, 60), 60),
    # 30/6 at 1.20/min (0.02/s): the first 30 s cost 0.60, more than 0.50
    (D("0.5"), D("1.2"), D(0), (30, 6), 0),
    # ... 0.72 pays 30 + 6 = 36 s (0.72)
    (D("0.72"), D("1.2"), D(0), (30, 6), 36),
    # connect fee comes off first: 1.00 - 0.40 = 0.60 at 0.60/min = 60 s
    (D("1"), D("0.6"), D("0.4"), (1, 1), 60),
    # fee alone beyond credit
    (D("0.10"), D("0.6"), D("0.2"), (1, 1), 0),
    # free minutes: unlimited
    (D("0.10"), D("0"), D("0"), (60, 60), None),
    (D("0.10"), D("0"), D("0.05"), (60, 60), None),
    (D("0.10"), D("0"), D("0.50"), (60, 60), 0),
])
def test_max_seconds_affordable_examples(available, rate, fee, inc, expected):
    assert max_seconds_affordable(available, rate, fee, *inc, 4, "up") == expected


def test_rounding_up_costs_seconds():
    # 0.005/min, 1/1, precision 4 up: 12 s = 0.001 exactly, 13 s = 0.001083 -> 0.0011
    assert max_seconds_affordable(D("0.001"), D("0.005"), D(0), 1, 1, 4, "up") == 12
    assert max_seconds_affordable(D("0.001"), D("0.005"), D(0), 1, 1, 4, "down") == 13


def test_tiny_rate_is_fast_and_exact():
    got = max_seconds_affordable(D("1000"), D("0.000001"), D(0), 1, 1, 2, "down")
    assert call_charge(got, D("0.000001"), D(0), answered=True, precision=2,
                       rounding="down") <= D("1000")
    assert call_charge(got + 1, D("0.000001"), D(0), answered=True, precision=2,
                       rounding="down") > D("1000")


increments = st.sampled_from([(60, 60), (30, 6), (60, 6), (6, 6), (1, 1), (60, 1), (0, 6)])
roundings = st.sampled_from(ROUNDINGS)


@settings(max_examples=300)
@given(st.decimals(min_value=D("0.01"), max_value=D("5"), places=2),
       st.decimals(min_value=D("0.001"), max_value=D("3"), places=4),
       st.decimals(min_value=D("0"), max_value=D("0.2"), places=3),
       increments, st.integers(min_value=0, max_value=6), roundings)
def test_max_seconds_is_the_exact_boundary(available, rate, fee, inc, precision, rounding):
    got = max_seconds_affordable(available, rate, fee, *inc, precision, rounding)

    def charge(seconds):
        return call_charge(billed_seconds(seconds, *inc), rate, fee, answered=True,
                           precision=precision, rounding=rounding)

    assert got is not None
    if got:
        assert billed_seconds(got, *inc) == got  # on the increment grid
        assert charge(got) <= available
    assert charge(got + 1) > available  # one second more is not affordable


@given(st.integers(min_value=0, max_value=100_000), increments)
def test_billed_is_at_least_duration(duration, inc):
    assert billed_seconds(duration, *inc) >= duration


@given(st.integers(min_value=0, max_value=50_000), st.integers(min_value=0, max_value=600),
       increments, st.decimals(min_value=D("0"), max_value=D("5"), places=6), roundings)
def test_charge_monotonic_in_duration(d, extra, inc, rate, rounding):
    def charge(seconds):
        return call_charge(billed_seconds(seconds, *inc), rate, D("0.01"), answered=True,
                           precision=4, rounding=rounding)

    assert charge(d) <= charge(d + extra)
