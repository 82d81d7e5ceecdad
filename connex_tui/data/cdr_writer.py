"""Writes rated CDRs in batches and, in the same transaction, the rollups and the ledger.

Peak CPS is the busiest second seen within a batch, merged with max() across batches; a
second split over two batches is counted as two smaller peaks (writers batch by time, so
that is rare and only ever under-reports).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import case, insert, literal, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import bulk, ledger
from connex_tui.data.models import Cdr, Customer, StatsCode, StatsPrefix, StatsRollup
from connex_tui.data.types import UTCDateTime
from connex_tui.data.upsert import upsert_add

_ADD = ("attempts", "connected", "duration_ms", "billed_s", "pdd_sum_ms", "pdd_count",
        "charge", "cost")
_PREFIX_ADD = ("attempts", "connected", "duration_ms", "billed_s", "charge", "cost")


@dataclass(frozen=True, slots=True)
class CdrInput:
    call_id: str
    customer_id: int
    started_at: datetime
    ended_at: datetime
    dialled: str
    sip_code: int
    answered_at: datetime | None = None
    duration_ms: int = 0
    billed_s: int = 0
    cli_in: str = ""
    cli_out: str = ""
    prefix: str = ""
    destination: str = ""
    rate: Decimal = Decimal(0)
    connect_fee: Decimal = Decimal(0)
    charge: Decimal = Decimal(0)
    provider_cost: Decimal = Decimal(0)
    sip_reason: str = ""
    release_reason: str = ""
    pdd_ms: int | None = None
    switch_ip: str = ""
    source_ip: str = ""
    route_id: int | None = None
    provider_id: int | None = None
    simulated: bool = False


_FIELDS = tuple(f.name for f in fields(CdrInput))


def _bucket(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _blank() -> dict:
    return {"attempts": 0, "connected": 0, "duration_ms": 0, "billed_s": 0, "pdd_sum_ms": 0,
            "pdd_count": 0, "charge": Decimal(0), "cost": Decimal(0), "peak_cps": 0}


async def write_batch(session: AsyncSession, cdrs: list[CdrInput], *, at: datetime) -> None:
    """Insert CDRs, add them to the minute and hour rollups and the hour and day per-prefix
    rollups, debit charges to the ledger.

    Runs in the caller's transaction: all of it lands or none of it. Simulations are stored
    (Latest Calls shows them) but count in neither the rollups nor the ledger.
    """
    if not cdrs:
        return
    await bulk.executemany(session, insert(Cdr.__table__), Cdr.__table__, cdrs, _FIELDS)
    real = [c for c in cdrs if not c.simulated]
    if not real:
        return
    rollups: dict[tuple, dict] = defaultdict(_blank)
    codes: Counter = Counter()
    prefixes: dict[tuple, dict] = {}
    per_second: Counter = Counter()
    charges: dict[int, Decimal] = defaultdict(Decimal)
    calls: Counter = Counter()
    last_call: dict[int, datetime] = {}
    for c in real:
        cid = c.customer_id
        # buckets are UTC minutes and hours, whatever the caller's zone: by epoch seconds,
        # a tenth of the cost of datetime.replace per CDR
        second = int(c.started_at.timestamp() // 1)
        minute, hour = second - second % 60, second - second % 3600
        per_second[(cid, second)] += 1
        for key in ((cid, "m", minute), (cid, "h", hour)):
            r = rollups[key]
            r["attempts"] += 1
            if c.answered_at is not None:
                r["connected"] += 1
            r["duration_ms"] += c.duration_ms
            r["billed_s"] += c.billed_s
            if c.pdd_ms is not None:
                r["pdd_sum_ms"] += c.pdd_ms
                r["pdd_count"] += 1
            r["charge"] += c.charge
            r["cost"] += c.provider_cost
            codes[(*key, c.sip_code)] += 1
        day = second - second % 86400
        for key in ((cid, "h", hour, c.prefix), (cid, "d", day, c.prefix)):
            p = prefixes.get(key)
            if p is None:
                p = prefixes[key] = {"destination": c.destination, "attempts": 0,
                                     "connected": 0, "duration_ms": 0, "billed_s": 0,
                                     "charge": Decimal(0), "cost": Decimal(0)}
            p["attempts"] += 1
            if c.answered_at is not None:
                p["connected"] += 1
            p["duration_ms"] += c.duration_ms
            p["billed_s"] += c.billed_s
            p["charge"] += c.charge
            p["cost"] += c.provider_cost
        charges[cid] += c.charge
        calls[cid] += 1
        if cid not in last_call or c.started_at > last_call[cid]:
            last_call[cid] = c.started_at
    for (cid, second), n in per_second.items():
        for key in ((cid, "m", second - second % 60), (cid, "h", second - second % 3600)):
            if n > rollups[key]["peak_cps"]:
                rollups[key]["peak_cps"] = n

    dialect = session.bind.dialect.name
    rollup, code = StatsRollup.__table__, StatsCode.__table__
    await bulk.executemany(
        session, upsert_add(dialect, rollup, ("customer_id", "grain", "bucket"), _ADD,
                            ("peak_cps",)), rollup,
        [{"customer_id": k[0], "grain": k[1], "bucket": _bucket(k[2]), **v}
         for k, v in rollups.items()])
    await bulk.executemany(
        session, upsert_add(dialect, code, ("customer_id", "grain", "bucket", "sip_code"),
                            ("count",)), code,
        [{"customer_id": k[0], "grain": k[1], "bucket": _bucket(k[2]), "sip_code": k[3],
          "count": n}
         for k, n in codes.items()])
    prefix = StatsPrefix.__table__
    await bulk.executemany(
        session, upsert_add(dialect, prefix, ("customer_id", "grain", "bucket", "prefix"),
                            _PREFIX_ADD, replace=("destination",)), prefix,
        [{"customer_id": k[0], "grain": k[1], "bucket": _bucket(k[2]), "prefix": k[3], **v}
         for k, v in prefixes.items()])
    ref = f"cdr:{real[0].call_id}"[:64]  # ledger.ref is 64 wide; a SIP Call-ID up to 128
    await ledger.post_many(session, [
        (cid, "calls", -total, ref, f"{calls[cid]} calls")
        for cid, total in charges.items() if total], at=at)
    table = Customer.__table__
    for cid, last in last_call.items():
        when = literal(last, UTCDateTime())
        await session.execute(update(table).where(table.c.id == cid).values(
            last_call_at=case((table.c.last_call_at.is_(None), when),
                              (table.c.last_call_at < when, when),
                              else_=table.c.last_call_at)))
