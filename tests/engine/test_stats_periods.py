"""KPIs of docs/domain.md §9 from rollup sums, and the UTC periods the Stats tab moves
through with < > t and p."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from connex_tui.engine.stats import (
    Summary,
    Sums,
    channels_from_minute,
    kpi_cells,
    next_kind,
    period,
    shift,
    summary_json,
)

NOW = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)  # a Wednesday


def test_every_kpi_from_sums():
    sums = Sums(attempts=12, connected=7, duration_ms=1_000_500, billed_s=1_020,
                pdd_sum_ms=25_000, pdd_count=9, charge=Decimal("3.2500"),
                cost=Decimal("2.6000"), peak_cps=4)
    # NER: 7 connected + 2 busy (486, 600) + 1 no answer (487) + 1 refused (603); 503 not
    codes = {200: 7, 486: 1, 600: 1, 487: 1, 603: 1, 503: 1}
    s = Summary(sums, codes, seconds=3600, channels_peak=5, channels_now=2)
    assert summary_json(s) == {
        "attempts": 12, "connected": 7,
        "asr": 58.33,  # 7 / 12
        "acd": 142.929,  # 1,000.5 s / 7
        "pdd_ms": 2778,  # 25,000 / 9
        "ner": 91.67,  # 11 / 12
        "cps_peak": 4, "cps_mean": 0.003,  # 12 / 3600
        "channels_peak": 5, "charge": "3.25", "cost": "2.6", "profit": "0.65",
        "profit_percent": 20.0,  # 0.65 / 3.25: the margin on the charge
        "duration_s": 1000.5, "billed_s": 1020,
        "codes": {"200": 7, "486": 1, "487": 1, "503": 1, "600": 1, "603": 1}}
    cells = dict(kpi_cells(s, "EUR"))
    assert cells["ASR"] == "58.3%" and cells["ACD"] == "2:23" and cells["PDD"] == "2.8s"
    assert cells["Channels"] == "2 now · 5 peak" and cells["Profit"] == "0.65 EUR"
    assert cells["Duration"] == "16:41" and cells["Billed"] == "17:00"


def test_a_loss_has_a_negative_margin_and_no_charge_has_none():
    s = Summary(Sums(attempts=1, charge=Decimal("1.5"), cost=Decimal("2")), {}, 1)
    assert (s.profit, s.profit_percent) == (Decimal("-0.5"), -33.33)
    free = Summary(Sums(attempts=1, cost=Decimal("0.2")), {}, 1)
    assert (free.profit, free.profit_percent) == (Decimal("-0.2"), None)


def test_sums_add_and_keep_the_larger_peak():
    a = Sums(1, 1, 10, 1, 5, 1, Decimal("0.1"), Decimal("0.05"), 3)
    b = Sums(2, 0, 0, 0, 0, 0, Decimal("0.2"), Decimal(0), 1)
    assert a + b == Sums(3, 1, 10, 1, 5, 1, Decimal("0.3"), Decimal("0.05"), 3)


@pytest.mark.parametrize(("channel_ms", "channels"), [
    (0, 0), (1, 1), (60_000, 1), (60_001, 2), (7_200_000, 120)])
def test_channels_from_a_minute_of_channel_time(channel_ms, channels):
    assert channels_from_minute(channel_ms) == channels


def test_periods_in_utc():
    live = period("live", NOW)
    assert (live.start, live.end) == (datetime(2026, 11, 24, 12, 0, tzinfo=UTC), NOW)
    assert live.seconds(NOW) == 86_430
    assert [b.hour for b in live.buckets()][:2] == [12, 13] and len(live.buckets()) == 25
    day = period("day", NOW)
    assert (day.start, day.end, day.label) == (
        datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC),
        "Day 2026-11-25")
    assert day.seconds(NOW) == 12 * 3600 + 30 and len(day.buckets()) == 24
    week = period("week", NOW)
    assert (week.start.date(), week.end.date()) == (date(2026, 11, 23), date(2026, 11, 30))
    assert week.label == "Week 48, 2026-11-23 to 11-29" and len(week.buckets()) == 7
    month = period("month", NOW, date(2024, 2, 10))
    assert (month.start.date(), month.end.date()) == (date(2024, 2, 1), date(2024, 3, 1))
    assert len(month.buckets()) == 29 and month.seconds(NOW) == 29 * 86_400
    dec = period("month", NOW, date(2025, 12, 31))
    assert dec.end.date() == date(2026, 1, 1)
    # a time in another zone is the same instant: the day is the UTC one
    plus5 = datetime(2026, 11, 26, 3, 0, tzinfo=timezone(timedelta(hours=5)))  # 22:00 UTC
    assert period("day", plus5).start == datetime(2026, 11, 25, tzinfo=UTC)
    with pytest.raises(ValueError, match="unknown period"):
        period("year", NOW)


def test_moving_between_periods():
    day = period("day", NOW)
    assert shift(day, -1, NOW).start.date() == date(2026, 11, 24)
    assert shift(day, 1, NOW) is None  # tomorrow has not begun
    assert shift(shift(day, -1, NOW), 1, NOW) == day
    week = period("week", NOW)
    assert shift(week, -1, NOW).start.date() == date(2026, 11, 16)
    month = period("month", NOW, date(2026, 1, 31))
    assert shift(month, -1, NOW).label == "Month 2025-12"
    assert shift(month, 1, NOW).label == "Month 2026-02"
    assert shift(period("month", NOW), 1, NOW) is None
    assert shift(period("live", NOW), -1, NOW) is None
    assert [next_kind(k) for k in ("live", "day", "week", "month")] == [
        "day", "week", "month", "live"]
