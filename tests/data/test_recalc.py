"""Recalc (docs/domain.md §7): preview equals the result, the ledger equals the recomputed
sum after two runs, a run killed mid-way resumes without charging twice, rollups follow."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from connex_tui.data import ledger
from connex_tui.data.access import Actor, PermissionDenied
from connex_tui.data.models import (
    Cdr,
    Customer,
    LedgerEntry,
    RecalcRun,
    StatsCode,
    StatsPrefix,
    StatsRollup,
)
from connex_tui.data.recalc import RecalcService
from connex_tui.engine.recalc import RecalcSpec
from tests.data.cdr_world import DAY, world

ADMIN = Actor("root", "admin")
D = DAY.date()


def expected_charge(duration_ms: int, rate: str = "0.010") -> Decimal:
    """§8 by hand: whole seconds up, 1/1, billed/60 x rate, 4 places rounded up."""
    secs = -(-duration_ms // 1000)
    return (Decimal(secs) * Decimal(rate) / 60).quantize(Decimal("0.0001"), rounding="ROUND_UP")


async def balances(db, cid):
    async with db.sessions() as s:
        cached = await s.scalar(select(Customer.balance).where(Customer.id == cid))
        return cached, await ledger.ledger_balance(s, cid)


async def cdr_rows(db, cid):
    async with db.sessions() as s:
        return (await s.execute(select(Cdr.call_id, Cdr.duration_ms, Cdr.billed_s, Cdr.charge,
                                       Cdr.provider_cost, Cdr.ended_at, Cdr.answered_at)
                                .where(Cdr.customer_id == cid, Cdr.simulated.is_(False))
                                .order_by(Cdr.call_id))).all()


async def rollup_sums(db, cid, grain):
    async with db.sessions() as s:
        return tuple((await s.execute(select(
            func.sum(StatsRollup.duration_ms), func.sum(StatsRollup.billed_s),
            func.sum(StatsRollup.charge), func.sum(StatsRollup.cost), func.sum(
                StatsRollup.attempts), func.sum(StatsRollup.connected)).where(
            StatsRollup.customer_id == cid, StatsRollup.grain == grain))).one())


async def cdr_sums(db, cid):
    async with db.sessions() as s:
        return tuple((await s.execute(select(
            func.sum(Cdr.duration_ms), func.sum(Cdr.billed_s), func.sum(Cdr.charge),
            func.sum(Cdr.provider_cost), func.count(), func.count(Cdr.answered_at)).where(
            Cdr.customer_id == cid, Cdr.simulated.is_(False)))).one())


async def prefix_sums(db, cid, grain):
    async with db.sessions() as s:
        return {r[0]: tuple(r[1:]) for r in await s.execute(select(
            StatsPrefix.prefix, func.sum(StatsPrefix.attempts), func.sum(StatsPrefix.connected),
            func.sum(StatsPrefix.duration_ms), func.sum(StatsPrefix.billed_s),
            func.sum(StatsPrefix.charge), func.sum(StatsPrefix.cost)).where(
            StatsPrefix.customer_id == cid, StatsPrefix.grain == grain)
            .group_by(StatsPrefix.prefix))}


async def code_counts(db, cid):
    async with db.sessions() as s:
        return sorted((await s.execute(select(StatsCode.grain, StatsCode.bucket,
                                              StatsCode.sip_code, StatsCode.count).where(
            StatsCode.customer_id == cid))).all())


async def test_rerate_preview_equals_result_and_twice_equals_once(db, clock):
    ids = await world(db)
    cid = ids["Alice"]
    svc = RecalcService(db, ADMIN, clock)
    spec = RecalcSpec()
    codes_before = await code_counts(db, cid)
    preview = await svc.preview(cid, D, D, spec)
    want = sum(expected_charge(9100 + 5000 * i) for i in range(12))
    assert (preview.calls, preview.changed, preview.skipped) == (12, 12, 0)
    assert preview.old_total == Decimal(12) and preview.new_total == want
    assert preview.currency == "USD"
    before, _ = await balances(db, cid)

    result = await svc.run(cid, D, D, spec, batch=5)
    assert (result.status, result.calls, result.changed, result.skipped) == ("done", 12, 12, 0)
    assert (result.old_total, result.new_total) == (preview.old_total, preview.new_total)
    cached, recomputed = await balances(db, cid)
    assert cached == recomputed == before + Decimal(12) - want
    rows = await cdr_rows(db, cid)
    answered = [r for r in rows if r.answered_at is not None]
    assert [r.charge for r in answered] == [expected_charge(r.duration_ms) for r in answered]
    # provider cost re-rated on UK-A (0.005/min, 1/1, precision 4 up)
    assert all(r.provider_cost == expected_charge(r.duration_ms, "0.005") for r in answered)
    assert await rollup_sums(db, cid, "m") == await rollup_sums(db, cid, "h") \
        == await cdr_sums(db, cid)
    cdr_total = await cdr_sums(db, cid)
    assert prefix_sums_total(await prefix_sums(db, cid, "d")) == cdr_total
    assert prefix_sums_total(await prefix_sums(db, cid, "h")) == cdr_total
    assert await code_counts(db, cid) == codes_before

    again = await svc.run(cid, D, D, spec)  # a second run: nothing left to correct
    assert (again.calls, again.changed, again.old_total, again.new_total) == (12, 0, want, want)
    assert await balances(db, cid) == (cached, cached)
    async with db.sessions() as s:
        entries = (await s.execute(select(LedgerEntry.amount, LedgerEntry.note).where(
            LedgerEntry.kind == "recalc").order_by(LedgerEntry.id))).all()
    assert sum(a for a, _ in entries) == Decimal(12) - want
    assert len(entries) == 6  # refund + debit for each of the 3 batches; none for run 2
    history = await svc.history(cid)
    assert [(h.calls, h.old_total, h.new_total, h.status, h.operator, h.first, h.last)
            for h in history] == [(12, want, want, "done", "root", D, D),
                                  (12, Decimal(12), want, "done", "root", D, D)]
    assert history[0].what == "rerate only"


def prefix_sums_total(by_prefix: dict) -> tuple:
    att, con, dur, billed, charge, cost = (sum(v[i] for v in by_prefix.values())
                                           for i in range(6))
    return dur, billed, charge, cost, att, con


async def test_new_duration_for_calls_at_or_above_the_minimum(db, clock):
    ids = await world(db)
    cid = ids["Alice"]
    svc = RecalcService(db, ADMIN, clock)
    spec = RecalcSpec(min_duration_s=30, new_duration_s=6)
    preview = await svc.preview(cid, D, D, spec)
    long_ones = [9100 + 5000 * i for i in range(12) if 9100 + 5000 * i >= 30_000]
    assert preview.calls == len(long_ones) == 7
    assert preview.new_total == 7 * expected_charge(6000)
    result = await svc.run(cid, D, D, spec)
    assert result.new_total == preview.new_total and result.changed == 7
    rows = [r for r in await cdr_rows(db, cid) if r.answered_at is not None]
    assert sorted(r.duration_ms for r in rows) == sorted(
        [9100 + 5000 * i for i in range(5)] + [6000] * 7)
    six = [r for r in rows if r.duration_ms == 6000]
    assert all(r.billed_s == 6 and r.ended_at == r.answered_at + timedelta(seconds=6)
               for r in six)
    # the short calls were outside the recalc: their (wrong) charges stand
    assert sum(1 for r in rows if r.charge == Decimal(1)) == 5
    assert await rollup_sums(db, cid, "h") == await cdr_sums(db, cid)
    cached, recomputed = await balances(db, cid)
    assert cached == recomputed


class Killed(Exception):
    pass


async def test_a_kill_mid_run_then_a_rerun_charges_once(db, clock):
    ids = await world(db)
    cid = ids["Alice"]
    svc = RecalcService(db, ADMIN, clock)
    spec = RecalcSpec()
    want = sum(expected_charge(9100 + 5000 * i) for i in range(12))
    before, _ = await balances(db, cid)

    def kill(n):
        if n == 2:
            raise Killed

    with pytest.raises(Killed):
        await svc.run(cid, D, D, spec, batch=4, after_batch=kill)
    async with db.sessions() as s:
        run = (await s.scalars(select(RecalcRun))).one()
    assert (run.status, run.calls) == ("running", 8)  # two batches landed, whole
    mid, mid_recomputed = await balances(db, cid)
    assert mid == mid_recomputed
    seen = []
    result = await svc.run(cid, D, D, spec, batch=4, progress=lambda d, t: seen.append((d, t)))
    assert result.resumed and result.run_id == run.id and seen == [(12, 12)]
    assert (result.calls, result.old_total, result.new_total) == (12, Decimal(12), want)
    cached, recomputed = await balances(db, cid)
    assert cached == recomputed == before + Decimal(12) - want
    assert await rollup_sums(db, cid, "m") == await cdr_sums(db, cid)
    # and a fresh run on top changes nothing
    await svc.run(cid, D, D, spec)
    assert await balances(db, cid) == (cached, cached)


async def test_cancel_between_batches(db, clock):
    ids = await world(db)
    svc = RecalcService(db, ADMIN, clock)
    asked = []

    def cancelled():
        asked.append(1)
        return len(asked) > 1  # after the first batch

    result = await svc.run(ids["Alice"], D, D, RecalcSpec(), batch=5, cancelled=cancelled)
    assert (result.status, result.calls) == ("cancelled", 5)
    cached, recomputed = await balances(db, ids["Alice"])
    assert cached == recomputed


@pytest.mark.parametrize("role", ["viewer", "operator"])
async def test_recalc_needs_the_admin_role(db, clock, role):
    ids = await world(db)
    svc = RecalcService(db, Actor("bob", role), clock)
    with pytest.raises(PermissionDenied):
        await svc.preview(ids["Alice"], D, D, RecalcSpec())
    with pytest.raises(PermissionDenied):
        await svc.run(ids["Alice"], D, D, RecalcSpec())
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(RecalcRun)) == 0


def test_spec_validation():
    with pytest.raises(ValueError, match="together"):
        RecalcSpec(min_duration_s=5)
    with pytest.raises(ValueError, match="0..86400"):
        RecalcSpec(min_duration_s=5, new_duration_s=-1)
    assert RecalcSpec(60, 30, "operator").describe() == (
        "calls of 60 s or more get 30 s, release reason operator")


async def test_rated_on_the_route_taken_whatever_became_of_auth_and_routes(db, clock):
    """A customer that cannot authenticate any more (no auth entry, route disabled) is
    still recalculated on the route its calls went through; a route deleted since leaves
    its calls as they are, counted as skipped."""
    from sqlalchemy import delete, update

    from connex_tui.data.models import IngressRoute, IpAuth, SipUser

    ids = await world(db)
    async with db.sessions() as s, s.begin():
        await s.execute(delete(IpAuth))
        await s.execute(delete(SipUser))
        await s.execute(update(IngressRoute).values(enabled=False))
    svc = RecalcService(db, ADMIN, clock)
    preview = await svc.preview(ids["Alice"], D, D, RecalcSpec())
    assert (preview.changed, preview.skipped) == (12, 0)
    async with db.sessions() as s, s.begin():
        await s.execute(delete(IngressRoute).where(IngressRoute.id == ids["route"]))
    before = await balances(db, ids["Alice"])
    result = await svc.run(ids["Alice"], D, D, RecalcSpec())
    assert (result.calls, result.changed, result.skipped) == (12, 0, 12)
    assert result.old_total == result.new_total == Decimal(12)
    assert await balances(db, ids["Alice"]) == before


async def test_release_reason_filter(db, clock):
    ids = await world(db)
    svc = RecalcService(db, ADMIN, clock)
    assert (await svc.preview(ids["Alice"], D, D, RecalcSpec(release_reason="operator"))
            ).calls == 0
    assert (await svc.preview(ids["Alice"], D, D, RecalcSpec(release_reason="callee_bye"))
            ).calls == 12
    with pytest.raises(ValueError, match="before"):
        await svc.preview(ids["Alice"], D, D - timedelta(days=1), RecalcSpec())


async def test_each_call_is_rated_at_the_rates_in_force_at_its_start(db, clock):
    """London has 0.008/min from PAST and 0.030/min from FUTURE (sim_world): a call
    before FUTURE is rated at the first, one after at the second, both on prefix 4420."""
    from tests.data import sim_world
    from tests.data.cdr_world import call, write

    ids = await sim_world.build(db)
    later = sim_world.FUTURE + timedelta(days=1)
    await write(db, [call(ids, 1, at=DAY, seconds=60, dialled="442071234567"),
                     call(ids, 2, at=later, seconds=60, dialled="442071234567")])
    svc = RecalcService(db, ADMIN, clock)
    await svc.run(ids["Alice"], D, later.date(), RecalcSpec())
    async with db.sessions() as s:
        rows = (await s.execute(select(Cdr.call_id, Cdr.prefix, Cdr.destination, Cdr.rate,
                                       Cdr.charge).order_by(Cdr.call_id))).all()
    assert [(r.prefix, r.destination, r.rate, r.charge) for r in rows] == [
        ("4420", "London", Decimal("0.008"), Decimal("0.0080")),
        ("4420", "London", Decimal("0.030"), Decimal("0.0300"))]
    # moved from prefix 44 (as written) to 4420 in the per-prefix rollups
    by_prefix = await prefix_sums(db, ids["Alice"], "d")
    assert by_prefix["44"][:2] == (0, 0) and by_prefix["4420"][:2] == (2, 2)
