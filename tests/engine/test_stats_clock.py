"""KPIs of docs/domain.md §9 and the relative 'Last call' column of §1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connex_tui.engine.clock import relative, utcnow
from connex_tui.engine.stats import Kpi, fmt_kpi_row, fmt_ms, fmt_mss, fmt_pct

# -- KPIs -------------------------------------------------------------------------------


def test_kpi_from_rollup_sums():
    k = Kpi(attempts=8, connected=2, duration_ms=150_000, pdd_sum_ms=9_000, pdd_count=3,
            peak_cps=4)
    assert k.asr == 25.0
    assert k.acd_seconds == 75.0
    assert k.pdd_ms == 3000.0
    assert fmt_kpi_row(k) == ("25.0%", "1:15", "3.0s", "4")


def test_kpi_without_attempts_shows_dashes():
    k = Kpi()
    assert (k.asr, k.acd_seconds, k.pdd_ms) == (None, None, None)
    assert fmt_kpi_row(k) == ("-", "-", "-", "-")


def test_kpi_with_attempts_but_no_answers():
    k = Kpi(attempts=5, connected=0, peak_cps=2)
    assert k.asr == 0.0
    assert fmt_kpi_row(k) == ("0.0%", "-", "-", "2")


def test_pdd_counts_only_attempts_that_rang():
    k = Kpi(attempts=10, connected=1, duration_ms=1000, pdd_sum_ms=2500, pdd_count=1)
    assert k.pdd_ms == 2500  # not 250: the other 9 attempts never rang


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0, "0:00"), (5.4, "0:05"), (59.6, "1:00"), (75, "1:15"), (3600, "60:00"),
])
def test_fmt_mss(seconds, text):
    assert fmt_mss(seconds) == text


def test_fmt_pct_and_ms():
    assert fmt_pct(None) == "-"
    assert fmt_pct(100) == "100.0%"
    assert fmt_pct(33.333) == "33.3%"
    assert fmt_ms(None) == "-"
    assert fmt_ms(1234) == "1.2s"


# -- clock ------------------------------------------------------------------------------
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def test_utcnow_is_aware_utc():
    now = utcnow()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(("ago", "text"), [
    (timedelta(0), "just now"),
    (timedelta(seconds=-30), "just now"),  # a clock a little ahead on the switch
    (timedelta(seconds=42), "42 s ago"),
    (timedelta(minutes=3), "3 min ago"),
    (timedelta(minutes=3, seconds=59), "3 min ago"),
    (timedelta(minutes=59), "59 min ago"),
    (timedelta(hours=2), "2 h ago"),
    (timedelta(days=1), "1 day ago"),
    (timedelta(days=30), "30 days ago"),
    (timedelta(days=31), "1 month ago"),
    (timedelta(days=8 * 30 + 3), "8 months ago"),
    (timedelta(days=359), "11 months ago"),
    (timedelta(days=362), "1 year ago"),
    (timedelta(days=365), "1 year ago"),
    (timedelta(days=3 * 365 + 10), "3 years ago"),
])
def test_relative(ago, text):
    assert relative(NOW - ago, NOW) == text


def test_relative_never_called():
    assert relative(None, NOW) == "-"


def test_relative_never_says_zero_of_a_large_unit():
    for days in range(0, 800):
        text = relative(NOW - timedelta(days=days, hours=1), NOW)
        assert not text.startswith("0 "), (days, text)
