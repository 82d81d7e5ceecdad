"""CallsService: simulations against the live configuration, stored SIM-… CDRs, reopening,
Latest Calls search, and the Simulate dialog's default IP."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from connex_tui.data.access import Actor
from connex_tui.data.calls import CallsService, first_host
from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.customers import CustomerService
from connex_tui.data.models import Cdr, Dialog, IpAuth, LedgerEntry, StatsRollup
from connex_tui.data.rate_cards import RatesService
from connex_tui.engine.report import result_to_json
from connex_tui.engine.snapshot import CallInput
from tests.data import sim_world
from tests.data.sim_world import NOW

LONDON = CallInput("442071234567", "441234567", "192.0.2.9")


def calls(db, clock, role: str = "admin") -> CallsService:
    return CallsService(db, Actor(role, role), clock)


async def cdr_row(db, call_id: str) -> Cdr:
    async with db.sessions() as s:
        return await s.scalar(select(Cdr).where(Cdr.call_id == call_id))


async def count(db, model) -> int:
    async with db.sessions() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def test_a_simulation_is_stored_as_a_sim_cdr_and_reopens(db, clock):
    ids = await sim_world.build(db)
    svc = calls(db, clock)
    ledger_before = await count(db, LedgerEntry)
    sim = await svc.simulate(LONDON)
    assert sim.result.allowed and sim.result.rate == Decimal("0.008")
    assert re.fullmatch(r"SIM-20250314123000-[0-9a-f]{6}", sim.call_id)
    row = await cdr_row(db, sim.call_id)
    assert (row.customer_id, row.route_id, row.simulated, row.sip_code, row.sip_reason) == (
        ids["Alice"], ids["route"], True, 200, "OK")
    assert (row.dialled, row.cli_in, row.source_ip, row.prefix, row.destination) == (
        "442071234567", "441234567", "192.0.2.9", "4420", "London")
    assert (row.rate, row.charge, row.duration_ms) == (Decimal("0.008"), Decimal(0), 0)
    assert row.started_at == row.ended_at == NOW
    assert json.loads(row.detail) == result_to_json(sim.result)
    assert await svc.reopen(sim.call_id) == sim.result
    # simulations cost nothing and count nowhere
    assert await count(db, LedgerEntry) == ledger_before
    assert await count(db, StatsRollup) == 0


async def test_a_rejected_call_is_stored_too(db, clock):
    await sim_world.build(db)
    svc = calls(db, clock)
    sim = await svc.simulate(CallInput("442071234567", "441234567", "203.0.113.99"))
    assert (sim.result.sip_code, sim.result.reason) == (403, "IP Not Authorised")
    row = await cdr_row(db, sim.call_id)
    assert row.customer_id is None and row.sip_code == 403
    assert (await svc.reopen(sim.call_id)).reason == "IP Not Authorised"


async def test_a_call_no_customer_claims_is_listed_on_the_tab_that_ran_it(db, clock):
    ids = await sim_world.build(db)
    svc = calls(db, clock)
    sim = await svc.simulate(CallInput("442071234567", "441234567", "203.0.113.99"),
                             for_customer=ids["Carol"])
    assert sim.result.customer_id is None
    assert [c.call_id for c in await svc.latest(ids["Carol"])] == [sim.call_id]


async def test_viewer_and_no_store_simulate_without_writing(db, clock):
    await sim_world.build(db)
    viewer = await calls(db, clock, "viewer").simulate(LONDON)
    unstored = await calls(db, clock).simulate(LONDON, store=False)
    assert viewer.call_id is None and unstored.call_id is None
    assert viewer.result == unstored.result and viewer.result.allowed
    assert await count(db, Cdr) == 0


async def test_reopen_of_a_real_cdr_or_unknown_id_is_none(db, clock):
    ids = await sim_world.build(db)
    async with db.sessions() as s, s.begin():
        await write_batch(s, [CdrInput("real-1", ids["Alice"], NOW, NOW, "4420", 486)], at=NOW)
    svc = calls(db, clock)
    assert await svc.reopen("real-1") is None
    assert await svc.reopen("SIM-nope") is None


async def test_configuration_and_balance_changes_are_seen_by_the_next_simulation(db, clock):
    ids = await sim_world.build(db)
    svc = calls(db, clock)
    assert (await svc.simulate(LONDON, store=False)).result.prefix == "4420"
    # a rate row added through the rates service: in effect for the next call
    await RatesService(db, Actor("a")).add_row(ids["Retail"], {
        "prefix": "44207", "destination": "London Central", "rate": "0.0070",
        "increment": "1/1"})
    result = (await svc.simulate(LONDON, store=False)).result
    assert (result.prefix, result.rate) == ("44207", Decimal("0.007"))
    # balance moves with traffic, not configuration: still seen at once
    await sim_world.set_balance_and_status(db, ids["Alice"], credit=Decimal(-15))
    result = (await svc.simulate(LONDON, store=False)).result
    assert (result.sip_code, result.reason) == (402, "Payment Required")
    await sim_world.set_balance_and_status(db, ids["Alice"], credit=Decimal(100))
    assert (await svc.simulate(LONDON, store=False)).result.allowed
    # a status edit through the customer form
    customers = CustomerService(db, Actor("a"), clock)
    detail = await customers.get(ids["Alice"])
    await customers.update(detail.id, detail.version,
                           {**detail.form_values(), "status": "inactive"})
    result = (await svc.simulate(LONDON, store=False)).result
    assert (result.sip_code, result.reason) == (403, "Account Inactive")


async def _dialogs(db, ids, n: int, age: timedelta, route: str = "route") -> None:
    """n live calls of Alice: on her main route from her IP, or on route_b by SIP user."""
    async with db.sessions() as s, s.begin():
        await s.execute(insert(Dialog), [
            {"call_id": f"live-{route}-{age.total_seconds()}-{i}", "customer_id": ids["Alice"],
             "ip_auth_id": ids["alice_ip"] if route == "route" else None,
             "route_id": ids[route], "dialled": "4420",
             "started_at": NOW - age} for i in range(n)])


async def test_live_dialogs_count_against_channels_and_flow_speed(db, clock):
    ids = await sim_world.build(db)
    svc = calls(db, clock)
    await _dialogs(db, ids, 2, timedelta(minutes=5))
    assert (await svc.simulate(LONDON, store=False)).result.allowed  # route 2/3
    await _dialogs(db, ids, 2, timedelta(milliseconds=300), route="route_b")
    result = (await svc.simulate(LONDON, store=False)).result  # customer 2 calls this second
    assert (result.sip_code, result.reason) == (503, "CPS Limit (customer)")
    earlier = replace(LONDON, at=NOW - timedelta(seconds=10))  # before those two started
    assert (await svc.simulate(earlier, store=False)).result.allowed
    clock.advance(seconds=2)
    await _dialogs(db, ids, 1, timedelta(minutes=1))  # third live call on the route
    result = (await svc.simulate(LONDON, store=False)).result
    assert (result.sip_code, result.reason) == (503, "Channel Limit (route)")
    await _dialogs(db, ids, 3, timedelta(minutes=2), route="route_b")  # the usage adds up
    result = (await svc.simulate(LONDON, store=False)).result
    assert "live calls customer 8/10, auth 3/5, route 3/3" in result.trace[4]


async def test_latest_lists_newest_first_and_searches(db, clock):
    ids = await sim_world.build(db)
    svc = calls(db, clock)
    async with db.sessions() as s, s.begin():
        await write_batch(s, [CdrInput(
            "a84f-real", ids["Alice"], NOW - timedelta(hours=1), NOW - timedelta(hours=1),
            "4930123456", 200, cli_in="4915112345", source_ip="192.0.2.77")], at=NOW)
    first = await svc.simulate(LONDON)
    clock.advance(seconds=5)
    second = await svc.simulate(CallInput("447912345678", "44700900", "192.0.2.10"))
    assert [r.call_id for r in await svc.latest(ids["Alice"])] == [
        second.call_id, first.call_id, "a84f-real"]
    assert (await svc.latest(ids["Alice"]))[0].simulated

    async def found(query: str) -> list[str]:
        return [r.call_id for r in await svc.latest(ids["Alice"], query)]

    assert await found("+44 20 7123") == [first.call_id]  # number, typed as E.164
    assert await found("4915112") == ["a84f-real"]  # CLI
    assert await found("192.0.2.77") == ["a84f-real"]  # source IP
    assert await found(second.call_id.lower()) == [second.call_id]  # call id, any case
    assert await found("sim-") == [second.call_id, first.call_id]
    assert await found("%") == [] and await found("_") == []  # LIKE wildcards are literal
    assert [r.call_id for r in await svc.latest(ids["Alice"], limit=1)] == [second.call_id]
    assert await svc.latest(ids["Carol"]) == []


async def test_default_ip_is_the_first_ingress_host(db, clock):
    ids = await sim_world.build(db)
    svc = calls(db, clock)
    assert await svc.default_ip(ids["Alice"]) == "192.0.2.1"  # first host of the /24
    assert await svc.default_ip(ids["Bob"]) == "192.0.2.200"
    assert await svc.default_ip(ids["Carol"]) == ""
    async with db.sessions() as s, s.begin():
        await s.execute(insert(IpAuth).values(
            customer_id=ids["Carol"], host="pbx.carol.example", direction="egress",
            version=1, created_at=NOW, updated_at=NOW))
    assert await svc.default_ip(ids["Carol"]) == ""  # egress only


def test_first_host_of_networks():
    assert first_host("10.0.0.0/29") == "10.0.0.1"
    assert first_host("10.0.0.8/31") == "10.0.0.8"
    assert first_host("10.0.0.9") == "10.0.0.9"
    assert first_host("2001:db8::/64") == "2001:db8::1"


async def test_a_fixed_run_decides_every_call_against_one_configuration(db, clock):
    ids = await sim_world.build(db)
    svc = calls(db, clock)
    run = await svc.fixed_run(NOW)
    await sim_world.set_balance_and_status(db, ids["Alice"], status="inactive")
    sim = await run.simulate(LONDON)
    assert sim.result.allowed and sim.call_id is None  # the configuration as loaded
    stored = await run.simulate(LONDON, store=True)
    assert (await cdr_row(db, stored.call_id)).started_at == NOW
