"""Ingress routes, CLI rules and routing scripts (docs/domain.md §4, §5) on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from connex_tui.data.access import Actor, NotFound, PermissionDenied, StaleError
from connex_tui.data.cli_rules import CliRulesService
from connex_tui.data.models import CliRule, IngressRoute, RouteCardFilter, RouteStrategy
from connex_tui.data.rate_cards import RatesService
from connex_tui.data.routes import RoutesService
from connex_tui.data.scripts import ScriptsService
from connex_tui.engine.validation import ValidationError
from tests.data.routing_helpers import audits, count, generation, setup_cards

SCRIPT = "- match: {number: '^4490'}\n  reject: '403 Forbidden'"


@pytest.fixture
def routes(db, clock) -> RoutesService:
    return RoutesService(db, Actor("alice", "admin"), clock)


@pytest.fixture
def svc(db, clock) -> CliRulesService:
    return CliRulesService(db, Actor("alice", "admin"), clock)


@pytest.fixture
def scripts(db, clock) -> ScriptsService:
    return ScriptsService(db, Actor("alice", "admin"), clock)


@pytest.fixture
async def world(db, clock, admin):
    """Cards UK-A, UK-B (provider, USD) under customer card Retail; customer ACME (USD)."""
    rates = RatesService(db, Actor("alice", "admin"), clock)
    ids = await setup_cards(rates)
    ids["customer"] = await admin.create({"name": "ACME", "currency": "USD"})
    return ids


FULL = {
    "rate_card": "Retail", "tech_prefix": "99#", "dial_string": "44\n^33(1|2)",
    "capped_rate": "0.05", "provider_capped_rate": "0.04", "profit_assurance": True,
    "block_connect_cost": True, "channels": "30", "flow_speed": "5", "max_duration": "3600",
    "lock_cards": "UK-B\nUK-A", "exclude_cards": "", "strategy":
    "44 priority UK-B UK-A:5\n4420 weighted UK-A:1:3 UK-B:1\n* lcr",
    "script": "", "rtp_media_proxy": "eu-1", "rtp_proxy_mode": "strict", "enabled": True,
}


async def test_route_create_reads_back_every_field(routes, world, db, admin):
    g0 = await generation(db)
    rid = await routes.create_route(world["customer"], FULL)
    [r] = await routes.routes(world["customer"])
    assert (r.id, r.version, r.customer_id, r.rate_card_id, r.rate_card) == (
        rid, 1, world["customer"], world["Retail"], "Retail")
    assert (r.tech_prefix, r.dial_string) == ("99#", "44\n^33(1|2)")
    assert (r.capped_rate, r.provider_capped_rate) == (Decimal("0.05"), Decimal("0.04"))
    assert (r.profit_assurance, r.block_connect_cost, r.channels, r.flow_speed,
            r.max_duration) == (True, True, 30, 5, 3600)
    assert r.lock_cards == ("UK-A", "UK-B") and r.exclude_cards == ()
    assert r.strategy == FULL["strategy"]
    assert (r.rtp_media_proxy, r.rtp_proxy_mode, r.enabled, r.position) == (
        "eu-1", "strict", True, 0)
    # stored as the snapshot loader reads them: card ids in JSON, filters by kind
    async with db.sessions() as s:
        rows = (await s.scalars(select(RouteStrategy).order_by(RouteStrategy.id))).all()
        assert [(x.prefix, x.mode) for x in rows] == [("44", "priority"),
                                                      ("4420", "weighted"), ("", "lcr")]
        assert json.loads(rows[0].cards) == [
            {"card": world["UK-B"], "priority": 1, "weight": 1},
            {"card": world["UK-A"], "priority": 5, "weight": 1}]
        kinds = set((await s.execute(select(RouteCardFilter.card_id,
                                            RouteCardFilter.kind))).all())
        assert kinds == {(world["UK-A"], "lock"), (world["UK-B"], "lock")}
    assert await generation(db) == g0 + 1
    c = await admin.get(world["customer"])
    assert c.has_route is True
    assert [c.id for c in (await admin.page(query="99#")).rows] == [world["customer"]]
    [(action, row_id, cust, changes)] = await audits(db, "ingress_routes")
    assert (action, row_id, cust) == ("create", rid, world["customer"])
    assert changes["rate_card"] == [None, "Retail"]
    assert changes["lock_cards"] == [None, ["UK-A", "UK-B"]]


async def test_route_form_values_round_trip(routes, world, db):
    rid = await routes.create_route(world["customer"], FULL)
    r = await routes.route(rid)
    await routes.update_route(rid, r.version, r.form_values())
    again = await routes.route(rid)
    assert again.form_values() == r.form_values() and again.version == 2
    assert (await audits(db, "ingress_routes"))[-1][3] == {}
    assert await count(db, RouteStrategy) == 3 and await count(db, RouteCardFilter) == 2


async def test_route_update_replaces_strategy_and_filters(routes, world, db, admin):
    rid = await routes.create_route(world["customer"], FULL)
    r = await routes.route(rid)
    await routes.update_route(rid, r.version, {**r.form_values(), "lock_cards": "",
                                               "exclude_cards": "uk-a", "strategy": "* drop",
                                               "enabled": False, "capped_rate": ""})
    r2 = await routes.route(rid)
    assert (r2.lock_cards, r2.exclude_cards, r2.strategy) == ((), ("UK-A",), "* drop")
    assert (r2.enabled, r2.capped_rate) == (False, None)
    assert await count(db, RouteStrategy) == 1 and await count(db, RouteCardFilter) == 1
    assert (await admin.get(world["customer"])).has_route is False  # no enabled route
    changes = (await audits(db, "ingress_routes"))[-1][3]
    assert changes["strategy"][1] == "* drop" and changes["enabled"] == [True, False]
    with pytest.raises(StaleError):
        await routes.update_route(rid, r.version, r.form_values())


async def test_route_delete_keeps_order_and_clears_children(routes, world, db, admin):
    cid = world["customer"]
    ids = [await routes.create_route(cid, {"rate_card": "Retail", "tech_prefix": p,
                                           "strategy": "* priority UK-A"})
           for p in ("1", "2", "3")]
    assert [r.position for r in await routes.routes(cid)] == [0, 1, 2]
    await routes.delete_route(ids[1])
    assert [(r.id, r.position) for r in await routes.routes(cid)] == [(ids[0], 0), (ids[2], 2)]
    new = await routes.create_route(cid, {"rate_card": "Retail", "tech_prefix": "4"})
    assert (await routes.route(new)).position == 3
    for rid in (ids[0], ids[2], new):
        await routes.delete_route(rid)
    assert await count(db, RouteStrategy) == 0
    assert (await admin.get(cid)).has_route is False
    assert [a for a, *_ in await audits(db, "ingress_routes")][-1] == "delete"
    with pytest.raises(NotFound):
        await routes.delete_route(ids[0])


@pytest.mark.parametrize(("raw", "field", "message"), [
    ({"rate_card": "Nope"}, "rate_card", "no customer rate card named 'Nope'"),
    ({"rate_card": "UK-A"}, "rate_card", "no customer rate card named 'UK-A'"),
    ({"rate_card": "Euro"}, "rate_card", "'Euro' is in EUR; ACME is billed in USD"),
    ({"lock_cards": "UK-A\nRetail"}, "lock_cards", "no provider rate card named 'Retail'"),
    ({"exclude_cards": "Ghost"}, "exclude_cards", "no provider rate card named 'Ghost'"),
    ({"strategy": "* lcr\n44 priority UK-A Ghost"}, "strategy",
     "line 2: no provider rate card named 'Ghost'"),
    ({"script": "night"}, "script", "no routing script named 'night'"),
])
async def test_route_unknown_names_by_field(routes, world, db, raw, field, message):
    rates = RatesService(db, Actor("alice", "admin"), routes.clock)
    await rates.create_card({"name": "Euro", "currency": "EUR", "direction": "customer"})
    with pytest.raises(ValidationError) as info:
        await routes.create_route(world["customer"], {"rate_card": "Retail", **raw})
    assert info.value.errors == {field: message}
    assert await count(db, IngressRoute) == 0


async def test_same_tech_prefix_needs_another_dial_string(routes, world):
    cid = world["customer"]
    await routes.create_route(cid, {"rate_card": "Retail", "tech_prefix": "12",
                                    "dial_string": "44"})
    other = await routes.create_route(cid, {"rate_card": "Retail", "tech_prefix": "12",
                                            "dial_string": "33"})
    catch_all = await routes.create_route(cid, {"rate_card": "Retail", "tech_prefix": "12"})
    with pytest.raises(ValidationError) as info:
        await routes.create_route(cid, {"rate_card": "Retail", "tech_prefix": "12",
                                        "dial_string": " 44 \n"})
    assert info.value.errors == {
        "tech_prefix": "another route has tech prefix 12 and the same dial string"}
    r = await routes.route(other)
    with pytest.raises(ValidationError) as info:
        await routes.update_route(other, r.version, {**r.form_values(), "dial_string": ""})
    assert info.value.errors == {
        "tech_prefix": "another route has tech prefix 12 and an empty dial string"}
    c = await routes.route(catch_all)
    await routes.update_route(catch_all, c.version, c.form_values())  # itself is no clash


async def test_route_for_unknown_customer(routes, world):
    with pytest.raises(NotFound):
        await routes.create_route(999, {"rate_card": "Retail"})


async def test_card_names_for_select_fields(routes, world):
    assert await routes.card_names("customer") == ["Retail"]
    assert await routes.card_names("provider") == ["UK-A", "UK-B"]
    assert await routes.card_names("customer", "USD") == ["Retail"]
    assert await routes.card_names("customer", "EUR") == []


async def test_form_choices_are_the_card_names_and_the_scripts_in_one_read(routes, scripts,
                                                                           world):
    assert await routes.form_choices("USD") == (["Retail"], ["UK-A", "UK-B"], [])
    assert await routes.form_choices("EUR") == ([], ["UK-A", "UK-B"], [])
    for name in ("night", "Day"):
        await scripts.create_script({"name": name, "body": SCRIPT})
    assert (await routes.form_choices("USD"))[2] == ["Day", "night"]  # as the list sorts


# -- CLI rules ----------------------------------------------------------------------------
async def test_cli_rules_round_trip_order_and_audit(svc, world, db):
    cid = world["customer"]
    g0 = await generation(db)
    first = await svc.create_cli_rule(cid, {"cli": r"^44(\d+)$", "rewrite_cli": r"0\1"})
    second = await svc.create_cli_rule(cid, {"cli": "", "forced": True,
                                                "rewrite_cli": "442000000000"})
    rules = await svc.cli_rules(cid)
    assert [(r.id, r.position, r.forced) for r in rules] == [(first, 1, False),
                                                            (second, 2, True)]
    r = rules[0]
    await svc.update_cli_rule(first, r.version, r.form_values())
    assert (await svc.cli_rules(cid))[0].form_values() == r.form_values()
    await svc.update_cli_rule(first, 2, {**r.form_values(), "position": "5",
                                            "p_asserted_id": "$1"})
    rules = await svc.cli_rules(cid)
    assert [x.id for x in rules] == [second, first]
    assert rules[1].p_asserted_id == "$1"
    with pytest.raises(StaleError):
        await svc.update_cli_rule(first, 2, r.form_values())
    # the order typed is the order tried: a new rule at 1 goes first, the others move down
    third = await svc.create_cli_rule(cid, {"cli": "^33", "position": "1"})
    assert [(x.id, x.position) for x in await svc.cli_rules(cid)] == [
        (third, 1), (second, 2), (first, 3)]
    async with db.sessions() as s:  # stored without ties, so the engine agrees
        assert list(await s.scalars(select(CliRule.position).where(
            CliRule.customer_id == cid).order_by(CliRule.position))) == [1, 2, 3]
    await svc.delete_cli_rule(third)
    with pytest.raises(ValidationError) as info:
        await svc.create_cli_rule(cid, {"cli": "(44"})
    assert set(info.value.errors) == {"cli"}
    await svc.delete_cli_rule(second)
    assert [x.id for x in await svc.cli_rules(cid)] == [first]
    log = await audits(db, "cli_rules")
    assert [(a, c) for a, _, c, _ in log] == [("create", cid), ("create", cid),
                                              ("update", cid), ("update", cid),
                                              ("create", cid), ("delete", cid),
                                              ("delete", cid)]
    assert await generation(db) == g0 + 7


async def test_a_customer_gets_at_most_ten_slow_engine_patterns(routes, svc, world, db):
    """CLI rules and dial-string lines together: the eleventh slow one is refused on the
    field being saved, whatever its kind; cheap patterns are never counted."""
    cid, slow = world["customer"], r"^(1|11)+5$"
    rid = await routes.create_route(cid, {"rate_card": "Retail", "dial_string": f"{slow}\n44"})
    for _ in range(9):
        await svc.create_cli_rule(cid, {"cli": slow})
    await svc.create_cli_rule(cid, {"cli": r"^44\d+$"})
    message = "11 patterns need the slow regex engine (at most 10 per customer): simplify "
    with pytest.raises(ValidationError) as info:
        await svc.create_cli_rule(cid, {"cli": r"(\d+)+$"})
    assert info.value.errors["cli"].startswith(message)
    route = await routes.route(rid)
    with pytest.raises(ValidationError) as info:
        await routes.update_route(rid, route.version, {**route.form_values(),
                                                       "dial_string": f"{slow}\n(4+)+1"})
    assert info.value.errors["dial_string"].startswith(message)
    assert await count(db, CliRule) == 10
    await routes.update_route(rid, route.version, {**route.form_values(), "dial_string": "44"})
    await svc.create_cli_rule(cid, {"cli": r"(\d+)+$"})  # the route's slot is free again


# -- scripts ------------------------------------------------------------------------------
async def test_scripts_round_trip_and_delete_refused_while_used(routes, scripts, world, db):
    sid = await scripts.create_script({"name": "night", "body": SCRIPT})
    [sc] = await scripts.scripts()
    assert (sc.id, sc.name, sc.body, sc.version) == (sid, "night", SCRIPT, 1)
    await scripts.update_script(sid, 1, sc.form_values())
    with pytest.raises(StaleError):
        await scripts.update_script(sid, 1, sc.form_values())
    with pytest.raises(ValidationError) as info:
        await scripts.create_script({"name": "NIGHT", "body": SCRIPT})
    assert "already exists" in info.value.errors["name"]
    rid = await routes.create_route(world["customer"], {"rate_card": "Retail",
                                                        "script": "Night"})
    assert (await routes.route(rid)).script == "night"
    with pytest.raises(ValidationError) as info:
        await scripts.delete_script(sid)
    assert info.value.errors == {"name": "used by 1 route"}
    await routes.delete_route(rid)
    await scripts.delete_script(sid)
    assert await scripts.scripts() == []
    assert [a for a, *_ in await audits(db, "routing_scripts")] == ["create", "update",
                                                                   "delete"]


# -- roles --------------------------------------------------------------------------------
async def test_viewer_cannot_write_and_operator_cannot_delete(routes, world, db, clock):
    rid = await routes.create_route(world["customer"], {"rate_card": "Retail"})
    viewer = RoutesService(db, Actor("v", "viewer"), clock)
    operator = RoutesService(db, Actor("o", "operator"), clock)
    with pytest.raises(PermissionDenied):
        await viewer.create_route(world["customer"], {"rate_card": "Retail",
                                                      "tech_prefix": "1"})
    with pytest.raises(PermissionDenied):
        await CliRulesService(db, Actor("v", "viewer"), clock).create_cli_rule(world["customer"], {"cli": "44"})
    with pytest.raises(PermissionDenied):
        await ScriptsService(db, Actor("v", "viewer"), clock).create_script({"name": "x", "body": SCRIPT})
    with pytest.raises(PermissionDenied):
        await operator.delete_route(rid)
    r = await operator.route(rid)
    await operator.update_route(rid, r.version, {**r.form_values(), "channels": "7"})
    assert (await viewer.route(rid)).channels == 7
