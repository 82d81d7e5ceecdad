"""DialogsService: live calls from INVITE to CDR, an operator ending one, the live usage the
pipeline's limits read (SIP users included)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from connex_tui.data import config_state, dialogs
from connex_tui.data.access import Actor, PermissionDenied
from connex_tui.data.calls import CallsService
from connex_tui.data.dialogs import Admitted, DialogsService, Hangup, Rejected, Tick
from connex_tui.data.models import AuditEntry, Cdr, Dialog, LedgerEntry, SipUser
from connex_tui.engine.pipeline import decide
from connex_tui.engine.snapshot import CallInput
from tests.data import sim_world
from tests.data.sim_world import NOW, PASSWORD

LONDON = CallInput("442071234567", "441234567", "192.0.2.9", at=NOW)
SIP = CallInput("442071234567", "441234567", "198.51.100.7", at=NOW, sip_user="alice1",
                sip_password=PASSWORD)


def service(db, clock, role: str = "admin") -> DialogsService:
    return DialogsService(db, Actor(role, role), clock)


async def admit(svc: DialogsService, call: CallInput, call_id: str) -> Admitted:
    result = decide(await svc.cache.get(), call)
    assert result.allowed, result.reason
    admitted = Admitted(call_id, call, result)
    await svc.start(admitted)
    return admitted


async def cdr_row(db, call_id: str) -> Cdr | None:
    async with db.sessions() as s:
        return await s.scalar(select(Cdr).where(Cdr.call_id == call_id))


async def calls_ledger(db, customer_id: int) -> Decimal:
    async with db.sessions() as s:
        return await s.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.customer_id == customer_id, LedgerEntry.kind == "calls"))


async def test_a_call_goes_from_trying_to_a_rated_cdr(db, clock):
    ids = await sim_world.build(db)
    svc = service(db, clock)
    await admit(svc, LONDON, "c-1")
    [live] = await svc.live(ids["Alice"])
    assert (live.call_id, live.customer, live.state, live.dialled, live.cli, live.provider,
            live.source_ip, live.started_at, live.answered_at) == (
        "c-1", "Alice", "trying", "442071234567", "441234567", "Acme", "192.0.2.9", NOW, None)
    await svc.ring("c-1", NOW + timedelta(milliseconds=2300))
    assert [c.state for c in await svc.live()] == ["ringing"]
    answered = NOW + timedelta(seconds=5)
    await svc.answer("c-1", answered)
    assert [(c.state, c.answered_at) for c in await svc.live()] == [("answered", answered)]
    assert await svc.hang_up("c-1", at=answered + timedelta(milliseconds=61_200))
    assert await svc.live() == []
    row = await cdr_row(db, "c-1")
    # 61.2 s -> 62 s at 1/1; 62/60 x 0.008 = 0.00826.. rounded up to 4 places
    assert (row.duration_ms, row.billed_s, row.charge, row.provider_cost) == (
        61_200, 62, Decimal("0.0083"), Decimal("0.0052"))
    assert (row.sip_code, row.release_reason, row.pdd_ms, row.prefix, row.destination) == (
        200, "callee_bye", 2300, "4420", "London")
    assert (row.answered_at, row.route_id, row.source_ip) == (answered, ids["route"],
                                                              "192.0.2.9")
    assert await calls_ledger(db, ids["Alice"]) == Decimal("-0.0083")
    assert dialogs.carried("c-1") is None  # nothing kept once the call is over


async def test_one_tick_writes_starts_moves_hangups_and_rejections_at_once(db, clock):
    ids = await sim_world.build(db)
    svc = service(db, clock)
    snap = await svc.cache.get()
    ok = Admitted("t-1", LONDON, decide(snap, LONDON))
    bad_call = CallInput("442071234567", "441234567", "203.0.113.9", at=NOW)
    bad = Rejected("t-2", bad_call, decide(snap, bad_call), NOW, owner=ids["Alice"])
    busy_at = NOW + timedelta(seconds=1)
    done = await svc.apply(Tick(started=[ok], ended=[Hangup("t-1", busy_at, 486, "Busy Here",
                                                            "busy")], rejected=[bad]))
    assert [c.call_id for c in done.cdrs] == ["t-1", "t-2"] and done.gone == ()
    busy, refused = await cdr_row(db, "t-1"), await cdr_row(db, "t-2")
    assert (busy.sip_code, busy.charge, busy.answered_at, busy.pdd_ms) == (
        486, Decimal(0), None, None)
    assert (refused.customer_id, refused.sip_code, refused.release_reason) == (
        ids["Alice"], 403, "rejected")
    assert await svc.live() == []


@pytest.mark.parametrize("in_this_process", [True, False])
async def test_an_operator_ends_a_call_it_is_written_with_reason_operator(
        db, clock, in_this_process):
    """Ended by the process that admitted it, or by another one (the CLI, a second
    console) that reads the decision again from the dialog: the same CDR either way."""
    ids = await sim_world.build(db)
    switch = service(db, clock)
    await admit(switch, SIP, "op-1")
    await switch.answer("op-1", NOW + timedelta(seconds=4))
    if not in_this_process:
        dialogs._CARRIED.clear()
    clock.advance(seconds=4 + 30)
    operator = service(db, clock, "operator")
    assert await operator.end("op-1")
    row = await cdr_row(db, "op-1")
    assert (row.release_reason, row.sip_code, row.duration_ms, row.billed_s, row.charge) == (
        "operator", 200, 30_000, 30, Decimal("0.0040"))
    assert (row.dialled, row.cli_out, row.destination) == ("442071234567", "441234567",
                                                           "London")
    assert await calls_ledger(db, ids["Alice"]) == Decimal("-0.0040")
    assert await operator.live() == []
    # the switch's own hang-up comes too late: nothing is written twice
    assert not await switch.hang_up("op-1", at=clock())
    assert not await operator.end("op-1")
    async with db.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Cdr)) == 1
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.table_name == "dialogs"))
    assert (entry.operator, entry.action, entry.customer_id) == ("operator", "end",
                                                                ids["Alice"])


async def test_ending_an_unanswered_call_is_a_487_at_no_charge(db, clock):
    ids = await sim_world.build(db)
    svc = service(db, clock)
    await admit(svc, LONDON, "r-1")
    await svc.ring("r-1", NOW + timedelta(seconds=2))
    clock.advance(seconds=9)
    assert await svc.end("r-1")
    row = await cdr_row(db, "r-1")
    assert (row.sip_code, row.release_reason, row.charge, row.pdd_ms) == (
        487, "operator", Decimal(0), 2000)
    assert await calls_ledger(db, ids["Alice"]) == 0


async def test_a_viewer_may_not_end_a_call(db, clock):
    await sim_world.build(db)
    await admit(service(db, clock), LONDON, "v-1")
    with pytest.raises(PermissionDenied):
        await service(db, clock, "viewer").end("v-1")
    assert [c.call_id for c in await service(db, clock).live()] == ["v-1"]


async def test_sip_user_live_calls_count_against_its_channel_limit(db, clock):
    ids = await sim_world.build(db)
    async with db.sessions() as s, s.begin():
        await s.execute(update(SipUser).where(SipUser.id == ids["alice1"]).values(channels=1))
        await config_state.bump(s)
    svc = service(db, clock)
    await admit(svc, SIP, "s-1")
    async with db.sessions() as s:
        assert await s.scalar(select(Dialog.sip_user_id)) == ids["alice1"]
    calls = CallsService(db, Actor("a", "admin"), clock)
    usage = await calls.usage(NOW)
    assert usage.live[("sip_user", ids["alice1"])] == 1
    second = await calls.decide(SIP)
    assert (second.sip_code, second.reason) == (503, "Channel Limit (auth)")
    await svc.hang_up("s-1", at=NOW + timedelta(seconds=1))
    assert (await calls.decide(SIP)).allowed


async def test_two_consoles_see_the_same_live_calls_and_one_end(db, db_url, clock):
    """Two processes (two engines on one database): each lists the other's calls, and a
    call ended by one is not written again by the other."""
    from connex_tui.data.db import Database

    await sim_world.build(db)
    switch = service(db, clock)
    await admit(switch, LONDON, "two-1")
    await admit(switch, SIP, "two-2")
    other_db = Database(db_url)
    try:
        other = DialogsService(other_db, Actor("olga", "operator"), clock)
        assert [c.call_id for c in await other.live()] == ["two-1", "two-2"]
        clock.advance(seconds=3)
        assert await other.end("two-2")
        assert [c.call_id for c in await switch.live()] == ["two-1"]
        assert not await switch.hang_up("two-2", at=clock())
        assert (await other.counts()) == {(await other.live())[0].customer_id: 1}
    finally:
        await other_db.dispose()
    assert (await cdr_row(db, "two-2")).release_reason == "operator"


async def test_calls_up_past_their_max_duration_are_reaped(db, clock):
    """A dead switch's calls (or seeded ones) do not hold channels for ever."""
    ids = await sim_world.build(db)
    svc = service(db, clock)
    old = NOW - timedelta(hours=3)
    await admit(svc, replace(LONDON, at=old), "old-answered")
    await svc.answer("old-answered", old + timedelta(seconds=5))
    await admit(svc, replace(LONDON, at=old), "old-trying")
    await admit(svc, replace(LONDON, at=NOW - timedelta(minutes=30)), "recent")
    await svc.answer("recent", NOW - timedelta(minutes=29))
    dialogs._CARRIED.clear()  # as another process finds them
    assert await svc.reap(NOW) == 2
    assert [c.call_id for c in await svc.live()] == ["recent"]
    answered, trying = await cdr_row(db, "old-answered"), await cdr_row(db, "old-trying")
    # the route's max duration is 7200 s: billed that, not the 3 hours the row stayed
    assert (answered.sip_code, answered.release_reason, answered.duration_ms,
            answered.billed_s, answered.charge) == (200, "max_duration", 7_200_000, 7200,
                                                    Decimal("0.9600"))
    assert (trying.sip_code, trying.release_reason, trying.charge) == (408, "timeout", 0)
    assert await calls_ledger(db, ids["Alice"]) == Decimal("-0.9600")
    assert await svc.reap(NOW) == 0
