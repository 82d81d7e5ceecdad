"""The CDR writer (rated CDRs stored + rollups + per-code and per-prefix counts + ledger +
last call, one transaction per batch) against the floor of the database itself.

The floor is a bare insert of the same CDR rows, already in their stored form, into the same
`cdrs` table with its indexes, one transaction per batch: sqlite3's `executemany` on SQLite,
asyncpg's `copy_records_to_table` on PostgreSQL. Writer and floor run alternately on fresh
tables (the machine is shared and drifts), best of `--repeat`; the figure is the ratio.

    .venv/bin/python bench/cdr_writer.py [--cdrs N] [--batch B] [--repeat R] [--pg URL]

PostgreSQL runs when `--pg URL` or CONNEX_TEST_PG_URL is given: that database's public
schema is DROPPED and migrated afresh (give it a test database).

Free minutes (data/free_minutes.py): the writer again, on its own database, with no
free-minutes package anywhere, with one assigned to a customer outside the batches, and
with one assigned to customer 1 (a fifth of the calls; half of its destinations match),
alternately; the figures are against the first.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from connex_tui.data.access import Actor
from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database, upgrade
from connex_tui.data.models import Base, CustomerPackage, Package

TARGET = 0.60
CUSTOMERS = [1, 2, 3, 4, 5]  # the ids a fresh database gives the bench's customers
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CODES = (200,) * 11 + (486, 486, 404, 480, 503, 487, 603)
PREFIXES = [("44", "UK"), ("447", "UK Mobile"), ("33", "France"), ("336", "France Mobile"),
            ("49", "Germany"), ("4915", "Germany Mobile"), ("1", "USA"), ("91", "India"),
            ("234", "Nigeria"), ("880", "Bangladesh"), ("55", "Brazil"), ("52", "Mexico")]
COLUMNS = ("call_id", "customer_id", "route_id", "provider_id", "started_at", "answered_at",
           "ended_at", "duration_ms", "billed_s", "dialled", "cli_in", "cli_out", "prefix",
           "destination", "rate", "connect_fee", "charge", "provider_cost", "sip_code",
           "sip_reason", "release_reason", "pdd_ms", "switch_ip", "source_ip", "simulated")


def make_cdrs(n: int, batch: int, customers: list[int], seed: int) -> list[CdrInput]:
    """`batch` calls hung up per second over a few customers and destinations, as a switch
    writes them: each batch is the calls that ended in one second, so they started over
    the minutes before (up to 10 min of talk plus the ringing). A customer pays one rate
    per destination, as a rate card has it."""
    rng = random.Random(seed)
    rates = {(c, p): Decimal(rng.randrange(10, 900)) / 10_000
             for c in customers for p, _ in PREFIXES}
    out = []
    for i in range(n):
        end = T0 + timedelta(seconds=i // batch, microseconds=rng.randrange(1_000_000))
        cid, code = rng.choice(customers), rng.choice(CODES)
        prefix, dest = rng.choice(PREFIXES)
        pdd = rng.randrange(200, 6000)
        duration = rng.randrange(1000, 600_000) if code == 200 else 0
        answered = end - timedelta(milliseconds=duration) if code == 200 else None
        start = (answered or end) - timedelta(milliseconds=pdd)
        billed = -(-duration // 6000) * 6
        rate = rates[cid, prefix]
        charge = (rate * billed / 60).quantize(Decimal("0.000001"))
        out.append(CdrInput(
            call_id=f"{rng.getrandbits(64):016x}-{i}@10.1.{i % 250}.7", customer_id=cid,
            started_at=start, ended_at=end, dialled=f"{prefix}{rng.randrange(10**9):09d}",
            sip_code=code, answered_at=answered, duration_ms=duration, billed_s=billed,
            cli_in=f"1555{rng.randrange(10**7):07d}", cli_out="15550000000", prefix=prefix,
            destination=dest, rate=rate, charge=charge,
            provider_cost=(charge * Decimal("0.7")).quantize(Decimal("0.000001")),
            sip_reason="OK" if answered else "Busy Here", release_reason="caller",
            pdd_ms=pdd, switch_ip="10.0.0.1", source_ip="192.0.2.10", route_id=1,
            provider_id=1))
    return out


def _micro(d: Decimal) -> int:
    return int(d * 1_000_000)


def stored(c: CdrInput, sqlite: bool) -> tuple:
    """The row as the database holds it (what the floor inserts, converted beforehand)."""
    def t(x):
        if x is None:
            return None
        x = x.astimezone(UTC).replace(tzinfo=None)
        return x.isoformat(" ", "microseconds") if sqlite else x

    return (c.call_id, c.customer_id, c.route_id, c.provider_id, t(c.started_at),
            t(c.answered_at), t(c.ended_at), c.duration_ms, c.billed_s, c.dialled, c.cli_in,
            c.cli_out, c.prefix, c.destination, _micro(c.rate), _micro(c.connect_fee),
            _micro(c.charge), _micro(c.provider_cost), c.sip_code, c.sip_reason,
            c.release_reason, c.pdd_ms, c.switch_ip, c.source_ip, c.simulated)


async def fresh(url: str) -> tuple[Database, list[int]]:
    """A migrated, empty database with the bench's customers."""
    db = Database(url)
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(db)
    svc = CustomerService(db, Actor("bench", "admin"), lambda: T0)
    ids = [await svc.create({"name": f"Customer {i}", "currency": "USD"}) for i in range(5)]
    if ids != CUSTOMERS:
        raise SystemExit(f"a fresh database gave customer ids {ids}, not {CUSTOMERS}")
    return db, ids


async def empty(db: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables
                       if t.name in ("cdrs", "stats_rollups", "stats_codes", "stats_prefixes",
                                     "ledger", "free_minute_usage"))
    async with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            await conn.execute(text(f"TRUNCATE {tables}"))
        else:
            for name in tables.split(", "):
                await conn.execute(text(f"DELETE FROM {name}"))
        await conn.execute(text("UPDATE customers SET balance = 0, last_call_at = NULL"))
    if db.dialect == "sqlite":
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("VACUUM")


class Clock:
    """Wall and CPU seconds (this process, all threads) since it was made."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def took(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


async def run_writer(db: Database, batches: list[list[CdrInput]]) -> tuple[float, float]:
    clock = Clock()
    for b in batches:
        async with db.sessions() as s, s.begin():
            await write_batch(s, b, at=b[-1].ended_at)
    return clock.took()


def floor_sqlite(path: Path, rows: list[list[tuple]]) -> tuple[float, float]:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    sql = (f"INSERT INTO cdrs ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(COLUMNS))})")
    clock = Clock()
    for b in rows:
        con.execute("BEGIN")
        con.executemany(sql, b)
        con.execute("COMMIT")
    took = clock.took()
    con.close()
    return took


async def floor_pg(url: str, rows: list[list[tuple]]) -> tuple[float, float]:
    import asyncpg

    con = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        clock = Clock()
        for b in rows:
            async with con.transaction():
                await con.copy_records_to_table("cdrs", records=b, columns=COLUMNS)
        return clock.took()
    finally:
        await con.close()


async def alternate(db: Database, batches, floor, repeat: int) -> tuple[tuple, tuple]:
    """Writer and floor in turn on emptied tables, `floor()` timing the bare insert."""
    writer, floors = [], []
    try:
        for _ in range(repeat):
            await empty(db)
            writer.append(await run_writer(db, batches))
            floors.append(await floor())
    finally:
        await db.dispose()
    n = sum(len(b) for b in batches)
    return rates(n, writer), rates(n, floors)


async def bench_sqlite(batches, repeat: int) -> tuple[tuple, tuple]:
    tmp = Path(tempfile.mkdtemp(prefix="cdr-writer-bench-"))
    db, _ = await fresh(f"sqlite+aiosqlite:///{tmp / 'writer.db'}")
    floor_db, _ = await fresh(f"sqlite+aiosqlite:///{tmp / 'floor.db'}")
    rows = [[stored(c, True) for c in b] for b in batches]

    async def floor():
        await empty(floor_db)
        await floor_db.dispose()
        return floor_sqlite(tmp / "floor.db", rows)

    return await alternate(db, batches, floor, repeat)


async def bench_pg(url: str, batches, repeat: int) -> tuple[tuple, tuple]:
    db, _ = await fresh(url)
    rows = [[stored(c, False) for c in b] for b in batches]

    async def floor():
        await empty(db)
        return await floor_pg(url, rows)

    return await alternate(db, batches, floor, repeat)


FREE_CASES = ("no free-minutes package", "a package, not in the batch",
              "customer 1 with free minutes")


async def assign_free_minutes(db: Database, customer_id: int | None) -> None:
    """Customer `customer_id` (None: nobody) alone holds a package of 5,000 free minutes a
    month to the UK, France and Germany."""
    async with db.sessions() as s, s.begin():
        await s.execute(text("DELETE FROM customer_packages"))
        if customer_id is None:
            return
        pkg = await s.scalar(text("SELECT id FROM packages WHERE name = 'bench'"))
        if pkg is None:
            p = Package(name="bench", kind="free_minutes", free_minutes=5_000,
                        destination_regex="^(44|33|49)", frequency="monthly",
                        created_at=T0, updated_at=T0)
            s.add(p)
            await s.flush()
            pkg = p.id
        s.add(CustomerPackage(customer_id=customer_id, package_id=pkg, quantity=1,
                              start=T0 - timedelta(days=3), created_at=T0, updated_at=T0))


async def bench_free(url: str, batches, repeat: int) -> list[float]:
    """Writer rates (rows a second of wall time, best run) for FREE_CASES, in turn."""
    db, _ = await fresh(url)
    elsewhere = await CustomerService(db, Actor("bench", "admin"), lambda: T0).create(
        {"name": "Not calling", "currency": "USD"})
    runs: list[list[tuple[float, float]]] = [[] for _ in FREE_CASES]
    try:
        for _ in range(repeat):
            for i, holder in enumerate((None, elsewhere, CUSTOMERS[0])):
                await empty(db)
                await assign_free_minutes(db, holder)
                runs[i].append(await run_writer(db, batches))
    finally:
        await db.dispose()
    n = sum(len(b) for b in batches)
    return [rates(n, r)[0] for r in runs]


def free_lines(name: str, figures: list[float]) -> list[str]:
    base = figures[0]
    return [f"  {f'{name}, {case}':<52} {rate:>10,.0f} /s {rate / base:>8.0%}"
            for case, rate in zip(FREE_CASES, figures, strict=True)]


def rates(n: int, runs: list[tuple[float, float]]) -> tuple[float, float]:
    """Rows per second of wall time and of CPU time, best run of each."""
    return n / min(w for w, _ in runs), n / min(c for _, c in runs)


def line(name: str, rate: float, floor: float) -> str:
    ratio = rate / floor
    verdict = "ok" if ratio >= TARGET else "MISSED"
    return (f"  {f'{name} {rate:,.0f} /s':<40} {f'{floor:,.0f} /s':>12} {ratio:>8.0%} "
            f"{f'>= {TARGET:.0%}':>9}   {verdict}")


async def main_async(args) -> None:
    cdrs = make_cdrs(args.cdrs, args.batch, CUSTOMERS, args.seed)
    batches = [cdrs[i:i + args.batch] for i in range(0, len(cdrs), args.batch)]
    gc.collect()
    gc.freeze()  # the bench's own inputs stay out of the collector's full passes
    print(f"CDR writer, {args.cdrs:,} CDRs in batches of {args.batch:,} (5 customers, "
          f"{len(PREFIXES)} prefixes), best of {args.repeat}")
    print(f"  {'figure':<40} {'floor':>12} {'ratio':>8} {'target':>9}")
    w, f = await bench_sqlite(batches, args.repeat)
    print(line("SQLite write_batch", w[0], f[0]))
    print(f"  {'  the same in CPU seconds (shared machine)':<40} {'':>12} {w[1] / f[1]:>8.0%}")
    pg = args.pg or os.environ.get("CONNEX_TEST_PG_URL", "").strip()
    if pg:
        w, f = await bench_pg(pg, batches, args.repeat)
        print(line("PostgreSQL write_batch", w[0], f[0]))
    else:
        print("  PostgreSQL: skipped (give --pg URL or CONNEX_TEST_PG_URL)")
    print("    (floor: a bare executemany (sqlite3) / copy_records_to_table (asyncpg) of the "
          "same rows, already converted, into the same cdrs table)")
    print(f"Free minutes: the writer with and without free-minutes packages, best of "
          f"{args.repeat}, against no package")
    tmp = Path(tempfile.mkdtemp(prefix="cdr-writer-free-"))
    for line_ in free_lines("SQLite", await bench_free(f"sqlite+aiosqlite:///{tmp / 'free.db'}",
                                                      batches, args.repeat)):
        print(line_)
    if pg:
        for line_ in free_lines("PostgreSQL", await bench_free(pg, batches, args.repeat)):
            print(line_)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cdrs", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--pg", default="", help="a PostgreSQL URL whose schema may be wiped")
    args = ap.parse_args()
    if args.cdrs < 1 or args.batch < 1 or args.repeat < 1:
        ap.error("--cdrs, --batch and --repeat must be positive")
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
