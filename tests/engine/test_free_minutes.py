"""engine/free_minutes.py: intervals from the assignment's start, allocation, the rest's
charge (docs/domain.md §12, §8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connex_tui.engine.free_minutes import (
    Call,
    allocate,
    allowance,
    candidates,
    charge_after_free,
    interval_start,
)
from connex_tui.engine.packages import intervals


def d(*a) -> datetime:
    return datetime(*a, tzinfo=UTC)


@pytest.mark.parametrize(("start", "frequency", "days", "at", "want"), [
    # the first interval runs from the start to the next match day (00:00 UTC)
    (d(2025, 1, 31, 8), "monthly", (), d(2025, 2, 27, 8), d(2025, 1, 31, 8)),
    (d(2025, 1, 31, 8), "monthly", (), d(2025, 2, 28, 8), d(2025, 2, 28)),  # day 31: last day
    (d(2025, 1, 31, 8), "monthly", (), d(2025, 3, 30), d(2025, 2, 28)),
    (d(2025, 1, 31, 8), "monthly", (), d(2025, 3, 31, 8), d(2025, 3, 31)),
    (d(2024, 12, 15), "monthly", (), d(2025, 1, 14, 23), d(2024, 12, 15)),  # over the year
    (d(2025, 1, 10, 9), "monthly", (1, 15), d(2025, 1, 20), d(2025, 1, 15)),  # match days
    (d(2025, 3, 1, 12), "daily", (), d(2025, 3, 3, 11, 59), d(2025, 3, 3)),
    (d(2025, 3, 1, 12), "daily", (), d(2025, 3, 1, 23), d(2025, 3, 1, 12)),
    (d(2025, 3, 3), "weekly", (), d(2025, 3, 16, 23), d(2025, 3, 10)),  # Mondays
    (d(2025, 3, 3), "weekly", (3,), d(2025, 3, 16, 23), d(2025, 3, 13)),  # Thursdays
    (d(2025, 3, 3), "weekly", (), d(2025, 3, 2), None),  # before the start
])
def test_interval_start_is_the_package_jobs_interval(start, frequency, days, at, want):
    assert interval_start(start, frequency, at, days) == want
    if want is not None:  # the job charges an interval starting there
        assert want in [lo for lo, _ in intervals(frequency, days, start, at + timedelta(1))]


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
       st.integers(0, 10**8), st.sampled_from(["daily", "weekly", "monthly"]))
def test_the_interval_holds_the_moment_and_the_next_one_does_not(start, seconds, frequency):
    start, at = start.replace(tzinfo=UTC), start.replace(tzinfo=UTC) + timedelta(
        seconds=seconds)
    begin = interval_start(start, frequency, at)
    assert start <= begin <= at
    assert interval_start(start, frequency, begin) == begin  # a start is its own interval
    later = at + timedelta(days=32 if frequency == "monthly" else 8)
    assert interval_start(start, frequency, later) > begin


def test_allocation_draws_on_packages_in_order_and_never_past_their_allowance():
    a = allowance(1, 9, "UK", d(2025, 1, 1), None, "daily", 1, 1, "^44")  # 60 s
    b = allowance(2, 9, "All", d(2025, 1, 1), None, "daily", 2, 1, ".")  # 120 s
    t = d(2025, 1, 5, 10)
    calls = [Call(0, 9, t + timedelta(seconds=2), "4470", 100),
             Call(1, 9, t, "3361", 90),
             Call(2, 9, t + timedelta(seconds=3), "4470", 0)]  # nothing billed
    wanted = candidates(calls, {9: [a, b]})
    assert [(c.index, keys) for c, keys in wanted] == [
        (1, [(2, d(2025, 1, 5))]), (0, [(1, d(2025, 1, 5)), (2, d(2025, 1, 5))])]
    used = {(2, d(2025, 1, 5)): 10}
    assert allocate(wanted, {1: 60, 2: 120}, used) == {1: 90, 0: 80}
    assert used == {(2, d(2025, 1, 5)): 120, (1, d(2025, 1, 5)): 60}


def test_a_bad_or_empty_regex_covers_nothing():
    for regex in ("", "(", "(a|aa)+$" * 100):
        assert not allowance(1, 9, "x", d(2025, 1, 1), None, "daily", 5, 1, regex).covers("44")


@pytest.mark.parametrize(("billed", "free", "want"), [
    (60, 60, "0"), (60, 100, "0"), (60, 0, "0.0600"), (61, 1, "0.0600"), (61, 60, "0.0010"),
])
def test_the_rest_is_charged_at_the_rate_with_the_connect_fee_unless_all_was_free(
        billed, free, want):
    assert charge_after_free(billed, free, Decimal("0.06"), Decimal(0), 4, "up") \
        == Decimal(want)
    if billed > free:
        assert charge_after_free(billed, free, Decimal("0.06"), Decimal("0.01"), 4, "up") \
            == Decimal(want) + Decimal("0.01")
    else:
        assert charge_after_free(billed, free, Decimal("0.06"), Decimal("0.01"), 4, "up") == 0


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 4000), st.booleans()),
                max_size=40),
       st.lists(st.integers(0, 30), min_size=2, max_size=2), st.integers(0, 900))
def test_allocation_never_gives_past_the_allowance_nor_leaves_one_unused(calls, minutes,
                                                                           used_before):
    """Over random calls (start offset in hours, billed seconds, UK or not) and two
    packages: per (package, interval) at most its allowance is used; a call pays for
    seconds only when every interval it could draw on is used up."""
    t0 = d(2025, 1, 1)
    packages = [allowance(1, 9, "UK", t0, None, "daily", minutes[0], 1, "^44"),
                allowance(2, 9, "All", t0, None, "weekly", minutes[1], 1, "^[0-9]")]
    batch = [Call(i, 9, t0 + timedelta(hours=h), "4470" if uk else "3361", billed)
             for i, (h, billed, uk) in enumerate(calls)]
    wanted = candidates(batch, {9: packages})
    used = {(2, t0): min(used_before, packages[1].seconds)}
    start = dict(used)
    free = allocate(wanted, {1: packages[0].seconds, 2: packages[1].seconds}, used)
    limits = {1: packages[0].seconds, 2: packages[1].seconds}
    assert all(0 <= v <= limits[k[0]] for k, v in used.items())
    given_away = sum(used.values()) - sum(start.values())
    assert given_away == sum(free.values())
    for call, keys in wanted:
        got = free.get(call.index, 0)
        assert 0 <= got <= call.billed_s
        if got < call.billed_s:  # paid for some: nothing it could use was left, then or now
            assert all(used.get(k, 0) == limits[k[0]] for k in keys)
