"""Property (docs/domain.md §8, §11, §12): whatever the sequence of payments, status
changes, cancellations, calls charged by the CDR writer, recalcs, package runs and DID rent
(`jobs run` at any time, reruns and runs back in time included), the cached balance equals
the ledger sum, each payment's ledger entries add up to its net when completed and to 0
otherwise, the call entries (calls + recalc) add up to minus the CDRs' charges, and no
package interval or DID month is charged twice.

Steps are a registry (STEPS: name -> (strategy of arguments, async apply)).
Examples share sim_world's Alice (the invariants hold whatever came before), so each runs
in well under a second; few examples keep it quick on both databases."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from connex_tui.data import ledger
from connex_tui.data.access import Actor
from connex_tui.data.dids import DidsService
from connex_tui.data.jobs import run_jobs
from connex_tui.data.models import Cdr, Customer, LedgerEntry, PackageRun, Payment
from connex_tui.data.packages import PackagesService
from connex_tui.data.payments import PaymentsService
from connex_tui.data.recalc import RecalcService
from connex_tui.engine.recalc import RecalcSpec
from connex_tui.engine.validation import ValidationError
from tests.data.cdr_world import DAY, call, world
from tests.data.cdr_world import write as write_cdrs

ADMIN = Actor("prop", "admin")
_call_numbers = itertools.count(20_000)


@dataclass
class World:
    db: object
    ids: dict
    payments: PaymentsService
    recalc: RecalcService
    paid: list[int] = field(default_factory=list)  # payment ids added by the steps
    assignment: int = 0  # Alice's daily package

    @property
    def cid(self) -> int:
        return self.ids["Alice"]


# -- steps -----------------------------------------------------------------------------
money = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(5000), places=6,
                    allow_nan=False, allow_infinity=False)


async def pay(w: World, args) -> None:
    amount, status = args
    w.paid.append(await w.payments.add(w.cid, {"amount": str(amount), "status": status}))


async def set_status(w: World, args) -> None:
    index, status = args
    if not w.paid:
        return
    pid = w.paid[index % len(w.paid)]
    row = await w.payments.get(pid)
    try:
        await w.payments.set_status(pid, row.version, status)
    except ValidationError:  # not allowed from its status (cancelled is final...)
        assert row.status == "cancelled" or (row.status, status) in (
            ("completed", "completed"), ("pending", "pending"))


async def calls(w: World, args) -> None:
    at = DAY + timedelta(hours=10)
    await write_cdrs(w.db, [
        call(w.ids, next(_call_numbers), at=at + timedelta(seconds=i), seconds=seconds,
             charge=str(charge), code=200 if seconds else 486)
        for i, (seconds, charge) in enumerate(args)])


async def recalc(w: World, args) -> None:
    spec = RecalcSpec() if args is None else RecalcSpec(min_duration_s=args,
                                                       new_duration_s=args + 6)
    await w.recalc.run(w.cid, DAY.date(), DAY.date(), spec)


async def jobs(w: World, hours: int) -> None:
    """`jobs run` at DAY + hours: package intervals and DID rent due then, once each."""
    await run_jobs(w.db, ADMIN, DAY + timedelta(hours=hours))


async def setup_jobs(db, clock, cid: int) -> int:
    """A daily package (setup fee on the first day) and a DID with monthly rent for Alice."""
    packages = PackagesService(db, ADMIN, clock)
    pid = await packages.create_package({
        "name": "Daily port fee", "kind": "recurring", "currency": "USD", "retail": "1.25",
        "setup_retail": "3", "frequency": "daily"})
    assignment = await packages.assign(cid, {"package_id": str(pid), "quantity": "2",
                                             "start": DAY.strftime("%Y-%m-%d")})
    await DidsService(db, ADMIN, clock).create({
        "number": "+44 20 7946 0001", "destination": "sip:100@192.0.2.10",
        "monthly_cost": "1", "monthly_retail": "4.75"}, cid)
    return assignment


STEPS = {
    "pay": (st.tuples(money, st.sampled_from(("completed", "pending"))), pay),
    "status": (st.tuples(st.integers(0, 20), st.sampled_from(("completed", "cancelled"))),
               set_status),
    "calls": (st.lists(st.tuples(st.sampled_from((0, 9.1, 30.5, 61.0)),
                                 st.decimals(min_value=0, max_value=3, places=4)),
                       min_size=1, max_size=4), calls),
    "recalc": (st.one_of(st.none(), st.integers(0, 40)), recalc),
    "jobs": (st.integers(0, 24 * 70), jobs),  # within 70 days: two or three DID months
}
step = st.one_of(*(st.tuples(st.just(name), args) for name, (args, _) in STEPS.items()))


# -- the invariants ------------------------------------------------------------------------
async def check(w: World, call_base: Decimal) -> None:
    async with w.db.sessions() as s:
        cached = await s.scalar(select(Customer.balance).where(Customer.id == w.cid))
        assert cached == await ledger.ledger_balance(s, w.cid)
        by_ref = dict((await s.execute(
            select(LedgerEntry.ref, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.customer_id == w.cid, LedgerEntry.kind == "payment")
            .group_by(LedgerEntry.ref))).all())
        for p in await s.scalars(select(Payment).where(Payment.customer_id == w.cid)):
            want = p.amount - p.tax if p.status == "completed" else Decimal(0)
            assert by_ref.get(f"payment:{p.id}", Decimal(0)) == want, (p.id, p.status)
        assert await _calls_sum(s, w.cid) == call_base
        # never twice: one ledger entry per package interval and per DID month
        refs = (await s.execute(
            select(LedgerEntry.ref, func.count()).where(
                LedgerEntry.customer_id == w.cid, LedgerEntry.kind.in_(("package", "did")))
            .group_by(LedgerEntry.ref))).all()
        assert all(n == 1 for _, n in refs), refs
        runs = await s.scalar(select(func.sum(PackageRun.amount)).where(
            PackageRun.customer_package_id == w.assignment))
        posted = await s.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.customer_id == w.cid, LedgerEntry.kind == "package"))
        assert (posted or Decimal(0)) == -(runs or Decimal(0))


async def _calls_sum(s, cid: int) -> Decimal:
    """Call entries plus the CDRs' charges: constant whatever was charged or recalculated."""
    entries = await s.scalar(select(func.sum(LedgerEntry.amount)).where(
        LedgerEntry.customer_id == cid, LedgerEntry.kind.in_(("calls", "recalc"))))
    charged = await s.scalar(select(func.sum(Cdr.charge)).where(
        Cdr.customer_id == cid, Cdr.simulated.is_(False)))
    return (entries or Decimal(0)) + (charged or Decimal(0))


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=8))
async def test_balance_is_always_the_ledger_sum(db, clock, steps):
    w = _world[0]
    if w is None or w.db is not db:  # built once per database: the fixture lives across
        # the examples
        ids = await world(db)
        async with db.sessions() as s, s.begin():
            await s.execute(update(Customer).where(Customer.id == ids["Alice"])
                            .values(tax_percent=Decimal("7.5")))
        w = _world[0] = World(db, ids, PaymentsService(db, ADMIN, clock),
                              RecalcService(db, ADMIN, clock))
        w.assignment = await setup_jobs(db, clock, ids["Alice"])
    async with db.sessions() as s:
        base = await _calls_sum(s, w.cid)
    for name, args in steps:
        await STEPS[name][1](w, args)
        clock.advance(seconds=1)
        await check(w, base)


_world: list[World | None] = [None]
