"""`connex-tui cdr import` of a FreeSWITCH file end to end, against the floor.

The import runs as a process (start, parsing, rating, writing: CDRs, rollups, ledger) on a
fresh SQLite database holding three customers with 2,000-prefix cards. The floor, in the
same run: a bare sqlite3 `executemany` of the same CDR rows (read back from the import)
into a fresh `cdrs` table with its indexes, with the app's pragmas (WAL, synchronous
NORMAL), committed every 5,000 rows as the import's batches are. Target: the import at
>= 40% of the floor's rows/s. Memory flat: peak RSS of the import of the first quarter of
the file and of the whole file (os.wait4 of each process).

With `--pg URL` (postgresql+asyncpg://…, a database it may wipe) the same on PostgreSQL:
the floor is asyncpg `copy_records_to_table` of the same rows into a copy of `cdrs` made
with LIKE … INCLUDING ALL (its indexes), a transaction per 5,000 rows.

    .venv/bin/python bench/cdr_import.py [--lines N] [--skip-bad] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from connex_tui.data import config_state  # noqa: E402
from connex_tui.data.db import Database, upgrade  # noqa: E402
from connex_tui.data.models import (  # noqa: E402
    Customer,
    IngressRoute,
    IpAuth,
    Provider,
    RateCard,
    RateCardParent,
    RateRow,
)

START = datetime(2026, 11, 1, tzinfo=UTC)
COUNTRIES = ("1", "44", "49", "33", "34", "39", "31", "7", "86", "91")
CUSTOMERS = (("Dora", "USD"), ("Eve", "EUR"), ("Fay", "USD"))
BATCH = 5000
TARGET = 0.40


def prefixes() -> list[str]:
    return [f"{c}{i:03d}" for c in COUNTRIES for i in range(200)]


async def build_world(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        stamp = {"version": 1, "created_at": START, "updated_at": START}
        rng = random.Random(1)
        async with db.sessions() as s, s.begin():
            async def add(model, **row) -> int:
                return await s.scalar(insert(model).values(**stamp, **row).returning(model.id))

            provider = await add(Provider, name="Acme", host="203.0.113.5")
            for n, (name, currency) in enumerate(CUSTOMERS, 1):
                cid = await add(Customer, name=name, name_key=name.lower(), status="active",
                                currency=currency, debit_limit=Decimal(1000))
                card = await add(RateCard, name=f"{name}-Retail", currency=currency,
                                 direction="customer")
                buy = await add(RateCard, name=f"{name}-Acme", currency=currency,
                                direction="provider", provider_id=provider)
                await s.execute(insert(RateCardParent).values(customer_card_id=card,
                                                              provider_card_id=buy))
                for card_id, scale in ((card, 1.0), (buy, 0.6)):
                    await s.execute(insert(RateRow), [
                        {"card_id": card_id, "prefix": p, "destination": f"Dest {p[:3]}",
                         "rate": Decimal(f"{rng.uniform(0.002, 0.2) * scale:.4f}"),
                         "connect_fee": Decimal(0), "mcd": m, "pulse": m, "blocked": False}
                        for p, m in ((p, rng.choice((1, 6, 60))) for p in prefixes())])
                await add(IngressRoute, customer_id=cid, rate_card_id=card, tech_prefix="")
                await add(IpAuth, customer_id=cid, host=f"192.0.2.{n}", direction="ingress")
            await config_state.bump(s)
    finally:
        await db.dispose()


def make_file(path: Path, lines: int, seed: int = 7) -> None:
    """mod_cdr_csv `example` lines: 60 % answered, the rest busy, no answer or cancelled."""
    rng = random.Random(seed)
    pre = prefixes()
    t = START
    step = timedelta(days=10) / max(lines, 1)
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(lines):
            t += step
            name = CUSTOMERS[rng.randrange(3)][0]
            number = rng.choice(pre) + f"{rng.randrange(10**7):07d}"
            u = rng.random()
            start = t.strftime("%Y-%m-%d %H:%M:%S")
            ring = rng.randrange(1, 20)
            if u < 0.6:
                billsec = rng.randrange(1, 600)
                answer = (t + timedelta(seconds=ring)).strftime("%Y-%m-%d %H:%M:%S")
                cause = "NORMAL_CLEARING"
            else:
                billsec, answer = 0, ""
                cause = ("USER_BUSY", "NO_ANSWER", "ORIGINATOR_CANCEL")[int(u * 10) % 3]
            end = (t + timedelta(seconds=ring + billsec)).strftime("%Y-%m-%d %H:%M:%S")
            call = uuid.UUID(int=rng.getrandbits(128), version=4)
            out.write(f'"{name}","4412345{rng.randrange(10000):04d}","{number}","default",'
                      f'"{start}","{answer}","{end}","{ring + billsec}","{billsec}",'
                      f'"{cause}","{call}","","{name}","PCMA","PCMA"\n')


def run_import(url: str, path: Path, extra: list[str]) -> tuple[float, int, str]:
    """(seconds, peak RSS in KiB, its output) of one `cdr import` process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/connex-tui"), "--database-url", url, "cdr", "import",
         str(path), "--format", "freeswitch", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"cdr import failed ({proc.returncode}): {out}")
    return seconds, usage.ru_maxrss, out


async def write_share(url: str, path: Path, skip_bad: bool) -> tuple[float, float]:
    """(seconds of the whole import, seconds inside CdrImportStore.write) of the same
    import run in this process: the writer's part of an import's time."""
    from connex_tui.data.access import Actor
    from connex_tui.data.cdr_import import CdrImportStore
    from connex_tui.feeds.cdr_import import ImportOptions, import_cdrs

    spent = [0.0]

    class Timed(CdrImportStore):
        async def write(self, cdrs):
            began = time.perf_counter()
            try:
                return await super().write(cdrs)
            finally:
                spent[0] += time.perf_counter() - began

    db = Database(url)
    try:
        began = time.perf_counter()
        await import_cdrs(Timed(db, Actor("bench", "admin")),
                          ImportOptions(str(path), "freeswitch", skip_bad=skip_bad))
        return time.perf_counter() - began, spent[0]
    finally:
        await db.dispose()


def floor(source: Path, target: Path) -> tuple[float, int]:
    """Seconds to executemany the source's CDR rows into target's empty cdrs table."""
    src = sqlite3.connect(source)
    cols = [r[1] for r in src.execute("PRAGMA table_info(cdrs)") if r[1] != "id"]
    dst = sqlite3.connect(target, isolation_level=None)
    dst.execute("PRAGMA journal_mode=WAL")
    dst.execute("PRAGMA synchronous=NORMAL")
    sql = f"INSERT INTO cdrs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    cursor = src.execute(f"SELECT {', '.join(cols)} FROM cdrs ORDER BY id")
    spent, rows = 0.0, 0
    while True:
        chunk = cursor.fetchmany(BATCH)
        if not chunk:
            break
        began = time.perf_counter()
        dst.execute("BEGIN")
        dst.executemany(sql, chunk)
        dst.execute("COMMIT")
        spent += time.perf_counter() - began
        rows += len(chunk)
    src.close()
    dst.close()
    return spent, rows


async def pg_reset(url: str) -> None:
    """Wipe the PostgreSQL database and build the world in it."""
    from sqlalchemy import text

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await db.dispose()
    await build_world(url)


async def pg_floor(url: str) -> tuple[float, int]:
    """Seconds to COPY the imported CDR rows into an empty copy of cdrs (its indexes)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        cols = [r["column_name"] for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'cdrs' "
            "AND column_name <> 'id' ORDER BY ordinal_position")]
        await conn.execute("DROP TABLE IF EXISTS cdrs_floor")
        await conn.execute("CREATE TABLE cdrs_floor (LIKE cdrs INCLUDING ALL)")
        spent, rows, last = 0.0, 0, 0
        while True:
            chunk = await conn.fetch(f"SELECT id, {', '.join(cols)} FROM cdrs WHERE id > $1 "
                                     f"ORDER BY id LIMIT {BATCH}", last)
            if not chunk:
                break
            last = chunk[-1]["id"]
            records = [tuple(r)[1:] for r in chunk]
            began = time.perf_counter()
            async with conn.transaction():
                await conn.copy_records_to_table("cdrs_floor", records=records,
                                                 columns=cols)
            spent += time.perf_counter() - began
            rows += len(records)
        await conn.execute("DROP TABLE cdrs_floor")
        return spent, rows
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--skip-bad", action="store_true",
                    help="import with --skip-bad (one pass) instead of check-then-write")
    ap.add_argument("--pg", metavar="URL", help="run on this PostgreSQL database (wiped)")
    args = ap.parse_args()
    extra = ["--skip-bad"] if args.skip_bad else []
    with tempfile.TemporaryDirectory(prefix="cdr-import-bench-") as tmp:
        d = Path(tmp)
        made = time.perf_counter()
        whole, quarter = d / "whole.csv", d / "quarter.csv"
        make_file(whole, args.lines)
        with open(whole) as src, open(quarter, "w") as dst:
            for i, line in enumerate(src):
                if i >= args.lines // 4:
                    break
                dst.write(line)
        template = d / "template.db"
        asyncio.run(build_world(f"sqlite+aiosqlite:///{template}"))
        empty = d / "empty.db"
        asyncio.run(upgrade_only(f"sqlite+aiosqlite:///{empty}"))
        print(f"{args.lines:,} lines ({whole.stat().st_size >> 20} MiB) and world made in "
              f"{time.perf_counter() - made:.1f} s")

        def fresh(name: str) -> Path:
            path = d / name
            path.write_bytes(template.read_bytes())
            return path

        if args.pg:
            asyncio.run(pg_reset(args.pg))
            q_secs, q_rss, _ = run_import(args.pg, quarter, extra)
            asyncio.run(pg_reset(args.pg))
            w_secs, w_rss, out = run_import(args.pg, whole, extra)
            print(out.strip())
            f_secs, rows = asyncio.run(pg_floor(args.pg))
        else:
            q_db = fresh("quarter.db")
            q_secs, q_rss, _ = run_import(f"sqlite+aiosqlite:///{q_db}", quarter, extra)
            w_db = fresh("whole.db")
            w_secs, w_rss, out = run_import(f"sqlite+aiosqlite:///{w_db}", whole, extra)
            print(out.strip())
            f_db = d / "floor.db"
            f_db.write_bytes(empty.read_bytes())
            f_secs, rows = floor(w_db, f_db)
        url = args.pg or f"sqlite+aiosqlite:///{fresh('share.db')}"
        if args.pg:
            asyncio.run(pg_reset(args.pg))
        i_secs, wr_secs = asyncio.run(write_share(url, quarter, args.skip_bad))
    rate, floor_rate = args.lines / w_secs, rows / f_secs
    ratio = rate / floor_rate
    mode = "--skip-bad, one pass" if args.skip_bad else "check, then write"
    where = "PostgreSQL" if args.pg else "SQLite"
    how = "copy_records_to_table" if args.pg else "executemany"
    print(f"{where}: cdr import ({mode}): {args.lines:,} lines in {w_secs:.1f} s = "
          f"{rate:,.0f}/s")
    print(f"floor (bare {how}): {rows:,} rows in {f_secs:.1f} s = {floor_rate:,.0f}/s")
    print(f"ratio {ratio:.0%}   target >= {TARGET:.0%}   {'OK' if ratio >= TARGET else 'MISSED'}")
    quarter_lines = args.lines // 4
    print(f"write share (1/4 of the file in this process): CdrImportStore.write "
          f"{wr_secs:.1f} s of {i_secs:.1f} s ({wr_secs / i_secs:.0%}); the writer alone: "
          f"{quarter_lines / wr_secs:,.0f}/s = {quarter_lines / wr_secs / floor_rate:.0%} "
          f"of the floor, the rest alone {quarter_lines / (i_secs - wr_secs):,.0f}/s")
    print(f"peak RSS: 1/4 of the file {q_rss / 1024:.0f} MiB ({q_secs:.1f} s), 4/4 "
          f"{w_rss / 1024:.0f} MiB: x{w_rss / q_rss:.2f} (flat: about x1)")


async def upgrade_only(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


if __name__ == "__main__":
    main()
