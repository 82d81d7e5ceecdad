"""Stats tab speed (issue 8 §6): every period's full query set on rollups equivalent to
10,000,000 CDRs of one busy customer over ~2 months. Target: <= 150 ms per period.

The rollup rows are inserted directly and in bulk (not through the CDR writer, which would
take an hour for 10 M CDRs): per minute and per hour (`stats_rollups`), per SIP code per
minute and per hour (`stats_codes`), per prefix per hour and per day (`stats_prefixes`),
as many rows of each as the writer leaves for that traffic, plus 20 quieter customers so
that the busy one's rows are not the whole table. Built once into bench/.cache/ (SQLite)
and reused; --pg URL builds and times a PostgreSQL database as well.

Each figure is the median of --runs of StatsService.view() (what the tab awaits for one
period: summary, chart points, SIP codes, top destinations, live channels), printed beside
the target and beside a reference run in the same process: a bare indexed
`SELECT count(*)` over the same month of minute rows, through the same driver.

    .venv/bin/python bench/stats.py [--runs N] [--rebuild] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from connex_tui.data import bulk  # noqa: E402
from connex_tui.data.access import Actor  # noqa: E402
from connex_tui.data.customers import CustomerService  # noqa: E402
from connex_tui.data.db import Database, upgrade  # noqa: E402
from connex_tui.data.models import StatsCode, StatsPrefix, StatsRollup  # noqa: E402
from connex_tui.data.stats import StatsService  # noqa: E402
from connex_tui.engine.stats import period, shift  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAYS = 61
CDRS = 10_000_000
TARGET_MS = 150.0
CODES = ((200, 0.52), (487, 0.12), (486, 0.11), (480, 0.08), (503, 0.05), (408, 0.04),
         (404, 0.03), (603, 0.02), (484, 0.015), (403, 0.015))
PREFIXES = 300
OTHERS = 20


def _hour_weight(hour: int) -> float:
    """Traffic over a UTC day: quiet at night, busy in office hours."""
    return 0.2 + (1.0 if 7 <= hour <= 19 else 0.0) + (0.4 if 9 <= hour <= 16 else 0.0)


async def _bulk(db: Database, table, rows: list[dict]) -> None:
    async with db.sessions() as s, s.begin():
        for i in range(0, len(rows), 50_000):
            await bulk.executemany(s, insert(table), table, rows[i:i + 50_000])


async def build(db: Database, cdrs: int) -> int:
    """Rollups of `cdrs` calls of one busy customer over DAYS days up to NOW; its id."""
    await upgrade(db)
    customers = CustomerService(db, Actor("bench", "admin"), lambda: NOW)
    busy = await customers.create({"name": "Busy Carrier", "currency": "USD"})
    others = [await customers.create({"name": f"Quiet {i:02d}", "currency": "USD"})
              for i in range(OTHERS)]
    rng = random.Random(8)
    start = (NOW - timedelta(days=DAYS)).replace(hour=0, minute=0)
    minutes = int((NOW - start).total_seconds() // 60)
    weights = [_hour_weight((start + timedelta(minutes=m)).hour) for m in range(minutes)]
    per_weight = cdrs / sum(weights)
    t0 = time.monotonic()
    for cid, scale in [(busy, 1.0)] + [(o, 0.01) for o in others]:
        m_rows, m_codes, hours, h_codes, p_hours, p_days = [], [], {}, {}, {}, {}
        for m in range(minutes):
            at = start + timedelta(minutes=m)
            n = max(0, round(weights[m] * per_weight * scale * rng.uniform(0.7, 1.3)))
            if not n:
                continue
            connected = round(n * rng.uniform(0.45, 0.6))
            row = {"attempts": n, "connected": connected,
                   "duration_ms": connected * rng.randint(60_000, 180_000),
                   "billed_s": connected * 130, "pdd_sum_ms": n * 3500, "pdd_count": n,
                   "charge": Decimal(connected) * Decimal("0.0123"),
                   "cost": Decimal(connected) * Decimal("0.0091"),
                   "peak_cps": max(1, n // 30)}
            m_rows.append({"customer_id": cid, "grain": "m", "bucket": at, **row})
            hour = at.replace(minute=0)
            h = hours.setdefault(hour, {k: 0 for k in row})
            for k, v in row.items():
                h[k] = max(h[k], v) if k == "peak_cps" else h[k] + v
            left = n
            for code, share in CODES:
                k = left if code == CODES[-1][0] else min(left, round(n * share))
                left -= k
                if k:
                    m_codes.append({"customer_id": cid, "grain": "m", "bucket": at,
                                    "sip_code": code, "count": k})
                    h_codes[(hour, code)] = h_codes.get((hour, code), 0) + k
            for _ in range(min(n, 8)):  # a few prefixes a minute, a long tail over the day
                prefix = str(1000 + int(rng.paretovariate(1.2) * 7) % PREFIXES)
                for table, key in ((p_hours, hour), (p_days, hour.replace(hour=0))):
                    p = table.setdefault((key, prefix), [0, 0, 0, 0, Decimal(0), Decimal(0)])
                    share = n // 8 or 1
                    p[0] += share
                    p[1] += share // 2
                    p[2] += share // 2 * 120_000
                    p[3] += share // 2 * 130
                    p[4] += Decimal(share // 2) * Decimal("0.0123")
                    p[5] += Decimal(share // 2) * Decimal("0.0091")
        h_rows = [{"customer_id": cid, "grain": "h", "bucket": b, **v}
                  for b, v in hours.items()]
        c_rows = m_codes + [{"customer_id": cid, "grain": "h", "bucket": b, "sip_code": c,
                             "count": n} for (b, c), n in h_codes.items()]
        x_rows = [{"customer_id": cid, "grain": g, "bucket": b, "prefix": prefix,
                   "destination": f"Destination {prefix}", "attempts": v[0],
                   "connected": v[1], "duration_ms": v[2], "billed_s": v[3],
                   "charge": v[4], "cost": v[5]}
                  for g, table in (("h", p_hours), ("d", p_days))
                  for (b, prefix), v in table.items()]
        await _bulk(db, StatsRollup.__table__, m_rows + h_rows)
        await _bulk(db, StatsCode.__table__, c_rows)
        await _bulk(db, StatsPrefix.__table__, x_rows)
        if cid == busy:
            print(f"  busy customer: {sum(r['attempts'] for r in m_rows):,} attempts in "
                  f"{len(m_rows):,} minute + {len(h_rows):,} hour rows, {len(c_rows):,} "
                  f"code rows, {len(x_rows):,} prefix rows")
    print(f"  built in {time.monotonic() - t0:.0f} s")
    return busy


async def median_ms(fn, runs: int) -> float:
    await fn()  # warm: statement caches, pages
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def measure(db: Database, busy: int, runs: int, label: str) -> bool:
    if db.dialect == "postgresql":  # as autovacuum leaves it: index-only scans work
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    svc = StatsService(db, Actor("bench", "viewer"), lambda: NOW)
    month = period("month", NOW)
    lo, hi = month.start, month.end

    async def reference():
        async with db.sessions() as s:
            await s.scalar(text(
                "SELECT count(*) FROM stats_rollups WHERE customer_id = :c AND grain = 'm' "
                "AND bucket >= :lo AND bucket < :hi"), {"c": busy, "lo": _bind(db, lo),
                                                        "hi": _bind(db, hi)})

    ref = await median_ms(reference, runs)
    print(f"{label}: reference (bare indexed count over a month of minute rows) "
          f"{ref:.1f} ms")
    ok = True
    periods = [("live", period("live", NOW)), ("day", period("day", NOW)),
               ("week", period("week", NOW)), ("month", month),
               ("last month", shift(month, -1, NOW))]
    for name, p in periods:
        ms = await median_ms(lambda p=p: svc.view(busy, p), runs)
        ok &= ms <= TARGET_MS
        print(f"  Stats tab, {name:<10} {ms:7.1f} ms   target <= {TARGET_MS:.0f} ms "
              f"{'ok ' if ms <= TARGET_MS else 'MISS'}  ({ms / ref:.1f}x the reference)")
    ms = await median_ms(lambda: svc.summaries(busy), runs)
    print(f"  Main tab grid (Live, Today, Month) {ms:.1f} ms ({ms / ref:.1f}x the reference)")
    view = await svc.view(busy, month)
    print(f"  (month: {view.summary.attempts:,} attempts, {len(view.summary.codes)} codes, "
          f"{len(view.top)} top destinations, channels peak {view.summary.channels_peak})")
    return ok


def _bind(db: Database, at: datetime):
    """A time as the rollup tables store it (bulk's own conversion)."""
    return bulk._sqlite_time(at) if db.dialect == "sqlite" else at.replace(tzinfo=None)


async def run(url: str, runs: int, rebuild: bool, label: str, fresh: bool) -> bool:
    db = Database(url)
    try:
        if fresh:
            async with db.engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        async with db.sessions() as s:
            try:
                busy = await s.scalar(text(
                    "SELECT id FROM customers WHERE name_key = 'busy carrier'"))
            except Exception:  # no schema yet
                busy = None
        if busy is None:
            print(f"{label}: building rollups for {CDRS:,} CDRs over {DAYS} days (once)")
            busy = await build(db, CDRS)
        return await measure(db, busy, runs, label)
    finally:
        await db.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--pg", help="also a PostgreSQL database (its schema is dropped)")
    args = ap.parse_args()
    path = CACHE / "stats.db"
    if args.rebuild:
        for p in CACHE.glob("stats.db*"):
            p.unlink()
    CACHE.mkdir(parents=True, exist_ok=True)
    ok = asyncio.run(run(f"sqlite+aiosqlite:///{path}", args.runs, args.rebuild, "SQLite",
                         False))
    if args.pg:
        ok &= asyncio.run(run(args.pg, args.runs, True, "PostgreSQL", args.rebuild))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
