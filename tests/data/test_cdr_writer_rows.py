"""CDR writer, the stored rows: every field as given (SQLite's executemany and PostgreSQL's
COPY), refusals before anything is written, and the rollups of a large mixed batch equal to
sums worked out here the plain way."""

from __future__ import annotations

import random
import sqlite3
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from connex_tui.data import ledger
from connex_tui.data.access import ConstraintFailed, DatabaseBusy, StorageError
from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.db import Database
from connex_tui.data.models import Cdr, LedgerEntry, StatsCode, StatsPrefix, StatsRollup
from connex_tui.engine.money import MoneyFormatError

T = datetime(2025, 3, 14, 23, 59, 58, 999_999, tzinfo=UTC)
ODD_IDS = ["a'b\"c\\d,e\tf", "ünï-cødé@例え.jp", "line\nbreak;DROP TABLE cdrs;--", "x" * 128,
           r"\N", "NULL", ""]


def raw(name: str) -> dict:
    return {"name": name, "currency": "USD"}


async def write(db, cdrs, at=T) -> None:
    async with db.sessions() as s, s.begin():
        await write_batch(s, cdrs, at=at)


def full(cid: int, call_id: str, **kw) -> CdrInput:
    """A CDR with every field set to something other than its default."""
    values = dict(
        call_id=call_id, customer_id=cid, started_at=T, ended_at=T + timedelta(seconds=61),
        dialled="442071234567", sip_code=200, answered_at=T + timedelta(seconds=2),
        duration_ms=59_001, billed_s=60, cli_in="+15550001", cli_out="15550002",
        prefix="4420", destination="UK London", rate=Decimal("0.012345"),
        connect_fee=Decimal("0.5"), charge=Decimal("123456.654321"),
        provider_cost=Decimal("0.000001"), sip_reason="OK", release_reason="caller",
        pdd_ms=1999, switch_ip="10.0.0.1", source_ip="2001:db8::1", route_id=7,
        provider_id=9, simulated=False)
    values.update(kw)
    return CdrInput(**values)


def as_input(row: Cdr) -> CdrInput:
    return CdrInput(**{f: getattr(row, f) for f in CdrInput.__slots__})


async def stored(db) -> list[Cdr]:
    async with db.sessions() as s:
        return list(await s.scalars(select(Cdr).order_by(Cdr.id)))


async def test_every_field_is_stored_as_given(admin, db):
    cid = await admin.create(raw("A"))
    cdrs = [full(cid, call_id) for call_id in ODD_IDS]
    await write(db, cdrs)
    rows = await stored(db)
    assert [as_input(r) for r in rows] == cdrs  # in batch order, every field equal
    assert all(r.detail is None for r in rows)


async def test_nulls_defaults_and_zones(admin, db):
    cid = await admin.create(raw("A"))
    india = timezone(timedelta(hours=5, minutes=30))
    failed = CdrInput("failed", cid, T.astimezone(india), T.astimezone(india), "44", 486)
    await write(db, [failed, full(cid, "negative", charge=Decimal("-2.5"),
                                  started_at=T.astimezone(india))])
    rows = await stored(db)
    assert rows[0].answered_at is None and rows[0].pdd_ms is None
    assert rows[0].route_id is None and rows[0].provider_id is None
    assert rows[0].started_at == T and rows[0].started_at.tzinfo is UTC
    assert (rows[0].charge, rows[0].cli_in, rows[0].simulated) == (Decimal(0), "", False)
    assert rows[1].charge == Decimal("-2.5") and rows[1].started_at == T
    async with db.engine.connect() as conn:
        got = (await conn.execute(text(
            "SELECT charge, rate, connect_fee, provider_cost, answered_at, pdd_ms FROM cdrs "
            "ORDER BY id"))).all()
    assert [tuple(r) for r in got][0] == (0, 0, 0, 0, None, None)
    assert tuple(got[1])[:4] == (-2_500_000, 12_345, 500_000, 1)
    # a refund-like negative charge credits the customer
    assert (await admin.get(cid)).balance == Decimal("2.5")


async def test_the_stored_time_sorts_and_buckets_as_before(admin, db):
    """Times are stored the way SQLAlchemy stores them (SQLite: text with microseconds),
    so that range queries written with the ORM still find them."""
    cid = await admin.create(raw("A"))
    whole = T.replace(microsecond=0)
    await write(db, [full(cid, "whole-second", started_at=whole, answered_at=None)])
    async with db.sessions() as s:
        found = await s.scalar(select(Cdr.call_id).where(Cdr.started_at >= whole,
                                                         Cdr.started_at < T))
    assert found == "whole-second"
    if db.dialect == "sqlite":
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT started_at FROM cdrs"))).scalar() \
                == "2025-03-14 23:59:58.000000"


async def test_a_call_id_already_stored_rolls_back_the_whole_batch(admin, db):
    cid = await admin.create(raw("A"))
    await write(db, [full(cid, "first")])
    before = await admin.get(cid)
    again = [full(cid, "new-1", started_at=T + timedelta(hours=1)), full(cid, "first"),
             full(cid, "new-2")]
    with pytest.raises(ConstraintFailed, match="nothing was written"):
        await write(db, again)
    assert [r.call_id for r in await stored(db)] == ["first"]
    after = await admin.get(cid)
    assert (after.balance, after.last_call_at) == (before.balance, before.last_call_at)
    async with db.sessions() as s:
        assert await s.scalar(select(StatsRollup.attempts).where(StatsRollup.grain == "h")) == 1
        assert len((await s.scalars(select(LedgerEntry))).all()) == 1
        assert await s.scalar(select(StatsCode.count).where(StatsCode.grain == "h")) == 1
    # the session is usable again: the next batch lands
    await write(db, [full(cid, "new-1")])
    assert len(await stored(db)) == 2


async def test_a_call_id_longer_than_its_column_is_refused_by_postgresql(admin, db):
    if db.dialect == "sqlite":
        pytest.skip("SQLite does not check VARCHAR widths")
    cid = await admin.create(raw("A"))
    with pytest.raises(StorageError, match="too long"):
        await write(db, [full(cid, "ok"), full(cid, "y" * 129)])
    assert await stored(db) == []


@pytest.mark.parametrize("bad, error", [
    ({"started_at": T.replace(tzinfo=None)}, ValueError),
    ({"answered_at": T.replace(tzinfo=None)}, ValueError),
    ({"charge": 0.5}, TypeError),
    ({"rate": Decimal("0.0000001")}, MoneyFormatError),
])
async def test_bad_values_are_refused_before_anything_is_written(admin, db, bad, error):
    cid = await admin.create(raw("A"))
    with pytest.raises(error):
        await write(db, [full(cid, "good"), full(cid, "bad", **bad)])
    assert await stored(db) == []
    assert (await admin.get(cid)).balance == 0


async def test_float_money_is_refused_even_when_an_equal_decimal_was_seen(admin, db):
    cid = await admin.create(raw("A"))
    await write(db, [full(cid, "decimal", charge=Decimal("0.5"))])
    with pytest.raises(TypeError, match="float"):
        await write(db, [full(cid, "float", charge=0.5)])


# -- a large mixed batch against sums worked out here ------------------------------------
def _batch(customers: list[int], n: int, seed: int) -> list[CdrInput]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        start = T - timedelta(hours=3) + timedelta(milliseconds=rng.randrange(6 * 3600_000))
        if i % 7 == 0:  # busy seconds, for the peaks: a few per minute around T
            start = T.replace(microsecond=0) + timedelta(seconds=i % 5 * 31,
                                                         microseconds=i)
        answered = rng.random() < 0.6
        duration = rng.randrange(0, 300_000) if answered else 0
        prefix, dest = rng.choice([("44", "UK"), ("33", "France"), ("1", "USA")])
        out.append(CdrInput(
            call_id=f"mix-{seed}-{i}", customer_id=rng.choice(customers), started_at=start,
            ended_at=start + timedelta(milliseconds=duration), dialled=prefix + "123",
            sip_code=200 if answered else rng.choice((404, 486, 503)),
            answered_at=start if answered else None, duration_ms=duration,
            billed_s=-(-duration // 1000), prefix=prefix, destination=f"{dest} {i % 3}",
            charge=Decimal(rng.randrange(0, 10**6)) / 10**6 if answered else Decimal(0),
            provider_cost=Decimal(rng.randrange(0, 10**5)) / 10**6,
            pdd_ms=rng.choice((None, rng.randrange(5000))), simulated=rng.random() < 0.1))
    return out


def _expected(batches: list[list[CdrInput]]):
    """The rollups, the plain way: Decimal sums per bucket, peak from per-second counts
    within each batch, the destination of each batch's first CDR for the key."""
    roll, codes, prefixes = defaultdict(lambda: [0] * 9), defaultdict(int), {}
    for batch in batches:
        seconds = defaultdict(int)
        for c in batch:
            if c.simulated:
                continue
            t = c.started_at
            minute, hour = t.replace(second=0, microsecond=0), t.replace(minute=0, second=0,
                                                                         microsecond=0)
            seconds[c.customer_id, t.replace(microsecond=0)] += 1
            for key in ((c.customer_id, "m", minute), (c.customer_id, "h", hour)):
                r = roll[key]
                for i, v in enumerate((1, c.answered_at is not None, c.duration_ms,
                                       c.billed_s, c.pdd_ms or 0, c.pdd_ms is not None,
                                       c.charge, c.provider_cost)):
                    r[i] += v
                codes[(*key, c.sip_code)] += 1
            for key in ((c.customer_id, "h", hour, c.prefix),
                        (c.customer_id, "d", hour.replace(hour=0), c.prefix)):
                p = prefixes.setdefault(key, [0, 0, 0, 0, Decimal(0), Decimal(0), None, -1])
                if p[7] != id(batch):  # the first CDR of this batch names it
                    p[6], p[7] = c.destination, id(batch)
                for i, v in enumerate((1, c.answered_at is not None, c.duration_ms,
                                       c.billed_s, c.charge, c.provider_cost)):
                    p[i] += v
        peaks = defaultdict(int)
        for (cid, sec), n in seconds.items():
            for key in ((cid, "m", sec.replace(second=0)),
                        (cid, "h", sec.replace(minute=0, second=0))):
                peaks[key] = max(peaks[key], n)
        for key, n in peaks.items():
            roll[key][8] = max(roll[key][8], n)
    return ({k: tuple(v) for k, v in roll.items()}, dict(codes),
            {k: (*v[:6], v[6]) for k, v in prefixes.items()})


async def test_a_large_mixed_batch_adds_up_as_the_plain_sums(admin, db):
    ids = [await admin.create(raw(name)) for name in ("A", "B", "C")]
    async with db.sessions() as s, s.begin():
        await ledger.post(s, ids[0], "payment", Decimal(100), at=T)
    batches = [_batch(ids, 700, seed) for seed in (1, 2)]
    for b in batches:
        await write(db, b, at=T + timedelta(hours=4))
    want_roll, want_codes, want_prefixes = _expected(batches)
    async with db.sessions() as s:
        got_roll = {(r.customer_id, r.grain, r.bucket): (
            r.attempts, r.connected, r.duration_ms, r.billed_s, r.pdd_sum_ms, r.pdd_count,
            r.charge, r.cost, r.peak_cps) for r in await s.scalars(select(StatsRollup))}
        got_codes = {(r.customer_id, r.grain, r.bucket, r.sip_code): r.count
                     for r in await s.scalars(select(StatsCode))}
        got_prefixes = {(r.customer_id, r.grain, r.bucket, r.prefix): (
            r.attempts, r.connected, r.duration_ms, r.billed_s, r.charge, r.cost,
            r.destination) for r in await s.scalars(select(StatsPrefix))}
        entries = (await s.execute(select(LedgerEntry.customer_id, LedgerEntry.amount,
                                          LedgerEntry.note, LedgerEntry.ref)
                                   .where(LedgerEntry.kind == "calls")
                                   .order_by(LedgerEntry.id))).all()
    assert got_roll == want_roll
    assert got_codes == want_codes
    assert got_prefixes == want_prefixes
    # one ledger row per customer per batch, in the order the customers first appear
    want_entries = []
    for b in batches:
        real = [c for c in b if not c.simulated]
        order = list(dict.fromkeys(c.customer_id for c in real))
        totals = {cid: sum((c.charge for c in real if c.customer_id == cid), Decimal(0))
                  for cid in order}
        want_entries += [(cid, -totals[cid], f"{sum(c.customer_id == cid for c in real)} calls",
                          f"cdr:{real[0].call_id}") for cid in order if totals[cid]]
    assert [tuple(e) for e in entries] == want_entries
    for cid in ids:
        real = [c for b in batches for c in b if not c.simulated and c.customer_id == cid]
        customer = await admin.get(cid)
        paid = Decimal(100) if cid == ids[0] else Decimal(0)
        assert customer.balance == paid - sum(c.charge for c in real)
        assert customer.last_call_at == max(c.started_at for c in real)
        async with db.sessions() as s:
            assert await ledger.ledger_balance(s, cid) == customer.balance


async def test_only_simulations_write_cdrs_and_nothing_else(admin, db):
    cid = await admin.create(raw("A"))
    await write(db, [full(cid, f"SIM-{i}", simulated=True) for i in range(3)])
    assert [r.simulated for r in await stored(db)] == [True] * 3
    async with db.sessions() as s:
        assert (await s.scalars(select(StatsPrefix))).all() == []
        assert (await s.scalars(select(LedgerEntry))).all() == []


async def test_a_batch_of_one_and_the_same_key_again(admin, db):
    """Upserts add to rows of earlier batches (and replace the destination)."""
    cid = await admin.create(raw("A"))
    one = full(cid, "one", pdd_ms=None)
    await write(db, [one])
    await write(db, [replace(one, call_id="two", destination="UK", pdd_ms=10)])
    async with db.sessions() as s:
        r = await s.scalar(select(StatsRollup).where(StatsRollup.grain == "m"))
        p = await s.scalar(select(StatsPrefix).where(StatsPrefix.grain == "d"))
    assert (r.attempts, r.pdd_sum_ms, r.pdd_count, r.peak_cps) == (2, 10, 1, 1)
    assert (p.attempts, p.destination, p.charge) == (2, "UK", Decimal("246913.308642"))


async def test_a_locked_sqlite_database_is_busy_and_nothing_is_written(admin, db):
    """The SQLite statements go to the driver directly: its errors still end the session as
    StorageError (here the lock another writer holds), never as a driver traceback."""
    if db.dialect != "sqlite":
        pytest.skip("SQLite's file lock")
    cid = await admin.create(raw("A"))
    holder = sqlite3.connect(make_url(db.url).database, isolation_level=None)
    waiting = Database(db.url, busy_timeout=0.05)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(DatabaseBusy):
            await write(waiting, [full(cid, "blocked")])
        holder.execute("ROLLBACK")
        await write(waiting, [full(cid, "later")])  # the same engine writes once it is free
    finally:
        holder.close()
        await waiting.dispose()
    assert [r.call_id for r in await stored(db)] == ["later"]


async def test_what_the_caller_staged_in_the_session_lands_first(admin, db):
    """A change staged in the caller's session is written before the batch's own rows (it
    skips the ORM): flushed afterwards, it would overwrite the balance the batch moved."""
    from connex_tui.data.models import Customer

    cid = await admin.create(raw("A"))
    async with db.sessions() as s, s.begin():
        customer = await s.get(Customer, cid)
        customer.balance = Decimal("1000")  # staged, not flushed
        await write_batch(s, [full(cid, "staged-call", charge=Decimal("1.25"))], at=T)
    assert (await admin.get(cid)).balance == Decimal("998.75")
