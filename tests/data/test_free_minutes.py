"""Free-minutes packages consumed as CDRs are written (docs/domain.md §12, §8), both DBs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from connex_tui.data.access import Actor, ConstraintFailed
from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.free_minutes import free_minutes_left
from connex_tui.data.ledger import ledger_balance
from connex_tui.data.models import (
    Cdr,
    Customer,
    CustomerPackage,
    FreeMinuteUsage,
    Package,
    StatsRollup,
)
from connex_tui.engine.money import call_charge

START = datetime(2025, 3, 1, tzinfo=UTC)  # the package's assignment
T = datetime(2025, 3, 14, 10, 15, 7, tzinfo=UTC)
RATE = Decimal("0.06")  # a minute: 0.001 a second
FEE = Decimal("0.05")

_seq = iter(range(1, 10**9))


def call(cid: int, billed_s: int, *, at: datetime = T, dialled: str = "447700900123",
         answered: bool = True, simulated: bool = False, call_id: str | None = None
         ) -> CdrInput:
    """A call rated as the pipeline rates it (no route: precision 4, rounding up)."""
    return CdrInput(
        call_id=call_id or f"{'SIM-' if simulated else ''}fm-{next(_seq)}", customer_id=cid,
        started_at=at, ended_at=at + timedelta(seconds=billed_s),
        answered_at=at if answered else None, duration_ms=billed_s * 1000,
        billed_s=billed_s if answered else 0, dialled=dialled,
        sip_code=200 if answered else 486, rate=RATE, connect_fee=FEE,
        charge=call_charge(billed_s, RATE, FEE, answered=answered), simulated=simulated)


async def customer_with_package(admin, db, *, minutes: int = 10, quantity: int = 1,
                                regex: str = "^44", frequency: str = "daily",
                                end: datetime | None = None, name: str = "A") -> int:
    cid = await admin.create({"name": name, "currency": "USD"})
    async with db.sessions() as s, s.begin():
        pkg = await s.scalar(select(Package).where(Package.name == f"UK {frequency}"))
        if pkg is None:
            pkg = Package(name=f"UK {frequency}", kind="free_minutes", free_minutes=minutes,
                          destination_regex=regex, frequency=frequency, created_at=START,
                          updated_at=START)
            s.add(pkg)
            await s.flush()
        s.add(CustomerPackage(customer_id=cid, package_id=pkg.id, quantity=quantity,
                              start=START, end=end, created_at=START, updated_at=START))
    return cid


async def write(db, cdrs) -> None:
    async with db.sessions() as s, s.begin():
        await write_batch(s, cdrs, at=max(c.ended_at for c in cdrs))


async def stored(db, cid: int) -> list[tuple[int, int, Decimal]]:
    """(billed_s, free_s, charge) of the customer's CDRs, in the order they started."""
    async with db.sessions() as s:
        return [tuple(r) for r in await s.execute(
            select(Cdr.billed_s, Cdr.free_s, Cdr.charge).where(Cdr.customer_id == cid)
            .order_by(Cdr.started_at, Cdr.id))]


async def used(db) -> dict[datetime, int]:
    async with db.sessions() as s:
        return {r.interval_start: r.used_s for r in await s.scalars(select(FreeMinuteUsage))}


async def check_books(admin, db, cid: int) -> Decimal:
    """Balance == ledger sum, and the rollups' charge == the counted CDRs' charges (not the
    simulations'); returns the balance."""
    async with db.sessions() as s:
        ledger = await ledger_balance(s, cid)
        cdr_total = await s.scalar(select(func.coalesce(func.sum(Cdr.charge), 0))
                                   .where(Cdr.customer_id == cid, Cdr.simulated.is_(False)))
        for grain in ("m", "h"):
            rolled = await s.scalar(select(func.coalesce(func.sum(StatsRollup.charge), 0))
                                    .where(StatsRollup.customer_id == cid,
                                           StatsRollup.grain == grain))
            assert Decimal(rolled) == Decimal(cdr_total)
    balance = (await admin.get(cid)).balance
    assert balance == ledger == -Decimal(cdr_total)
    return balance


async def test_a_call_inside_the_allowance_is_free_and_consumes(admin, db):
    cid = await customer_with_package(admin, db)
    await write(db, [call(cid, 120)])
    assert await stored(db, cid) == [(120, 120, Decimal(0))]  # connect fee waived too
    assert await used(db) == {datetime(2025, 3, 14, tzinfo=UTC): 120}
    assert await check_books(admin, db, cid) == 0


async def test_a_call_straddling_the_allowance_pays_exactly_for_the_rest(admin, db):
    cid = await customer_with_package(admin, db)  # 600 s a day
    await write(db, [call(cid, 540), call(cid, 125, at=T + timedelta(seconds=1))])
    # 60 s free; 65 s at 0.001/s = 0.065 + the connect fee 0.05
    assert await stored(db, cid) == [(540, 540, Decimal(0)), (125, 60, Decimal("0.115"))]
    assert await used(db) == {datetime(2025, 3, 14, tzinfo=UTC): 600}
    await write(db, [call(cid, 30, at=T + timedelta(minutes=5))])  # nothing left
    assert (await stored(db, cid))[-1] == (30, 0, Decimal("0.08"))
    assert await check_books(admin, db, cid) == Decimal("-0.195")


async def test_quantity_multiplies_and_calls_in_one_batch_go_in_start_order(admin, db):
    cid = await customer_with_package(admin, db, minutes=1, quantity=2)  # 120 s a day
    late, early = call(cid, 100, at=T + timedelta(seconds=9)), call(cid, 100, at=T)
    await write(db, [late, early])
    assert await stored(db, cid) == [(100, 100, Decimal(0)), (100, 20, Decimal("0.13"))]


async def test_non_matching_unanswered_and_simulated_calls_pay_and_consume_nothing(admin, db):
    cid = await customer_with_package(admin, db)
    await write(db, [call(cid, 60, dialled="33612345678"),
                     call(cid, 60, answered=False),
                     call(cid, 60, simulated=True)])
    assert await stored(db, cid) == [(60, 0, Decimal("0.11")), (0, 0, Decimal(0)),
                                     (60, 0, Decimal("0.11"))]
    assert await used(db) == {}
    await check_books(admin, db, cid)  # the simulation counts in neither


async def test_interval_rollover_gives_the_allowance_again(admin, db):
    cid = await customer_with_package(admin, db, minutes=1)
    await write(db, [call(cid, 60), call(cid, 60, at=T + timedelta(hours=1))])
    await write(db, [call(cid, 60, at=T + timedelta(days=1))])  # the next day
    assert [free for _, free, _ in await stored(db, cid)] == [60, 0, 60]
    assert await used(db) == {datetime(2025, 3, 14, tzinfo=UTC): 60,
                              datetime(2025, 3, 15, tzinfo=UTC): 60}


async def test_package_not_active_covers_nothing(admin, db):
    cid = await customer_with_package(admin, db, end=T)  # ended as the call started
    await write(db, [call(cid, 60), call(cid, 60, at=START - timedelta(seconds=1))])
    assert [free for _, free, _ in await stored(db, cid)] == [0, 0]


async def test_a_failed_write_consumes_nothing_and_its_retry_consumes_once(admin, db):
    cid = await customer_with_package(admin, db)
    first = call(cid, 100)
    await write(db, [first])
    with pytest.raises(ConstraintFailed):  # the batch again: its call id is stored
        await write(db, [call(cid, 200, at=T + timedelta(seconds=5)),
                         call(cid, 100, call_id=first.call_id)])
    assert await used(db) == {datetime(2025, 3, 14, tzinfo=UTC): 100}
    await write(db, [call(cid, 200, at=T + timedelta(seconds=5))])  # the retry, fixed
    assert await used(db) == {datetime(2025, 3, 14, tzinfo=UTC): 300}
    assert await check_books(admin, db, cid) == 0


async def test_two_writers_never_give_more_than_the_allowance(admin, db, db_url):
    cid = await customer_with_package(admin, db)  # 600 s
    batches = [[call(cid, 400, at=T + timedelta(seconds=i))] for i in range(4)]
    results = await asyncio.gather(*(write(db, b) for b in batches), return_exceptions=True)
    written = sum(1 for r in results if r is None)
    assert written == 4 if "postgresql" in db_url else written >= 1  # SQLite: busy, maybe
    rows = await stored(db, cid)
    assert sum(free for _, free, _ in rows) == min(600, 400 * written)
    assert await used(db) == {datetime(2025, 3, 14, tzinfo=UTC): min(600, 400 * written)}
    await check_books(admin, db, cid)


async def test_free_minutes_left(admin, db):
    cid = await customer_with_package(admin, db)
    other = await customer_with_package(admin, db, name="B", frequency="monthly")
    await write(db, [call(cid, 90), call(other, 30)])
    async with db.sessions() as s:
        left = await free_minutes_left(s, cid, T + timedelta(hours=1))
        tomorrow = await free_minutes_left(s, cid, T + timedelta(days=1))
        monthly = await free_minutes_left(s, other, T)
        before = await free_minutes_left(s, cid, START - timedelta(days=1))
    assert [(x.package, x.interval_start, x.allowance_s, x.used_s, x.left_s)
            for x in left] == [("UK daily", datetime(2025, 3, 14, tzinfo=UTC), 600, 90, 510)]
    assert [(x.interval_start, x.used_s) for x in tomorrow] == [
        (datetime(2025, 3, 15, tzinfo=UTC), 0)]
    assert [(x.package, x.interval_start, x.used_s) for x in monthly] == [
        ("UK monthly", START, 30)]
    assert before == []


async def test_recalc_keeps_the_free_seconds_and_consumes_nothing(db, clock):
    from connex_tui.data.recalc import RecalcService
    from connex_tui.engine.recalc import RecalcSpec
    from tests.data import cdr_world, sim_world

    ids = await sim_world.build(db)  # Alice's route: card Retail, UK 0.010/min, 1/1, 4 up
    cid, day = ids["Alice"], cdr_world.DAY
    async with db.sessions() as s, s.begin():
        opening = await s.scalar(select(Customer.balance).where(Customer.id == cid))
        pkg = Package(name="UK minute", kind="free_minutes", free_minutes=1,
                      destination_regex="^44", frequency="daily", created_at=day,
                      updated_at=day)
        s.add(pkg)
        await s.flush()
        s.add(CustomerPackage(customer_id=cid, package_id=pkg.id, start=day,
                              created_at=day, updated_at=day))
    t = day + timedelta(hours=9)
    # written at the switch's rate 0.5/min: 30 s free, then 30 s free + 20 s paid
    await cdr_world.write(db, [cdr_world.call(ids, 1, at=t, seconds=30),
                               cdr_world.call(ids, 2, at=t + timedelta(minutes=1),
                                              seconds=50)])
    assert await stored(db, cid) == [(30, 30, Decimal(0)), (50, 30, Decimal("0.1667"))]
    svc = RecalcService(db, Actor("root", "admin"), clock)
    await svc.run(cid, day.date(), day.date(), RecalcSpec())  # at the card's 0.010/min
    assert await stored(db, cid) == [(30, 30, Decimal(0)), (50, 30, Decimal("0.0034"))]
    await svc.run(cid, day.date(), day.date(), RecalcSpec(0, 100))  # every call 100 s
    assert await stored(db, cid) == [(100, 30, Decimal("0.0117")),
                                     (100, 30, Decimal("0.0117"))]
    assert await used(db) == {day: 60}  # neither run consumed again
    async with db.sessions() as s:
        balance = await s.scalar(select(Customer.balance).where(Customer.id == cid))
        assert balance == await ledger_balance(s, cid) == opening - Decimal("0.0234")
