"""The snapshot loader and its cache: what the engine sees of the database, and when it
rereads it."""

from __future__ import annotations

import ipaddress
from decimal import Decimal

from sqlalchemy import insert, update

from connex_tui.data import config_state
from connex_tui.data.models import Customer, RateCard, RateRow, RoutingScript
from connex_tui.data.snapshot import SnapshotCache, load_snapshot
from connex_tui.engine.snapshot import StrategyCardS, StrategyS
from tests.data import sim_world
from tests.data.sim_world import NOW, PAST


async def bump(db, *, card_id: int | None = None, rows: list[dict] | None = None,
               script: tuple[str, str] | None = None) -> None:
    """A configuration write as the services make it (rows also bump the card version)."""
    async with db.sessions() as s, s.begin():
        if rows:
            await s.execute(insert(RateRow), [{"card_id": card_id, **r} for r in rows])
            await s.execute(update(RateCard).where(RateCard.id == card_id).values(
                version=RateCard.version + 1))
        if script:
            await s.execute(insert(RoutingScript).values(
                name=script[0], body=script[1], version=1, created_at=NOW, updated_at=NOW))
        await config_state.bump(s)


async def test_loader_builds_the_routing_configuration(db):
    ids = await sim_world.build(db)
    snap = await load_snapshot(db)
    alice = snap.customers[ids["Alice"]]
    assert (alice.name, alice.status, alice.balance, alice.debit_limit, alice.available,
            alice.channels, alice.flow_speed) == ("Alice", "active", Decimal(10), Decimal(5),
                                                   Decimal(15), 10, 2)
    # archived Bob and auth-less Carol are not there, nor Bob's auth and routes
    assert set(snap.customers) == {ids["Alice"]}
    assert [a.host for a in snap.ip_auth] == ["192.0.2.0/24", "pbx.alice.example"]
    ingress, egress = snap.ip_auth
    assert ingress.network == ipaddress.ip_network("192.0.2.0/24") and ingress.channels == 5
    assert egress.network is None and egress.direction == "egress"
    user = snap.sip_users["alice1"]
    assert user.ha1 == sim_world.ha1("alice1")
    assert user.ip_whitelist == (ipaddress.ip_network("198.51.100.0/24"),
                                 ipaddress.ip_network("2001:db8::/32"))
    # routes in position order, with dial string lines, filters and strategy rows
    route, disabled = snap.routes[ids["Alice"]]
    assert (route.id, disabled.id) == (ids["route"], ids["route_b"])
    assert route.dial_string == ("44", "^1")
    assert route.capped_rate == Decimal("0.5") and route.profit_assurance
    assert route.lock_cards == {ids["UK-A"], ids["UK-B"]} and not route.exclude_cards
    assert disabled.exclude_cards == {ids["UK-B"]} and not disabled.enabled
    assert route.strategies == (
        StrategyS("", "lcr", ()),
        StrategyS("447", "priority", (StrategyCardS(ids["UK-A"], 1, 1),
                                      StrategyCardS(ids["UK-B"], 2, 1))))
    assert [r.forced for r in snap.cli_rules[ids["Alice"]]] == [False, True]
    # cards: parents of the customer card, provider of provider cards, the rows indexed
    retail = snap.cards[ids["Retail"]]
    assert retail.parents == tuple(sorted((ids["UK-A"], ids["UK-B"])))
    assert snap.cards[ids["UK-A"]].provider_id == ids["Acme"]
    assert snap.providers[ids["Acme"]].name == "Acme"
    assert len(retail.index) == 5
    now = int(NOW.timestamp())
    assert retail.index.lookup("442071234567", now).rate == Decimal("0.008")
    assert retail.index.lookup("442071234567", int(PAST.timestamp()) - 1).rate == \
        Decimal("0.010")  # before the London row took effect: the 44 row
    assert retail.index.lookup("449001234", now).blocked
    assert retail.index.lookup("442071234567", None).rate == Decimal("0.030")  # newest


async def test_unchanged_configuration_is_not_reread(db):
    ids = await sim_world.build(db)
    cache = SnapshotCache(db)
    first = await cache.get()
    assert await cache.get() is first
    assert (cache.loads, cache.cards_loaded) == (1, 3)
    # a balance move is not configuration: same snapshot
    await sim_world.set_balance_and_status(db, ids["Alice"], credit=Decimal(1))
    assert await cache.get() is first


async def test_a_bump_reloads_but_keeps_unchanged_card_indexes(db):
    ids = await sim_world.build(db)
    cache = SnapshotCache(db)
    first = await cache.get()
    await bump(db)  # e.g. a CLI rule edit
    second = await cache.get()
    assert second is not first and second.generation == first.generation + 1
    assert cache.cards_loaded == 3  # no card reread
    assert all(second.cards[c].index is first.cards[c].index for c in first.cards)
    assert second.ip_auth[0].network is first.ip_auth[0].network  # hosts not parsed again
    # new rows in one card: that card alone is reread, and the new prefix is there
    await bump(db, card_id=ids["UK-B"], rows=[{
        "prefix": "4479", "destination": "UK Mobile Other", "rate": Decimal("0.009")}])
    third = await cache.get()
    assert cache.cards_loaded == 4
    assert third.cards[ids["UK-A"]].index is first.cards[ids["UK-A"]].index
    assert third.cards[ids["UK-B"]].index.lookup("447912345678", None).prefix == "4479"


async def test_refresh_customer_rereads_balance_and_status(db):
    ids = await sim_world.build(db)
    cache = SnapshotCache(db)
    await cache.get()
    assert await cache.refresh_customer(ids["Alice"]) is None  # nothing changed
    await sim_world.set_balance_and_status(db, ids["Alice"], credit=Decimal("-20"),
                                           status="penalty")
    snap = await cache.refresh_customer(ids["Alice"])
    assert snap is not None
    assert snap.customers[ids["Alice"]].balance == Decimal(-10)
    assert snap.customers[ids["Alice"]].status == "penalty"
    assert (await cache.get()).customers[ids["Alice"]].available == Decimal(-5)


async def test_archive_and_restore_are_seen_without_a_configuration_bump(db):
    ids = await sim_world.build(db)
    cache = SnapshotCache(db)
    await cache.get()
    async with db.sessions() as s, s.begin():
        await s.execute(update(Customer).where(Customer.id == ids["Alice"])
                        .values(archived_at=NOW))
    snap = await cache.get()  # one live customer fewer: reloaded
    assert ids["Alice"] not in snap.customers and not snap.ip_auth
    async with db.sessions() as s, s.begin():
        await s.execute(update(Customer).where(Customer.id.in_([ids["Alice"], ids["Bob"]]))
                        .values(archived_at=None))
    snap = await cache.get()
    assert {ids["Alice"], ids["Bob"]} <= set(snap.customers)
    assert "192.0.2.200" in [a.host for a in snap.ip_auth]
    assert cache.cards_loaded == 3  # card indexes survived both reloads


async def test_archived_between_get_and_refresh_reloads(db):
    ids = await sim_world.build(db)
    cache = SnapshotCache(db)
    await cache.get()
    async with db.sessions() as s, s.begin():
        await s.execute(update(Customer).where(Customer.id == ids["Alice"])
                        .values(archived_at=NOW))
    snap = await cache.refresh_customer(ids["Alice"])
    assert snap is not None and ids["Alice"] not in snap.customers


async def test_a_script_that_does_not_parse_is_skipped_with_a_warning(db):
    await sim_world.build(db)
    await bump(db, script=("broken", "- match: {number: '('}\n  reject: nonsense"))
    await bump(db, script=("fine", "- match: {number: '^449'}\n  reject: 403 Premium"))
    cache = SnapshotCache(db)
    snap = await cache.get()
    assert len(snap.scripts) == 1
    assert len(cache.warnings) == 1 and "'broken'" in cache.warnings[0]


async def test_archive_and_restore_through_the_service_take_effect_for_the_next_call(db):
    """Erase one customer and restore another: the count of live customers is unchanged,
    so only the service's configuration bump can tell the cache."""
    from connex_tui.data.access import Actor
    from connex_tui.data.customers import CustomerService

    ids = await sim_world.build(db)
    svc = CustomerService(db, Actor("tester", "admin"), clock=lambda: NOW)
    cache = SnapshotCache(db)
    assert ids["Bob"] not in (await cache.get()).customers
    assert await svc.delete(ids["Carol"]) == "erase"
    await svc.restore(ids["Bob"])
    snap = await cache.get()
    assert ids["Bob"] in snap.customers and ids["Carol"] not in snap.customers


async def test_a_new_card_that_reuses_a_deleted_cards_id_is_not_served_stale_rows(db):
    cache = SnapshotCache(db)

    async def card_with(rate: str, created) -> int:
        async with db.sessions() as s, s.begin():
            cid = await s.scalar(insert(RateCard).values(
                name=f"C{rate}", currency="USD", direction="customer", precision=4,
                rounding="up", version=1, created_at=created, updated_at=created)
                .returning(RateCard.id))
        await bump(db, card_id=cid, rows=[{"prefix": "44", "destination": "UK",
                                           "rate": Decimal(rate), "mcd": 1, "pulse": 1}])
        return cid

    first = await card_with("0.01", PAST)
    assert (await cache.get()).cards[first].index.lookup("4420").rate == Decimal("0.01")
    async with db.sessions() as s, s.begin():
        await s.execute(RateCard.__table__.delete().where(RateCard.id == first))
    second = await card_with("0.50", NOW)
    if second != first:  # PostgreSQL never reuses ids: nothing to prove there
        return
    assert (await cache.get()).cards[second].index.lookup("4420").rate == Decimal("0.50")
