"""DIDs at 100,000 numbers: the DIDs screen's page reads and the rent job.

A fresh SQLite database (or PostgreSQL with --pg URL, a database it may wipe) gets 2,000
customers and N DIDs (default 100,000; a third unassigned). Timed, each the median of a
few runs: the first page (100 rows, number order), a page deep in the keyset (after the
middle number), a digits search ("4420" anywhere in the number, and "+4420" at its
start), a name search, the
unassigned first page; then `due_rent` and `charge_rent` of a month (every assigned DID)
and a second `charge_rent` (nothing left to charge). Targets: a page < 50 ms (the screen
reads one per keystroke of the search), the rent job < 30 s for 100,000 DIDs.

    .venv/bin/python bench/dids.py [--dids N] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from connex_tui.data.access import Actor  # noqa: E402
from connex_tui.data.db import Database, upgrade  # noqa: E402
from connex_tui.data.did_rent import charge_rent, due_rent  # noqa: E402
from connex_tui.data.dids import DidsService  # noqa: E402
from connex_tui.data.models import Customer, Did  # noqa: E402

NOW = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
CUSTOMERS = 2000


async def fill(db: Database, n: int) -> None:
    async with db.sessions() as s, s.begin():
        await s.execute(insert(Customer), [
            {"id": i, "name": f"Customer {i:05d}", "name_key": f"customer {i:05d}",
             "currency": "USD", "balance": Decimal(0), "version": 1, "created_at": NOW,
             "updated_at": NOW} for i in range(1, CUSTOMERS + 1)])
        rows = []
        for i in range(n):
            cc = ("44", "1", "49", "33")[i % 4]
            number = f"{cc}{20_0000_0000 + i * 7919 % 9_0000_0000:010d}"
            rows.append({"number": number, "destination": f"sip:{number}@192.0.2.1",
                         "destination2": "", "destination3": "",
                         "customer_id": None if i % 3 == 0 else 1 + i % CUSTOMERS,
                         "monthly_cost": Decimal("1.10"), "monthly_retail": Decimal("2.50"),
                         "max_duration": 7200, "enabled": True, "version": 1,
                         "created_at": NOW, "updated_at": NOW})
        for i in range(0, n, 5000):
            await s.execute(insert(Did), rows[i:i + 5000])
        if db.dialect == "postgresql":
            await s.execute(text("SELECT setval(pg_get_serial_sequence('customers', 'id'), "
                                 f"{CUSTOMERS})"))
    if db.dialect == "postgresql":  # committed: a rolled-back ANALYZE leaves no stats
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


async def timed(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


async def main(n: int, pg: str | None) -> None:
    if pg:
        db = Database(pg)
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    else:
        tmp = tempfile.mkdtemp()
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'dids.db'}")
    try:
        await upgrade(db)
        t0 = time.perf_counter()
        await fill(db, n)
        print(f"{db.dialect}: {n:,} DIDs, {CUSTOMERS:,} customers written in "
              f"{time.perf_counter() - t0:.1f} s")
        svc = DidsService(db, Actor("bench", "admin"))
        first = await svc.search(limit=100)
        middle = sorted([r.number for r in first])[-1]
        mid_number = (await svc.search(after=middle, limit=n // 2))[-1].number
        cases = {
            "first page": lambda: svc.search(limit=100),
            "page after the middle": lambda: svc.search(after=mid_number, limit=100),
            "digits '4420' anywhere": lambda: svc.search("4420", limit=100),
            "start '+4420' (index range)": lambda: svc.search("+4420", limit=100),
            "digits '99999' (few hits)": lambda: svc.search("99999", limit=100),
            "customer name 'customer 0042'": lambda: svc.search("customer 0042", limit=100),
            "unassigned, first page": lambda: svc.search(unassigned=True, limit=100),
        }
        for name, fn in cases.items():
            ms = await timed(fn)
            print(f"  {name:32} {ms:8.1f} ms   (target < 50 ms)")
        async with db.sessions() as s:
            t0 = time.perf_counter()
            due = await due_rent(s, NOW)
            print(f"  due_rent: {len(due):,} charges in {time.perf_counter() - t0:.2f} s")
        async with db.sessions() as s, s.begin():
            t0 = time.perf_counter()
            charged = await charge_rent(s, NOW)
        print(f"  charge_rent: {len(charged):,} charged in {time.perf_counter() - t0:.2f} s "
              "(target < 30 s)")
        async with db.sessions() as s, s.begin():
            t0 = time.perf_counter()
            again = await charge_rent(s, NOW)
        print(f"  charge_rent again: {len(again)} charged in "
              f"{time.perf_counter() - t0:.2f} s")
    finally:
        await db.dispose()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dids", type=int, default=100_000)
    ap.add_argument("--pg", help="postgresql+asyncpg://... (a database it may wipe)")
    a = ap.parse_args()
    asyncio.run(main(a.dids, a.pg))
