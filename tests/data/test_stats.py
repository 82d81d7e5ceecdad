"""StatsService (docs/domain.md §9): every period's figures from CDRs written by the CDR
writer, read from the rollups only (the CDRs are deleted before reading), on SQLite and
PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from connex_tui.data.access import Actor
from connex_tui.data.stats import StatsService
from connex_tui.engine.stats import shift, summary_json
from tests.data.test_cdr_writer import cdr, write

TODAY = datetime(2025, 3, 14, tzinfo=UTC)  # the clock says 2025-03-14 12:30 (a Friday)


def history(cid: int) -> list:
    t = TODAY + timedelta(hours=10, minutes=15, seconds=7)
    uk = {"prefix": "44", "destination": "United Kingdom"}
    fr = {"prefix": "33", "destination": "France"}
    return [replace(c, **where) for c, where in [
        # today: 6 attempts, 3 connected, one busy second (3 calls) at 10:15:07
        (cdr(cid, t, duration_ms=9100, billed_s=10, pdd_ms=1200, charge="0.0009",
             cost="0.0005"), uk),
        (cdr(cid, t + timedelta(milliseconds=300), duration_ms=61_000, billed_s=66,
             pdd_ms=800, charge="0.0055", cost="0.004"), uk),
        (cdr(cid, t + timedelta(milliseconds=900), answered=False, code=486, pdd_ms=500), uk),
        (cdr(cid, t + timedelta(seconds=20), answered=False, code=404), fr),
        (cdr(cid, TODAY + timedelta(hours=11), duration_ms=1000, billed_s=60, charge="0.01",
             cost="0.002"), fr),
        (cdr(cid, TODAY + timedelta(hours=11, minutes=30), answered=False, code=503), fr),
        # yesterday: 12:45 is inside Live (the 24 h from 12:30), 11:00 is not
        (cdr(cid, TODAY - timedelta(hours=11, minutes=15), duration_ms=30_000, billed_s=30,
             pdd_ms=2000, charge="0.1", cost="0.05"), uk),
        (cdr(cid, TODAY - timedelta(hours=13), answered=False, code=487), uk),
        # Monday of this week, and the last day of last month
        (cdr(cid, TODAY - timedelta(days=4), answered=False, code=603), uk),
        (cdr(cid, datetime(2025, 2, 28, 23, 59, tzinfo=UTC), duration_ms=5000, billed_s=6,
             charge="1.5", cost="2"), uk),
    ]]


async def test_every_period_from_rollups_only(admin, db, clock):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    other = await admin.create({"name": "Other", "currency": "USD"})
    await write(db, history(cid) + [cdr(other, TODAY + timedelta(hours=10))])
    async with db.sessions() as s, s.begin():  # the service must not need them
        await s.execute(text("DELETE FROM cdrs"))
    svc = StatsService(db, Actor("viewer", "viewer"), clock)
    assert await svc.find_customer("ACME") == (cid, "Acme", "USD")

    day = await svc.view(cid, svc.period("day"))
    assert summary_json(day.summary) == {
        "attempts": 6, "connected": 3, "asr": 50.0, "acd": 23.7, "pdd_ms": 833,
        "ner": 83.33,  # (3 connected + 486 + 404) / 6
        "cps_peak": 3, "cps_mean": 0.0,  # 6 calls in the 45,000 s since midnight
        "channels_peak": 2,  # minute 10:15: 70.1 s answered + 2.5 s PDD over 60 s
        "charge": "0.0164", "cost": "0.0065", "profit": "0.0099",
        "profit_percent": 60.37,  # 0.0099 / 0.0164
        "duration_s": 71.1, "billed_s": 136,
        "codes": {"200": 3, "404": 1, "486": 1, "503": 1}}
    assert day.summary.seconds == 12 * 3600 + 30 * 60 and day.currency == "USD"
    assert len(day.series) == 24
    assert [(p.at.hour, p.attempts, p.connected) for p in day.series if p.attempts] == [
        (10, 4, 2), (11, 2, 1)]
    assert [(d.prefix, d.destination, d.attempts, d.connected, d.duration_ms, d.charge)
            for d in day.top] == [
        ("33", "France", 3, 1, 1000, Decimal("0.01")),
        ("44", "United Kingdom", 3, 2, 70_100, Decimal("0.0064"))]

    live = await svc.summary(cid, svc.period("live"))  # today + yesterday 12:45 (minute rows)
    assert (live.attempts, live.connected, live.charge) == (7, 4, Decimal("0.1164"))
    assert live.codes == {200: 4, 486: 1, 404: 1, 503: 1}
    assert live.pdd_ms == round(4500 / 4)

    yesterday = shift(svc.period("day"), -1, clock())
    assert yesterday.start == TODAY - timedelta(days=1)
    past = await svc.summary(cid, yesterday)
    assert (past.attempts, past.connected, past.ner, past.cps_mean) == (2, 1, 100.0, 0.0)
    assert past.seconds == 86_400

    week = await svc.view(cid, svc.period("week"))
    assert week.period.start == TODAY - timedelta(days=4)
    assert [(p.at.day, p.attempts) for p in week.series] == [
        (10, 1), (11, 0), (12, 0), (13, 2), (14, 6), (15, 0), (16, 0)]
    assert (week.summary.attempts, week.summary.connected) == (9, 4)
    assert [d.prefix for d in week.top] == ["44", "33"]

    month = await svc.view(cid, svc.period("month"))
    assert (month.summary.attempts, len(month.series)) == (9, 31)
    february = await svc.summary(cid, shift(month.period, -1, clock()))
    assert (february.attempts, february.profit, february.profit_percent) == (
        1, Decimal("-0.5"), -33.33)
    assert shift(month.period, 1, clock()) is None  # April has not begun

    grid = await svc.summaries(cid)
    assert [(label, s.attempts) for label, s in grid] == [
        ("Live 24h", 7), ("Today", 6), ("Month", 9)]


async def test_a_customer_without_traffic_has_empty_figures(admin, db, clock):
    cid = await admin.create({"name": "Quiet", "currency": "EUR"})
    svc = StatsService(db, Actor("op", "operator"), clock)
    view = await svc.view(cid, svc.period("month", date(2025, 1, 9)))
    assert summary_json(view.summary) == {
        "attempts": 0, "connected": 0, "asr": None, "acd": None, "pdd_ms": None, "ner": None,
        "cps_peak": 0, "cps_mean": 0.0, "channels_peak": 0, "charge": "0", "cost": "0",
        "profit": "0", "profit_percent": None, "duration_s": 0.0, "billed_s": 0, "codes": {}}
    assert view.top == [] and all(p.attempts == 0 for p in view.series)
