"""The traffic simulator (feeds/traffic) on the small routing world of sim_world: every
attempt decided by decide(), dialogs from INVITE to CDR, batches of at most a second, the
ledger charged, SIP-user channel limits, and an operator ending a call under traffic."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from connex_tui.data import config_state
from connex_tui.data.access import Actor, DatabaseBusy
from connex_tui.data.calls import CallsService
from connex_tui.data.dialogs import DialogsService, Tick
from connex_tui.data.models import (
    Cdr,
    Customer,
    Dialog,
    IngressRoute,
    IpAuth,
    LedgerEntry,
    SipUser,
)
from connex_tui.engine.pipeline import decide
from connex_tui.engine.snapshot import Usage
from connex_tui.feeds.traffic import Switch, TrafficError, TrafficOptions
from tests.data import sim_world
from tests.data.sim_world import NOW, PASSWORD

SYSTEM = Actor("traffic", "operator")


def switch(db, clock, *, cps: float = 30, seed: int = 3, customers=(), on_decision=None,
           ) -> Switch:
    dialogs = DialogsService(db, SYSTEM, clock)
    return Switch(dialogs, CallsService(db, SYSTEM, clock, cache=dialogs.cache),
                  TrafficOptions(cps=cps, seed=seed, customers=customers,
                                 sip_password=PASSWORD), clock=clock,
                  on_decision=on_decision)


async def run_for(sw: Switch, seconds: float, step: float = 1.0) -> None:
    """Drive the switch on simulated time (no sleeping): as run() does, tick by tick."""
    if sw.last is None:
        await sw.prepare()
        sw.start(NOW)
    start = sw.last
    for k in range(1, int(seconds / step) + 1):
        await sw.step(start + timedelta(seconds=k * step))


async def scalar(db, stmt):
    async with db.sessions() as s:
        return await s.scalar(stmt)


async def unlimited(db, ids) -> None:
    """Alice without her CPS and channel limits (the world's are tiny: 2 CPS, 3 calls)."""
    async with db.sessions() as s, s.begin():
        await s.execute(update(Customer).where(Customer.id == ids["Alice"]).values(
            flow_speed=0, channels=0))
        await s.execute(update(IngressRoute).where(IngressRoute.id == ids["route"]).values(
            channels=0))
        await s.execute(update(IpAuth).where(IpAuth.id == ids["alice_ip"]).values(
            channels=0))
        await config_state.bump(s)


async def test_every_decision_is_decide_s_on_the_same_inputs(db, clock):
    await sim_world.build(db)
    seen = []

    def check(call, usage, result):
        same = Usage(dict(usage.live), dict(usage.last_second))
        seen.append((call, result, decide(sw.snap, call, same)))

    sw = switch(db, clock, on_decision=check)
    await run_for(sw, 10)
    assert len(seen) > 150
    assert all(result == expected for _, result, expected in seen)
    # both kinds of origin, and both outcomes, were exercised
    assert {c.sip_user for c, _, _ in seen} == {None, "alice1"}
    assert {r.allowed for _, r, _ in seen} == {True, False}
    assert any(r.reason.startswith("CPS Limit") for _, r, _ in seen)  # Alice: 2 CPS


async def test_calls_live_as_dialogs_and_end_as_cdrs_charged_in_batches_of_a_second(db, clock):
    ids = await sim_world.build(db)
    await unlimited(db, ids)
    sw = switch(db, clock, cps=8)
    spans = []
    apply = sw.dialogs.apply

    async def recording(tick: Tick):
        times = ([a.call.at for a in tick.started] + [t for _, t in tick.ringing]
                 + [t for _, t in tick.answered] + [h.at for h in tick.ended]
                 + [r.call.at for r in tick.rejected])
        spans.append(max(times) - min(times))
        return await apply(tick)

    sw.dialogs.apply = recording
    await run_for(sw, 90)
    live = await scalar(db, select(func.count()).select_from(Dialog))
    assert live == len(sw.live) > 0  # what the switch holds up is what the table shows
    assert {s for (s,) in await scalar_rows(db, select(Dialog.state).distinct())} == {
        "trying", "ringing", "answered"}
    await sw.stop(sw.last)
    assert await scalar(db, select(func.count()).select_from(Dialog)) == 0
    cdrs = await scalar(db, select(func.count()).select_from(Cdr))
    assert cdrs == sw.summary.attempts == sw.summary.cdrs > 500
    answered = await scalar(db, select(func.count()).select_from(Cdr).where(
        Cdr.answered_at.is_not(None)))
    assert answered > 50
    charged = await scalar(db, select(func.sum(Cdr.charge)))
    debited = await scalar(db, select(func.sum(LedgerEntry.amount)).where(
        LedgerEntry.kind == "calls"))
    assert charged > 0 and debited == -charged
    assert max(spans) <= timedelta(seconds=1)
    reasons = {r for (r,) in (await scalar_rows(db, select(Cdr.release_reason).distinct()))}
    assert {"rejected", "shutdown", "busy"} <= reasons and reasons & {"callee_bye",
                                                                      "caller_bye"}


async def scalar_rows(db, stmt):
    async with db.sessions() as s:
        return (await s.execute(stmt)).all()


async def test_a_sip_user_never_holds_more_calls_than_its_channels(db, clock):
    ids = await sim_world.build(db)
    await unlimited(db, ids)
    async with db.sessions() as s, s.begin():
        await s.execute(update(SipUser).where(SipUser.id == ids["alice1"]).values(channels=1))
        await config_state.bump(s)
    held = []

    def check(call, usage, result):
        if call.sip_user:
            held.append((usage.live.get(("sip_user", ids["alice1"]), 0), result))

    await run_for(switch(db, clock, cps=10, on_decision=check), 30)
    assert all(n == 0 for n, r in held if r.allowed)
    assert any(r.reason == "Channel Limit (auth)" for n, r in held if n >= 1)


async def test_an_operator_ends_a_call_under_traffic(db, clock):
    ids = await sim_world.build(db)
    await unlimited(db, ids)
    sw = switch(db, clock, cps=5)
    await run_for(sw, 10)
    victim = next(iter(sw.live))
    console = DialogsService(db, Actor("olga", "operator"), clock)
    clock.now = sw.last
    assert await console.end(victim)
    await run_for(sw, 5)
    await sw.stop(sw.last)  # hangs up every call it still holds up, the victim included
    assert sw.summary.ended_elsewhere == 1
    row = (await scalar_rows(db, select(Cdr.release_reason).where(Cdr.call_id == victim)))
    assert row == [("operator",)]
    assert await scalar(db, select(func.count()).select_from(Cdr)) == sw.summary.attempts


async def test_only_the_named_customers_call(db, clock):
    await sim_world.build(db)
    for name in ("Nobody", "carol", "Bob"):  # unknown, no auth, archived
        with pytest.raises(TrafficError, match=f"'{name}': no customer of that name can"):
            await switch(db, clock, customers=(name,)).prepare()
    async with db.sessions() as s, s.begin():
        await s.execute(update(Customer).values(status="inactive"))
    with pytest.raises(TrafficError, match="no active customer"):
        await switch(db, clock).prepare()
    async with db.sessions() as s, s.begin():
        await s.execute(update(Customer).values(status="active"))
    sw = switch(db, clock, customers=("ALICE",))
    await sw.prepare()
    assert [c.name for c in sw.callers] == ["Alice"]


async def test_attempts_are_reproducible_from_the_seed(db, clock):
    await sim_world.build(db)
    runs: list[list] = []
    for _ in range(2):
        calls: list = []
        runs.append(calls)
        sw = switch(db, clock, seed=11, on_decision=lambda c, u, r, out=calls: out.append(
            (c.number, c.cli, c.source_ip, c.at)))
        await sw.prepare()
        sw.start(NOW)
        for k in range(1, 9):
            sw.events.clear()  # only the arrivals matter here: nothing is written
            sw.live.clear()
            await sw._configuration()
            usage = Usage()
            for _ in range(3):
                sw._attempt(sw.snap, usage, NOW + timedelta(seconds=k), Tick())
    assert runs[0] == runs[1] and len(runs[0]) == 24


async def test_a_failed_write_is_written_with_the_next_tick(db, clock):
    ids = await sim_world.build(db)
    await unlimited(db, ids)
    sw = switch(db, clock, cps=10)
    apply = sw.dialogs.apply
    failures = []

    async def flaky(tick: Tick):
        if not failures:
            failures.append(tick)
            raise DatabaseBusy("database is locked")
        return await apply(tick)

    sw.dialogs.apply = flaky
    await sw.prepare()
    sw.start(NOW)
    with pytest.raises(DatabaseBusy):
        await sw.step(NOW + timedelta(seconds=1))
    assert len(sw.unwritten) == 1
    await run_for(sw, 3)
    await sw.stop(sw.last)
    assert sw.unwritten == []
    assert await scalar(db, select(func.count()).select_from(Cdr)) == sw.summary.attempts
    assert await scalar(db, select(func.count()).select_from(Dialog)) == 0


async def test_a_switch_left_with_nobody_to_call_idles_until_callers_return(db, clock):
    ids = await sim_world.build(db)
    await unlimited(db, ids)
    sw = switch(db, clock, cps=10)
    await run_for(sw, 5)
    async with db.sessions() as s, s.begin():  # Alice's only routes disabled
        await s.execute(update(IngressRoute).values(enabled=False))
        await config_state.bump(s)
    before = sw.summary.attempts
    live = len(sw.live)
    await run_for(sw, 60)  # no new attempt; the calls up go on to their end
    assert sw.callers == [] and sw.summary.attempts == before and len(sw.live) < live
    assert await scalar(db, select(func.count()).select_from(Dialog)) == len(sw.live)
    async with db.sessions() as s, s.begin():
        await s.execute(update(IngressRoute).where(IngressRoute.id == ids["route"]).values(
            enabled=True))
        await config_state.bump(s)
    await run_for(sw, 5)
    assert sw.summary.attempts > before


async def test_a_restarted_switch_with_the_same_seed_writes_new_call_ids(db, clock):
    """`make run` twice (the in-app switch always has seed 0): the second run's CDRs must
    not collide with the first's call ids, or every write fails and the traffic stops."""
    ids = await sim_world.build(db)
    await unlimited(db, ids)
    for _ in range(2):
        sw = switch(db, clock, cps=10)
        await run_for(sw, 3)
        await sw.stop(sw.last)
        assert sw.unwritten == []
    assert await scalar(db, select(func.count(func.distinct(Cdr.call_id)))) == await scalar(
        db, select(func.count()).select_from(Cdr)) > 30
