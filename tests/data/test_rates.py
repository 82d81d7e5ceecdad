"""Rate cards, rate rows and providers (docs/domain.md §3) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, insert

from connex_tui.data.access import Actor, NotFound, PermissionDenied, StaleError
from connex_tui.data.models import (
    IngressRoute,
    RateCard,
    RateCardParent,
    RateRow,
    RouteStrategy,
)
from connex_tui.data.providers import ProvidersService
from connex_tui.data.rate_cards import RatesService
from connex_tui.engine.validation import ValidationError
from tests.data.conftest import NOW
from tests.data.routing_helpers import audits, count, generation, setup_cards


@pytest.fixture
def rates(db, clock) -> RatesService:
    return RatesService(db, Actor("alice", "admin"), clock)


@pytest.fixture
def providers(db, clock) -> ProvidersService:
    return ProvidersService(db, Actor("alice", "admin"), clock)


def as_role(db, clock, role: str) -> RatesService:
    return RatesService(db, Actor(role, role), clock)


# -- providers ----------------------------------------------------------------------------
async def test_provider_round_trip_audit_and_generation(providers, db):
    g0 = await generation(db)
    pid = await providers.create_provider({"name": "Acme", "host": "SBC.acme.example:5080",
                                       "channels": "100", "flow_speed": "10"})
    [p] = await providers.providers()
    assert (p.id, p.name, p.status, p.host, p.channels, p.flow_speed, p.version) == (
        pid, "Acme", "active", "sbc.acme.example:5080", 100, 10, 1)
    await providers.update_provider(pid, p.version, p.form_values())  # round trip: no change
    [same] = await providers.providers()
    assert same.form_values() == p.form_values() and same.version == 2
    await providers.update_provider(pid, 2, {**p.form_values(), "status": "inactive"})
    assert (await providers.providers())[0].status == "inactive"
    with pytest.raises(StaleError):
        await providers.update_provider(pid, 2, p.form_values())
    await providers.delete_provider(pid)
    assert await providers.providers() == []
    log = await audits(db, "providers")
    assert [a for a, *_ in log] == ["create", "update", "update", "delete"]
    assert log[2][3] == {"status": ["active", "inactive"]}
    assert await generation(db) == g0 + 4


async def test_provider_name_unique_and_delete_refused_while_it_has_cards(rates, providers):
    await setup_cards(rates)
    with pytest.raises(ValidationError) as info:
        await providers.create_provider({"name": "ACME"})
    assert "already exists" in info.value.errors["name"]
    [p] = await providers.providers()
    with pytest.raises(ValidationError) as info:
        await providers.delete_provider(p.id)
    assert info.value.errors["name"] == "has 2 rate cards: delete those first"


# -- cards --------------------------------------------------------------------------------
async def test_cards_with_provider_parents_and_row_counts(rates, db):
    ids = await setup_cards(rates)
    await rates.add_row(ids["UK-A"], {"prefix": "44", "rate": "0.01"})
    retail = await rates.card(ids["Retail"])
    assert (retail.name, retail.direction, retail.currency, retail.precision,
            retail.rounding) == ("Retail", "customer", "USD", 4, "up")
    assert retail.parents == ("UK-A", "UK-B") and retail.provider == ""
    uk_a = await rates.card_by_name("uk-a")
    assert (uk_a.id, uk_a.provider, uk_a.rows) == (ids["UK-A"], "Acme", 1)
    assert [c.name for c in await rates.cards("provider")] == ["UK-A", "UK-B"]
    assert [c.name for c in await rates.cards()] == ["Retail", "UK-A", "UK-B"]
    with pytest.raises(NotFound):
        await rates.card_by_name("nope")
    assert [a for a, *_ in await audits(db, "rate_cards")] == ["create"] * 3


async def test_card_form_values_round_trip(rates):
    ids = await setup_cards(rates)
    card = await rates.card(ids["Retail"])
    await rates.update_card(card.id, card.version, card.form_values())
    again = await rates.card(card.id)
    assert again.form_values() == card.form_values() and again.version == card.version + 1


async def test_card_parents_replaced_on_update(rates, db):
    ids = await setup_cards(rates)
    card = await rates.card(ids["Retail"])
    await rates.update_card(card.id, card.version, {**card.form_values(), "parents": "UK-B",
                                                    "precision": "6"})
    card = await rates.card(ids["Retail"])
    assert card.parents == ("UK-B",) and card.precision == 6
    assert await count(db, RateCardParent) == 1
    changes = (await audits(db, "rate_cards"))[-1][3]
    assert changes["parents"] == [["UK-A", "UK-B"], ["UK-B"]]


@pytest.mark.parametrize(("raw", "field", "message"), [
    ({"parents": "Nope"}, "parents", "no provider rate card named 'Nope'"),
    ({"parents": "Retail"}, "parents", "no provider rate card named 'Retail'"),
    ({"parents": "EUR-A"}, "parents", "'EUR-A' is in EUR, not USD"),
    ({"name": "uk-a"}, "name", "a rate card with this name already exists"),
])
async def test_card_references_reported_by_field(rates, raw, field, message):
    await setup_cards(rates)
    await rates.create_card({"name": "EUR-A", "currency": "EUR", "direction": "provider",
                             "provider": "Acme"})
    with pytest.raises(ValidationError) as info:
        await rates.create_card({"name": "New", "currency": "USD", "direction": "customer",
                                 **raw})
    assert info.value.errors[field] == message


async def test_unknown_provider_and_fixed_currency(rates):
    with pytest.raises(ValidationError) as info:
        await rates.create_card({"name": "X", "currency": "USD", "direction": "provider",
                                 "provider": "Ghost"})
    assert info.value.errors == {"provider": "no provider named 'Ghost'"}
    ids = await setup_cards(rates)
    card = await rates.card(ids["Retail"])
    with pytest.raises(ValidationError) as info:
        await rates.update_card(card.id, card.version, {**card.form_values(),
                                                        "currency": "EUR"})
    assert info.value.errors == {"currency": "cannot change after creation (the card is in USD)"}
    card = await rates.card(ids["UK-A"])
    with pytest.raises(ValidationError) as info:
        await rates.update_card(card.id, card.version, {**card.form_values(), "provider": "",
                                                        "direction": "customer"})
    assert info.value.errors == {
        "direction": "cannot change after creation ('UK-A' is a provider card)"}


async def test_card_stale_update(rates):
    ids = await setup_cards(rates)
    card = await rates.card(ids["UK-A"])
    await rates.add_row(card.id, {"prefix": "44", "rate": "0.01"})  # bumps the version
    with pytest.raises(StaleError):
        await rates.update_card(card.id, card.version, card.form_values())


async def add_route(db, customer_id: int, card_id: int, strategy_card: int) -> int:
    """A route as RoutesService stores one: strategy cards as JSON by card id."""
    async with db.sessions() as s, s.begin():
        rid = await s.scalar(insert(IngressRoute).values(
            customer_id=customer_id, rate_card_id=card_id, version=1, created_at=NOW,
            updated_at=NOW).returning(IngressRoute.id))
        await s.execute(insert(RouteStrategy).values(
            route_id=rid, prefix="", mode="priority",
            cards=json.dumps([{"card": strategy_card, "priority": 1, "weight": 1}])))
    return rid


async def test_card_delete_refused_while_a_route_uses_it(rates, db, admin):
    ids = await setup_cards(rates)
    cid = await admin.create({"name": "ACME", "currency": "USD"})
    rid = await add_route(db, cid, ids["Retail"], ids["UK-B"])
    for card in ("Retail", "UK-B"):
        with pytest.raises(ValidationError) as info:
            await rates.delete_card(ids[card])
        assert info.value.errors == {"name": "used by 1 route"}
    async with db.sessions() as s, s.begin():
        await s.execute(delete(IngressRoute).where(IngressRoute.id == rid))
    await rates.add_row(ids["UK-B"], {"prefix": "44", "rate": "0.01"})
    # still a parent of Retail: deleting it would silently drop it from Retail's providers
    with pytest.raises(ValidationError) as info:
        await rates.delete_card(ids["UK-B"])
    assert info.value.errors == {"name": "a parent of 1 customer card (Retail)"}
    assert (await rates.card(ids["Retail"])).parents == ("UK-A", "UK-B")
    retail = await rates.card(ids["Retail"])
    await rates.update_card(retail.id, retail.version, {**retail.form_values(),
                                                        "parents": "UK-A"})
    await rates.delete_card(ids["UK-B"])
    assert await count(db, RateRow) == 0
    assert await count(db, RateCard) == 2
    assert (await rates.card(ids["Retail"])).parents == ("UK-A",)


# -- rows ---------------------------------------------------------------------------------
async def test_row_add_edit_delete_touch_card_and_generation(rates, db, clock):
    ids = await setup_cards(rates)
    card = await rates.card(ids["UK-A"])
    g0 = await generation(db)
    clock.advance(minutes=1)
    row_id = await rates.add_row(card.id, {"prefix": "441", "destination": "UK Fixed",
                                           "rate": "0.0125", "increment": "30/6"})
    [row] = await rates.rows(card.id)
    assert (row.id, row.prefix, row.destination, row.rate, row.increment, row.blocked,
            row.effective_from) == (row_id, "441", "UK Fixed", Decimal("0.0125"), "30/6",
                                    False, None)
    touched = await rates.card(card.id)
    assert touched.version == card.version + 1
    async with db.sessions() as s:
        assert (await s.get(RateCard, card.id)).updated_at == clock.now
    await rates.update_row(row_id, row.form_values())  # round trip
    assert await rates.rows(card.id) == [row]
    await rates.update_row(row_id, {**row.form_values(), "rate": "0.02", "blocked": True})
    [row2] = await rates.rows(card.id)
    assert (row2.rate, row2.blocked) == (Decimal("0.02"), True)
    await rates.delete_row(row_id)
    assert await rates.rows(card.id) == []
    assert (await rates.card(card.id)).version == card.version + 4
    assert await generation(db) == g0 + 4
    log = await audits(db, "rate_rows")
    assert [(a, r) for a, r, *_ in log] == [("create", row_id), ("update", row_id),
                                           ("update", row_id), ("delete", row_id)]
    assert log[2][3] == {"blocked": [False, True], "rate": ["0.012500", "0.02"]}
    assert log[0][3]["card_id"] == [None, card.id]


async def test_row_key_is_prefix_and_effective_from(rates):
    ids = await setup_cards(rates)
    card = ids["UK-A"]
    await rates.add_row(card, {"prefix": "44", "rate": "0.01"})
    later = await rates.add_row(card, {"prefix": "44", "rate": "0.02",
                                       "effective_from": "2026-01-01"})
    with pytest.raises(ValidationError) as info:
        await rates.add_row(card, {"prefix": "44", "rate": "0.03"})
    assert info.value.errors == {"prefix": "the card already has 44 without a start date"}
    with pytest.raises(ValidationError) as info:
        await rates.update_row(later, {"prefix": "44", "rate": "0.02"})
    assert info.value.errors["prefix"].startswith("the card already has 44")
    rows = await rates.rows(card)
    assert [r.effective_from for r in rows] == [None, datetime(2026, 1, 1, tzinfo=UTC)]
    assert rows[1].form_values()["effective_from"] == "2026-01-01"


async def test_rows_prefix_filter_and_keyset_paging(rates):
    ids = await setup_cards(rates)
    card = ids["UK-A"]
    for prefix in ("1", "44", "441", "4420", "45", "49", "5", "99"):
        await rates.add_row(card, {"prefix": prefix, "rate": "0.01"})
    await rates.add_row(card, {"prefix": "441", "rate": "0.02", "effective_from": "2026-01-01"})
    assert [r.prefix for r in await rates.rows(card, prefix="44")] == ["44", "441", "441",
                                                                       "4420"]
    assert await rates.count_rows(card, prefix="44") == 4
    assert [r.prefix for r in await rates.rows(card, prefix="+4")] == [
        "44", "441", "441", "4420", "45", "49"]
    assert [r.prefix for r in await rates.rows(card, prefix="49")] == ["49"]  # carry: < "5"
    assert [r.prefix for r in await rates.rows(card, prefix="9")] == ["99"]  # no upper bound
    assert await rates.count_rows(card, prefix="4x") == 0
    assert await rates.count_rows(card) == 9
    page1 = await rates.rows(card, limit=2)
    assert [r.prefix for r in page1] == ["1", "44"]
    page2 = await rates.rows(card, limit=2, after=page1[-1].prefix)
    # a page never splits one prefix's dated rows
    assert [r.prefix for r in page2] == ["441", "441"]
    page3 = await rates.rows(card, limit=2, after=page2[-1].prefix)
    assert [r.prefix for r in page3] == ["4420", "45"]


async def test_bad_row_and_unknown_card(rates):
    ids = await setup_cards(rates)
    with pytest.raises(ValidationError) as info:
        await rates.add_row(ids["UK-A"], {"prefix": "44x", "rate": "1e-2"})
    assert set(info.value.errors) == {"prefix", "rate"}
    with pytest.raises(NotFound):
        await rates.add_row(999, {"prefix": "44", "rate": "0.01"})
    with pytest.raises(NotFound):
        await rates.update_row(999, {"prefix": "44", "rate": "0.01"})


# -- roles --------------------------------------------------------------------------------
async def test_viewer_cannot_write_and_operator_cannot_delete(rates, db, clock):
    ids = await setup_cards(rates)
    row = await rates.add_row(ids["UK-A"], {"prefix": "44", "rate": "0.01"})
    viewer, operator = as_role(db, clock, "viewer"), as_role(db, clock, "operator")
    g0 = await generation(db)
    with pytest.raises(PermissionDenied):
        await ProvidersService(db, Actor("v", "viewer"), clock).create_provider({"name": "X"})
    with pytest.raises(PermissionDenied):
        await viewer.add_row(ids["UK-A"], {"prefix": "45", "rate": "0.01"})
    with pytest.raises(PermissionDenied):
        await operator.delete_row(row)
    with pytest.raises(PermissionDenied):
        await operator.delete_card(ids["UK-B"])
    await operator.add_row(ids["UK-A"], {"prefix": "45", "rate": "0.01"})
    assert await generation(db) == g0 + 1
    assert len(await viewer.cards()) == 3  # reading is fine
