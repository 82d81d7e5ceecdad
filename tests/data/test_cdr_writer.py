"""CDR writer: CDRs, minute/hour rollups, per-code counts, ledger and last call in one go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from connex_tui.data import ledger
from connex_tui.data.access import ConstraintFailed
from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.models import Cdr, LedgerEntry, StatsCode, StatsPrefix, StatsRollup
from connex_tui.engine.stats import fmt_kpi_row

T = datetime(2025, 3, 14, 10, 15, 7, tzinfo=UTC)  # inside minute 10:15 and hour 10:00
MINUTE = datetime(2025, 3, 14, 10, 15, tzinfo=UTC)
HOUR = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)


def raw(name: str) -> dict:
    return {"name": name, "currency": "USD"}


_seq = iter(range(1, 10**9))


def cdr(cid: int, start: datetime = T, *, answered: bool = True, duration_ms: int = 0,
        billed_s: int = 0, pdd_ms: int | None = None, charge: str = "0", cost: str = "0",
        code: int | None = None, simulated: bool = False) -> CdrInput:
    return CdrInput(
        call_id=f"{'SIM-' if simulated else ''}call-{next(_seq)}", customer_id=cid,
        started_at=start, ended_at=start + timedelta(milliseconds=duration_ms),
        answered_at=start if answered else None, duration_ms=duration_ms, billed_s=billed_s,
        dialled="4420712345", sip_code=code or (200 if answered else 486), pdd_ms=pdd_ms,
        charge=Decimal(charge), provider_cost=Decimal(cost), rate=Decimal("0.005"),
        simulated=simulated)


async def write(db, cdrs, at=T) -> None:
    async with db.sessions() as s, s.begin():
        await write_batch(s, cdrs, at=at)


async def rollup(db, cid: int, grain: str, bucket: datetime) -> StatsRollup | None:
    async with db.sessions() as s:
        return await s.scalar(select(StatsRollup).where(
            StatsRollup.customer_id == cid, StatsRollup.grain == grain,
            StatsRollup.bucket == bucket))


async def codes(db, cid: int, grain: str, bucket: datetime) -> dict[int, int]:
    async with db.sessions() as s:
        return dict((await s.execute(select(StatsCode.sip_code, StatsCode.count).where(
            StatsCode.customer_id == cid, StatsCode.grain == grain,
            StatsCode.bucket == bucket))).all())


def sums(r: StatsRollup) -> tuple:
    return (r.attempts, r.connected, r.duration_ms, r.billed_s, r.pdd_sum_ms, r.pdd_count,
            r.charge, r.cost, r.peak_cps)


def batch_one(cid: int) -> list[CdrInput]:
    """3 calls in one second (10:15:07), one 20 s later, one in the next minute."""
    return [
        cdr(cid, T, duration_ms=9100, billed_s=10, pdd_ms=1200, charge="0.0009", cost="0.0005"),
        cdr(cid, T + timedelta(milliseconds=300), duration_ms=61_000, billed_s=66,
            pdd_ms=800, charge="0.0055", cost="0.004"),
        cdr(cid, T + timedelta(milliseconds=900), answered=False, code=486, pdd_ms=500),
        cdr(cid, T + timedelta(seconds=20), answered=False, code=404),
        cdr(cid, T + timedelta(minutes=1), duration_ms=1000, billed_s=60, charge="0.01",
            cost="0.002"),
    ]


async def test_rollups_per_minute_and_hour(admin, db):
    cid = await admin.create(raw("A"))
    await write(db, batch_one(cid))
    m = await rollup(db, cid, "m", MINUTE)
    assert sums(m) == (4, 2, 70_100, 76, 2500, 3, Decimal("0.0064"), Decimal("0.0045"), 3)
    m2 = await rollup(db, cid, "m", MINUTE + timedelta(minutes=1))
    assert sums(m2) == (1, 1, 1000, 60, 0, 0, Decimal("0.01"), Decimal("0.002"), 1)
    h = await rollup(db, cid, "h", HOUR)
    assert sums(h) == (5, 3, 71_100, 136, 2500, 3, Decimal("0.0164"), Decimal("0.0065"), 3)
    assert await codes(db, cid, "m", MINUTE) == {200: 2, 486: 1, 404: 1}
    assert await codes(db, cid, "h", HOUR) == {200: 3, 486: 1, 404: 1}
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Cdr)) == 5
        stored = await s.scalar(select(Cdr).where(Cdr.billed_s == 66))
    assert stored.charge == Decimal("0.0055") and stored.provider_cost == Decimal("0.004")
    assert stored.started_at == T + timedelta(milliseconds=300)


async def test_per_prefix_rollups_per_hour_and_day(admin, db):
    from dataclasses import replace

    cid = await admin.create(raw("A"))
    uk = [replace(c, prefix="44", destination="UK") for c in batch_one(cid)[:3]]
    fr = replace(batch_one(cid)[4], prefix="33", destination="France")
    await write(db, [*uk, fr])
    await write(db, [replace(uk[0], call_id="later", destination="United Kingdom",
                             started_at=T + timedelta(hours=2))])
    async with db.sessions() as s:
        rows = (await s.execute(select(
            StatsPrefix.grain, StatsPrefix.bucket, StatsPrefix.prefix, StatsPrefix.destination,
            StatsPrefix.attempts, StatsPrefix.connected, StatsPrefix.duration_ms,
            StatsPrefix.charge).order_by(StatsPrefix.grain, StatsPrefix.bucket,
                                         StatsPrefix.prefix))).all()
    day = HOUR.replace(hour=0)
    assert [tuple(r) for r in rows] == [
        # the day's row adds both batches and takes the newest destination name
        ("d", day, "33", "France", 1, 1, 1000, Decimal("0.01")),
        ("d", day, "44", "United Kingdom", 4, 3, 79_200, Decimal("0.0073")),
        ("h", HOUR, "33", "France", 1, 1, 1000, Decimal("0.01")),
        ("h", HOUR, "44", "UK", 3, 2, 70_100, Decimal("0.0064")),
        ("h", HOUR + timedelta(hours=2), "44", "United Kingdom", 1, 1, 9100,
         Decimal("0.0009")),
    ]


async def test_two_batches_into_the_same_bucket_add_up(admin, db):
    cid = await admin.create(raw("A"))
    await write(db, batch_one(cid))
    await write(db, [
        cdr(cid, T + timedelta(seconds=30), duration_ms=2000, billed_s=6, pdd_ms=100,
            charge="0.001", cost="0.0001"),
        cdr(cid, T + timedelta(seconds=30), answered=False, code=486),
    ])
    m = await rollup(db, cid, "m", MINUTE)
    assert sums(m) == (6, 3, 72_100, 82, 2600, 4, Decimal("0.0074"), Decimal("0.0046"), 3)
    h = await rollup(db, cid, "h", HOUR)
    assert (h.attempts, h.connected, h.charge, h.peak_cps) == (7, 4, Decimal("0.0174"), 3)
    assert await codes(db, cid, "m", MINUTE) == {200: 3, 486: 2, 404: 1}


async def test_peak_cps_keeps_the_busiest_second_across_batches(admin, db):
    cid = await admin.create(raw("A"))
    await write(db, [cdr(cid, T + timedelta(milliseconds=i)) for i in range(2)])
    assert (await rollup(db, cid, "m", MINUTE)).peak_cps == 2
    await write(db, [cdr(cid, T + timedelta(seconds=1, milliseconds=i)) for i in range(5)])
    assert (await rollup(db, cid, "m", MINUTE)).peak_cps == 5
    await write(db, [cdr(cid, T + timedelta(seconds=2))])
    assert (await rollup(db, cid, "m", MINUTE)).peak_cps == 5  # max, never summed or lowered
    assert (await rollup(db, cid, "h", HOUR)).peak_cps == 5


async def test_rollups_are_per_customer(admin, db):
    a = await admin.create(raw("A"))
    b = await admin.create(raw("B"))
    await write(db, [cdr(a, charge="1"), cdr(a, charge="1"), cdr(b, charge="5")])
    assert (await rollup(db, a, "m", MINUTE)).attempts == 2
    assert (await rollup(db, b, "m", MINUTE)).attempts == 1
    assert (await rollup(db, a, "h", HOUR)).peak_cps == 2
    assert (await rollup(db, b, "h", HOUR)).peak_cps == 1


async def test_ledger_is_debited_by_the_sum_of_charges(admin, db):
    a = await admin.create(raw("A"))
    b = await admin.create(raw("B"))
    async with db.sessions() as s, s.begin():
        await ledger.post(s, a, "payment", Decimal("10"), at=T)
    await write(db, batch_one(a) + [cdr(b, charge="0.25")])
    await write(db, [cdr(a, charge="0.0001")])
    expected_a = Decimal("10") - Decimal("0.0164") - Decimal("0.0001")
    assert (await admin.get(a)).balance == expected_a
    assert (await admin.get(b)).balance == Decimal("-0.25")
    async with db.sessions() as s:
        assert await ledger.ledger_balance(s, a) == expected_a
        kinds = (await s.execute(select(LedgerEntry.kind, LedgerEntry.amount)
                                 .where(LedgerEntry.customer_id == a)
                                 .order_by(LedgerEntry.id))).all()
    # one ledger row per customer per batch, not one per call
    assert kinds == [("payment", Decimal(10)), ("calls", Decimal("-0.0164")),
                     ("calls", Decimal("-0.0001"))]


async def test_free_calls_write_no_ledger_rows(admin, db):
    a = await admin.create(raw("A"))
    await write(db, [cdr(a, answered=False, code=503)])
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert (await rollup(db, a, "m", MINUTE)).attempts == 1


async def test_simulated_cdrs_are_stored_but_not_counted(admin, db):
    a = await admin.create(raw("A"))
    await write(db, [cdr(a, simulated=True, charge="1.5", billed_s=60, duration_ms=60_000)])
    async with db.sessions() as s:
        stored = (await s.scalars(select(Cdr))).all()
        assert await s.scalar(select(func.count()).select_from(StatsRollup)) == 0
        assert await s.scalar(select(func.count()).select_from(StatsCode)) == 0
        assert await s.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert [c.call_id.startswith("SIM-") and c.simulated for c in stored] == [True]
    c = await admin.get(a)
    assert c.balance == 0 and c.last_call_at is None
    # mixed batch: only the real call counts
    await write(db, [cdr(a, simulated=True, charge="1.5"), cdr(a, charge="0.5")])
    assert (await rollup(db, a, "m", MINUTE)).attempts == 1
    assert (await rollup(db, a, "m", MINUTE)).peak_cps == 1
    assert (await admin.get(a)).balance == Decimal("-0.5")


async def test_last_call_only_moves_forward(admin, db):
    a = await admin.create(raw("A"))
    await write(db, [cdr(a, T), cdr(a, T + timedelta(minutes=5)), cdr(a, T - timedelta(hours=1))])
    assert (await admin.get(a)).last_call_at == T + timedelta(minutes=5)
    await write(db, [cdr(a, T - timedelta(days=2))])  # a late import of old CDRs
    assert (await admin.get(a)).last_call_at == T + timedelta(minutes=5)
    await write(db, [cdr(a, T + timedelta(hours=3))])
    assert (await admin.get(a)).last_call_at == T + timedelta(hours=3)
    assert (await admin.page()).rows[0].last_call_at == T + timedelta(hours=3)


async def test_buckets_are_utc_whatever_the_callers_timezone(admin, db):
    a = await admin.create(raw("A"))
    india = timezone(timedelta(hours=5, minutes=30))
    start = T.astimezone(india)  # 15:45:07 +05:30, the same instant as T
    await write(db, [cdr(a, start, charge="1")])
    assert (await rollup(db, a, "m", MINUTE)).attempts == 1
    assert (await rollup(db, a, "h", HOUR)).attempts == 1
    async with db.sessions() as s:
        buckets = set(await s.scalars(select(StatsRollup.bucket)))
    assert buckets == {MINUTE, HOUR}


async def test_batch_is_all_or_nothing(admin, db):
    a = await admin.create(raw("A"))
    await write(db, [cdr(a, charge="1")])
    dup = cdr(a, charge="2")
    with pytest.raises(ConstraintFailed):  # the same call id twice
        await write(db, [dup, CdrInput(**{**_fields(dup), "call_id": dup.call_id})])
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Cdr)) == 1
    assert (await rollup(db, a, "m", MINUTE)).attempts == 1
    assert (await admin.get(a)).balance == Decimal(-1)


def _fields(c: CdrInput) -> dict:
    return {f: getattr(c, f) for f in CdrInput.__slots__}


async def test_money_columns_of_cdrs_and_rollups_are_integers(admin, db):
    a = await admin.create(raw("A"))
    await write(db, [cdr(a, charge="12.345", cost="0.000001")])
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT charge, provider_cost, rate FROM cdrs"))).one() \
            == (12345000, 1, 5000)
        row = (await conn.execute(text(
            "SELECT charge, cost FROM stats_rollups WHERE grain = 'h'"))).one()
    assert row == (12345000, 1) and all(type(v) is int for v in row)


# -- list KPIs ------------------------------------------------------------------------------
async def test_list_kpis_over_the_last_24_hours(service, db, clock):
    svc = service("admin")
    a = await svc.create(raw("A"))
    await svc.create(raw("B"))
    clock.now = datetime(2025, 3, 15, 9, 30, tzinfo=UTC)
    old = clock.now - timedelta(hours=30)
    recent = clock.now - timedelta(hours=2)
    await write(db, [
        cdr(a, old, duration_ms=600_000, pdd_ms=9000),  # outside the window
        cdr(a, clock.now - timedelta(hours=23), answered=False, code=404),  # inside
        cdr(a, recent, duration_ms=90_000, pdd_ms=2000),
        cdr(a, recent + timedelta(milliseconds=10), duration_ms=30_000, pdd_ms=1000),
        cdr(a, recent + timedelta(milliseconds=20), answered=False, code=486, pdd_ms=3000),
        cdr(a, recent + timedelta(minutes=5), answered=False, code=503),
    ])
    rows = {r.name: r for r in (await svc.page()).rows}
    k = rows["A"].kpi
    assert (k.attempts, k.connected, k.duration_ms, k.pdd_sum_ms, k.pdd_count, k.peak_cps) \
        == (5, 2, 120_000, 6000, 3, 3)
    assert fmt_kpi_row(k) == ("40.0%", "1:00", "2.0s", "3")
    assert fmt_kpi_row(rows["B"].kpi) == ("-", "-", "-", "-")
    assert rows["B"].kpi.attempts == 0


async def test_list_kpis_come_from_rollups_not_raw_cdrs(service, db, clock):
    svc = service("admin")
    a = await svc.create(raw("A"))
    clock.now = T + timedelta(hours=1)
    await write(db, [cdr(a, T, duration_ms=5000)])
    async with db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM cdrs"))
    assert (await svc.page()).rows[0].kpi.attempts == 1


async def test_long_sip_call_ids_are_written(admin, db):
    """SIP Call-IDs can be long (up to the column's 128): the batch must still land."""
    a = await admin.create(raw("A"))
    long_id = "a84b4c76e66710-" + "x" * 90 + "@pc33.example.com"
    assert len(long_id) <= 128
    base = cdr(a, charge="0.5")
    await write(db, [CdrInput(**{**_fields(base), "call_id": long_id})])
    async with db.sessions() as s:
        assert await s.scalar(select(Cdr.call_id)) == long_id
    assert (await admin.get(a)).balance == Decimal("-0.5")


async def test_list_kpis_count_the_part_hour_at_the_far_edge(service, db, clock):
    """At 09:30 a call from yesterday 09:45 is within 24 h; one from 09:15 is not."""
    svc = service("admin")
    a = await svc.create(raw("A"))
    clock.now = datetime(2025, 3, 15, 9, 30, tzinfo=UTC)
    await write(db, [
        cdr(a, datetime(2025, 3, 14, 9, 45, tzinfo=UTC), duration_ms=60_000),  # inside
        cdr(a, datetime(2025, 3, 14, 9, 15, tzinfo=UTC), duration_ms=60_000),  # outside
        cdr(a, datetime(2025, 3, 15, 9, 10, tzinfo=UTC), duration_ms=60_000),  # inside
    ])
    assert (await svc.page()).rows[0].kpi.attempts == 2
