"""CDR tab and recalc speed (issue 8 §6): a CDR tab page <= 100 ms on a customer with
1,000,000 CDRs (keyset, never OFFSET), and recalc of N CDRs <= 3x the time of writing the
same N through the CDR writer (data/cdr_writer.write_batch), both in the same run.

The page figures are printed beside a bare indexed point query (SELECT of one CDR by id,
the same connection pool) measured in the same run, as the machine's speed drifts 3-5x.

    .venv/bin/python bench/cdr_tab.py [--cdrs 1000000] [--recalc 1000000] [--pg URL]

The million CDRs are bulk-inserted (bare executemany of the rows, no rollups: a page reads
only `cdrs`); the recalc set is written through write_batch and timed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from connex_tui.data import bulk  # noqa: E402
from connex_tui.data.access import Actor  # noqa: E402
from connex_tui.data.cdr_writer import _FIELDS, CdrInput, write_batch  # noqa: E402
from connex_tui.data.cdrs import CdrFilter, CdrService  # noqa: E402
from connex_tui.data.db import Database, upgrade  # noqa: E402
from connex_tui.data.models import (  # noqa: E402
    Cdr,
    Customer,
    IngressRoute,
    Provider,
    RateCard,
    RateCardParent,
    RateRow,
)
from connex_tui.data.recalc import RecalcService  # noqa: E402
from connex_tui.engine.recalc import RecalcSpec  # noqa: E402

START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 30
BATCH = 2000
ADMIN = Actor("bench", "admin")


async def world(db: Database, name: str) -> dict[str, int]:
    """A customer whose route rates on card Retail (44 0.010/min, 1/1), sold through
    provider Acme's card at 0.005/min."""
    now = START - timedelta(days=1)
    stamp = {"version": 1, "created_at": now, "updated_at": now}
    ids: dict[str, int] = {}
    async with db.sessions() as s, s.begin():
        async def add(model, **row) -> int:
            return await s.scalar(insert(model).values(**row).returning(model.id))

        ids["customer"] = await add(Customer, **stamp, name=name, name_key=name.lower(),
                                    currency="USD")
        ids["provider"] = await add(Provider, **stamp, name=f"{name}-acme")
        ids["buy"] = await add(RateCard, **stamp, name=f"{name}-buy", currency="USD",
                               direction="provider", provider_id=ids["provider"])
        ids["sell"] = await add(RateCard, **stamp, name=f"{name}-sell", currency="USD",
                                direction="customer")
        await s.execute(insert(RateCardParent).values(customer_card_id=ids["sell"],
                                                      provider_card_id=ids["buy"]))
        for card, rate in (("buy", "0.005"), ("sell", "0.010")):
            await s.execute(insert(RateRow).values(
                card_id=ids[card], prefix="44", destination="UK", rate=Decimal(rate),
                connect_fee=Decimal(0), mcd=1, pulse=1, blocked=False))
        ids["route"] = await add(IngressRoute, **stamp, customer_id=ids["customer"],
                                 rate_card_id=ids["sell"], dial_string="44")
    return ids


def cdrs(ids: dict[str, int], n: int, tag: str, answered_share: int = 3):
    """n CDRs over DAYS days, 5 in each group sharing one millisecond; answered_share of
    each 5 answered."""
    span = DAYS * 86_400_000
    step = span // max(n // 5, 1)
    for i in range(n):
        at = START + timedelta(milliseconds=(i // 5) * step)
        answered = i % 5 < answered_share
        ms = 1000 + (i * 7919) % 300_000 if answered else 0
        yield CdrInput(
            call_id=f"{tag}-{i}", customer_id=ids["customer"], started_at=at,
            ended_at=at + timedelta(milliseconds=ms + 2000), dialled=f"44{7000000000 + i}",
            sip_code=200 if answered else 486, answered_at=at + timedelta(seconds=2)
            if answered else None, duration_ms=ms, billed_s=-(-ms // 1000),
            cli_in="4420000", prefix="44", destination="UK", rate=Decimal("0.5"),
            charge=Decimal("0.01") if answered else Decimal(0),
            provider_cost=Decimal("0.001") if answered else Decimal(0), pdd_ms=800,
            release_reason="callee_bye" if answered else "", source_ip="192.0.2.1",
            route_id=ids["route"], provider_id=ids["provider"])


async def bulk_insert(db: Database, ids: dict[str, int], n: int) -> float:
    t = time.perf_counter()
    rows: list[CdrInput] = []
    for c in cdrs(ids, n, "page"):
        rows.append(c)
        if len(rows) == 20_000:
            async with db.sessions() as s, s.begin():
                await bulk.executemany(s, insert(Cdr.__table__), Cdr.__table__, rows, _FIELDS)
            rows = []
    if rows:
        async with db.sessions() as s, s.begin():
            await bulk.executemany(s, insert(Cdr.__table__), Cdr.__table__, rows, _FIELDS)
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE cdrs"))
    return time.perf_counter() - t


async def timed(fn, repeat: int) -> float:
    """Median ms of `repeat` calls (after one warm-up)."""
    await fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def pages(db: Database, ids: dict[str, int], n: int) -> None:
    svc = CdrService(db, ADMIN)
    cid = ids["customer"]
    day = (START + timedelta(days=DAYS // 2)).date()
    first = await svc.page(cid, day)
    mid_key = None
    # a deep page: the key of a row past the middle of that day
    async with db.sessions() as s:
        noon = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=18)
        row = (await s.execute(select(Cdr.started_at, Cdr.id).where(
            Cdr.customer_id == cid, Cdr.started_at >= noon).order_by(
            Cdr.started_at, Cdr.id).limit(1))).first()
        mid_key = (row.started_at, row.id)
        some_id = row.id
    assert len(first.rows) == 100 and first.more

    async def point():
        async with db.sessions() as s:
            await s.scalar(select(Cdr.call_id).where(Cdr.id == some_id))

    ref = await timed(point, 50)
    figures = [
        ("first page of a day", lambda: svc.page(cid, day)),
        ("a page at 18:00 (keyset)", lambda: svc.page(cid, day, after=mid_key)),
        ("failed only", lambda: svc.page(cid, day, CdrFilter("failed"))),
        ("SIP 486", lambda: svc.page(cid, day, CdrFilter(sip_code=486))),
        ("search a number", lambda: svc.page(cid, day, CdrFilter(query="7000012"))),
        ("last page of the last day", lambda: svc.page(
            cid, (START + timedelta(days=DAYS - 1)).date(), after=(
                START + timedelta(days=DAYS) - timedelta(seconds=1), 0))),
    ]
    print(f"  point query by id (reference): {ref:7.2f} ms")
    for label, fn in figures:
        ms = await timed(fn, 15)
        print(f"  {label:<28} {ms:7.2f} ms   target <= 100 ms   "
              f"{'OK ' if ms <= 100 else 'MISS'}  ({ms / ref:5.1f}x the point query)")


async def recalc(db: Database, n: int) -> None:
    ids = await world(db, "Recalc")
    t = time.perf_counter()
    part: list[CdrInput] = []
    for c in cdrs(ids, n, "rc", answered_share=5):  # all answered: recalc reads every one
        part.append(c)
        if len(part) == BATCH:
            async with db.sessions() as s, s.begin():
                await write_batch(s, part, at=part[-1].ended_at)
            part = []
    if part:
        async with db.sessions() as s, s.begin():
            await write_batch(s, part, at=part[-1].ended_at)
    write_s = time.perf_counter() - t
    svc = RecalcService(db, ADMIN)
    first, last = START.date(), (START + timedelta(days=DAYS - 1)).date()
    t = time.perf_counter()
    done = await svc.run(ids["customer"], first, last, RecalcSpec())
    recalc_s = time.perf_counter() - t
    ratio = recalc_s / write_s
    print(f"  write_batch of {n:,} CDRs:   {write_s:7.1f} s ({n / write_s:,.0f}/s)")
    print(f"  recalc (rerate) of them:     {recalc_s:7.1f} s ({done.calls:,} answered read, "
          f"{done.changed:,} corrected, {done.skipped:,} skipped)")
    print(f"  recalc / write:              {ratio:7.2f}x   target <= 3x   "
          f"{'OK' if ratio <= 3 else 'MISS'}")


async def run(url: str, n_page: int, n_recalc: int, label: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
        print(f"{label}:")
        ids = await world(db, "Pages")
        took = await bulk_insert(db, ids, n_page)
        print(f"  {n_page:,} CDRs of one customer over {DAYS} days bulk-inserted in "
              f"{took:.0f} s")
        await pages(db, ids, n_page)
        if n_recalc:
            await recalc(db, n_recalc)
    finally:
        await db.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cdrs", type=int, default=1_000_000, help="CDRs of the paged customer")
    p.add_argument("--recalc", type=int, default=1_000_000, help="CDRs written and recalculated")
    p.add_argument("--pg", default=os.environ.get("CONNEX_TEST_PG_URL", ""),
                   help="also on this PostgreSQL URL (its schema is dropped and made again)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(f"sqlite+aiosqlite:///{tmp}/cdr_tab.db", args.cdrs, args.recalc,
                        "SQLite"))
    if args.pg:
        async def reset() -> None:
            db = Database(args.pg)
            try:
                async with db.engine.begin() as conn:
                    await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                    await conn.execute(text("CREATE SCHEMA public"))
            finally:
                await db.dispose()

        asyncio.run(reset())
        asyncio.run(run(args.pg, args.cdrs, args.recalc, "PostgreSQL"))


if __name__ == "__main__":
    main()
