"""`connex-tui jobs run` over 100,000 customers with packages, end to end (the command
in-process, its output to /dev/null), against the 60 s target and against a floor from
the same run: a bare insert of as many ledger rows as the run charged, one transaction
per 2,000 (sqlite3 executemany / asyncpg copy_records_to_table). Then a rerun, which must
charge nothing, and the peak memory of the process.

The timed run is the daily one on the 1st of the month (a Tuesday): yesterday's run has
charged everything before, so every customer has about one interval due. Yesterday's run
is timed too: the first run over these assignments, it catches up to 35 days each.

    .venv/bin/python bench/jobs_run.py [--customers N] [--pg URL]

The customers' packages: 85% monthly on the 1st, 10% weekly on Tuesdays, 4% daily, 1%
minimum spend (monthly, with an hour of calls in the rollups); they started 2 to 400 days
before the run.
PostgreSQL runs when `--pg URL` or CONNEX_TEST_PG_URL is given: that database's public
schema is DROPPED and migrated afresh (give it a test database).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, insert, select, text

from connex_tui.cli import main as cli
from connex_tui.data.db import Database, upgrade
from connex_tui.data.models import (
    Customer,
    CustomerPackage,
    LedgerEntry,
    Package,
    PackageRun,
    StatsRollup,
)

TARGET_S = 60.0
AT = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # a Tuesday
YESTERDAY = AT - timedelta(days=1)
PACKAGES = [  # name, frequency, match days, retail, setup, minimum spend
    ("Monthly fee", "monthly", "1", "25", "50", "0"),
    ("Weekly fee", "weekly", "tue", "7", "0", "0"),
    ("Daily fee", "daily", "", "1.5", "0", "0"),
    ("Minimum spend", "monthly", "1", "500", "0", "500"),
]
CHUNK = 5_000


async def fresh(url: str) -> Database:
    db = Database(url)
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(db)
    return db


async def seed(db: Database, n: int, seed_: int) -> None:
    """n customers, one package each, in a few bulk inserts."""
    rng = random.Random(seed_)
    long_ago = AT - timedelta(days=400)
    stamp = {"version": 1, "created_at": long_ago, "updated_at": long_ago}
    async with db.sessions() as s, s.begin():
        pids = [await s.scalar(insert(Package).values(
            name=name, kind="recurring", currency="USD", retail=Decimal(r),
            setup_retail=Decimal(su), frequency=f, match_days=d, minimum_spend=Decimal(m),
            **stamp).returning(Package.id)) for name, f, d, r, su, m in PACKAGES]
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        async with db.sessions() as s, s.begin():
            await s.execute(insert(Customer), [
                {"name": f"Customer {i:06d}", "name_key": f"customer {i:06d}",
                 "currency": "USD", "status": "active", "search_text": f"customer {i:06d}",
                 **stamp} for i in range(lo, hi)])
            ids = list(await s.scalars(select(Customer.id).where(
                Customer.name_key >= f"customer {lo:06d}",
                Customer.name_key <= f"customer {hi - 1:06d}").order_by(Customer.id)))
            rows, hours = [], []
            for cid in ids:
                x = rng.random()
                k = 0 if x < 0.85 else 1 if x < 0.95 else 2 if x < 0.99 else 3
                start = (AT - timedelta(days=rng.randint(2, 400))).replace(hour=0)
                rows.append({"customer_id": cid, "package_id": pids[k], "quantity":
                             rng.choice((1, 1, 1, 2)), "start": start, "end": None,
                             "auto_decrement": rng.random() < 0.95, **stamp})
                if k == 3:
                    hours.append({"customer_id": cid, "grain": "h",
                                  "bucket": datetime(2026, 11, 20, 10, tzinfo=UTC),
                                  "charge": Decimal(rng.randrange(0, 80_000)) / 100})
            await s.execute(insert(CustomerPackage), rows)
            if hours:
                await s.execute(insert(StatsRollup), hours)


async def counts(db: Database) -> tuple[int, int]:
    async with db.sessions() as s:
        return (int(await s.scalar(select(func.count()).select_from(PackageRun))),
                int(await s.scalar(select(func.count()).select_from(LedgerEntry))))


def run_command(url: str, at: datetime = AT) -> tuple[float, float, str]:
    """Wall and CPU seconds (this process, all threads: SQLite's work too) of the
    command, and its last line."""
    out = io.StringIO()
    t0, c0 = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        rc = cli(["jobs", "run", "--at", at.isoformat(), "--database-url", url])
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    if rc != 0:
        raise SystemExit(f"jobs run exited {rc}")
    return took, cpu, out.getvalue().strip().splitlines()[-1]


def floor_rows(n: int) -> list[tuple]:
    return [(1 + i % 1000, "adjust", -25_000_000, f"floor:{i}", "floor", AT.replace(
        tzinfo=None)) for i in range(n)]


def floor_sqlite(path: Path, n: int) -> float:
    rows = [(c, k, a, r, no, t.isoformat(" ", "microseconds"))
            for c, k, a, r, no, t in floor_rows(n)]
    con = sqlite3.connect(path, isolation_level=None)
    sql = "INSERT INTO ledger (customer_id, kind, amount, ref, note, at) VALUES (?,?,?,?,?,?)"
    t0 = time.perf_counter()
    for i in range(0, n, 2000):
        con.execute("BEGIN")
        con.executemany(sql, rows[i:i + 2000])
        con.execute("COMMIT")
    took = time.perf_counter() - t0
    con.execute("DELETE FROM ledger WHERE kind = 'adjust'")
    con.close()
    return took


async def floor_pg(url: str, n: int) -> float:
    import asyncpg

    rows = floor_rows(n)
    con = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        t0 = time.perf_counter()
        for i in range(0, n, 2000):
            async with con.transaction():
                await con.copy_records_to_table(
                    "ledger", records=rows[i:i + 2000],
                    columns=("customer_id", "kind", "amount", "ref", "note", "at"))
        took = time.perf_counter() - t0
        await con.execute("DELETE FROM ledger WHERE kind = 'adjust'")
        return took
    finally:
        await con.close()


def report(name: str, n: int, url: str, floor) -> None:
    async def prepare():
        db = await fresh(url)
        t0 = time.perf_counter()
        await seed(db, n, 11)
        took = time.perf_counter() - t0
        await db.dispose()
        return took

    async def after():
        db = Database(url)
        try:
            return await counts(db)
        finally:
            await db.dispose()

    seeded = asyncio.run(prepare())
    first, _, first_last = run_command(url, YESTERDAY)
    before = asyncio.run(after())
    took, cpu, last = run_command(url)

    runs, ledger = (a - b for a, b in zip(asyncio.run(after()), before, strict=True))
    again, _, again_last = run_command(url)
    runs2, ledger2 = (a - b for a, b in zip(asyncio.run(after()), before, strict=True))
    base = floor(ledger)
    verdict = "ok" if took <= TARGET_S else "MISSED"
    print(f"{name}: {n:,} customers seeded in {seeded:.1f} s")
    print(f"  yesterday's run {first:7.1f} s   the first one: catches up 35 days ({first_last})")
    print(f"  jobs run        {took:7.1f} s   target <= {TARGET_S:.0f} s   {verdict}   "
          f"({runs:,} intervals, {ledger:,} ledger rows; {last})")
    print(f"  its CPU time    {cpu:7.1f} s   (this process; the machine is shared)")
    print(f"  floor           {base:7.1f} s   bare insert of {ledger:,} ledger rows "
          f"({took / base:.1f}x)")
    print(f"  rerun           {again:7.1f} s   {again_last}"
          + ("" if (runs2, ledger2) == (runs, ledger) else "   DOUBLE CHARGED"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--pg", default="", help="a PostgreSQL URL whose schema may be wiped")
    args = ap.parse_args()
    if args.customers < 1:
        ap.error("--customers must be positive")
    tmp = Path(tempfile.mkdtemp(prefix="jobs-run-bench-"))
    path = tmp / "jobs.db"
    report("SQLite", args.customers, f"sqlite+aiosqlite:///{path}",
           lambda n: floor_sqlite(path, n))
    pg = args.pg or os.environ.get("CONNEX_TEST_PG_URL", "").strip()
    if pg:
        report("PostgreSQL", args.customers, pg, lambda n: asyncio.run(floor_pg(pg, n)))
    else:
        print("PostgreSQL: skipped (give --pg URL or CONNEX_TEST_PG_URL)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory of the process: {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
