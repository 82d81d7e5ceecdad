"""DIDs (docs/domain.md §11) and their monthly rent, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from connex_tui.data.access import Actor, NotFound, PermissionDenied, StaleError
from connex_tui.data.did_rent import charge_rent, due_rent
from connex_tui.data.dids import BulkRefused, DidsService
from connex_tui.data.ledger import ledger_balance
from connex_tui.data.models import Customer, Did, DidRent, LedgerEntry
from connex_tui.engine.validation import ValidationError
from tests.data.routing_helpers import audits

DEC_1 = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
DEC_20 = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)
JAN_3 = datetime(2027, 1, 3, 0, 0, tzinfo=UTC)


@pytest.fixture
def dids(db, clock) -> DidsService:
    return DidsService(db, Actor("alice", "admin"), clock)


@pytest.fixture
async def acme(admin) -> int:
    return await admin.create({"name": "ACME Telecom", "currency": "EUR"})


@pytest.fixture
async def beta(admin) -> int:
    return await admin.create({"name": "Beta", "currency": "USD"})


def did(number: str, **kw) -> dict:
    return {"number": number, "destination": "sip:100@192.0.2.10", "monthly_cost": "1.00",
            "monthly_retail": "2.50", **kw}


async def test_add_edit_assign_delete_audited_and_searchable(dids, acme, beta, admin, db):
    did_id = await dids.create(did("+44 20 7946 0000", destination2="192.0.2.11:5060",
                                   destination3="ext:beta/1234"), acme)
    [row] = await dids.for_customer(acme)
    assert (row.number, row.customer, row.currency, row.margin) == (
        "442079460000", "ACME Telecom", "EUR", Decimal("1.5"))
    assert row.destination3 == "ext:beta/1234"
    # the customer is found by its DID, typed as an operator would
    assert [r.id for r in (await admin.page(query="+44 20 7946 0000")).rows] == [acme]
    await dids.update(did_id, 1, {**row.form_values(), "monthly_retail": "3"})
    assert (await dids.get(did_id)).monthly_retail == Decimal(3)
    with pytest.raises(StaleError):
        await dids.update(did_id, 1, row.form_values())
    await dids.assign(did_id, beta, version=2)
    assert await dids.for_customer(acme) == []
    assert [r.number for r in await dids.for_customer(beta)] == ["442079460000"]
    assert (await admin.page(query="442079460000")).rows[0].id == beta
    await dids.assign(did_id, None)
    assert [r.number for r in await dids.search(unassigned=True)] == ["442079460000"]
    assert not (await admin.page(query="442079460000")).rows
    await dids.delete(did_id)
    with pytest.raises(NotFound):
        await dids.get(did_id)
    log = await audits(db, "dids")
    assert [(a, c) for a, _, c, _ in log] == [("create", acme), ("update", acme),
                                              ("update", beta), ("update", beta),
                                              ("delete", None)]
    assert log[2][3]["customer_id"] == [acme, beta]


async def test_bad_values_named_per_field_nothing_written(dids, acme, db):
    with pytest.raises(ValidationError) as err:
        await dids.create({"number": "+1 999", "destination": "192.0.2.1",
                           "destination2": "sip:@x", "destination3": "ext:Nobody/12",
                           "monthly_cost": "1e3", "monthly_retail": "-1",
                           "max_duration": "0"}, acme)
    assert set(err.value.errors) == {"number", "destination", "destination2", "monthly_cost",
                                     "monthly_retail", "max_duration"}
    with pytest.raises(ValidationError) as err:  # the extension's customer must exist
        await dids.create(did("+12025550123", destination="ext:Nobody/12"), acme)
    assert err.value.errors == {"destination": "no customer named Nobody"}
    with pytest.raises(ValidationError, match="control"):
        await dids.create(did("+12025550123", destination="sip:a\x1b@h"), acme)
    await dids.create(did("+1 202 555 0123"), acme)
    with pytest.raises(ValidationError) as err:
        await dids.create(did("0012025550123"), None)
    assert err.value.errors == {"number": "+12025550123 is already a DID (of ACME Telecom)"}
    async with db.sessions() as s:
        assert len((await s.scalars(select(Did))).all()) == 1


async def test_roles(db, clock, dids, acme):
    did_id = await dids.create(did("+12025550123"), acme)
    viewer = DidsService(db, Actor("vic", "viewer"), clock)
    operator = DidsService(db, Actor("olga", "operator"), clock)
    with pytest.raises(PermissionDenied):
        await viewer.create(did("+12025550124"), acme)
    with pytest.raises(PermissionDenied):
        await viewer.assign(did_id, None)
    assert len(await viewer.for_customer(acme)) == 1  # reads are fine
    await operator.assign(did_id, None)
    with pytest.raises(PermissionDenied):
        await operator.delete(did_id)
    await dids.delete(did_id)


async def test_search_is_keyset_paged_by_digits_or_owner(dids, acme, beta):
    numbers = [f"+1202555{n:04d}" for n in range(100, 130)]
    for i, n in enumerate(numbers):
        await dids.create(did(n), acme if i % 3 == 0 else (beta if i % 3 == 1 else None))
    page1 = await dids.search(limit=10)
    page2 = await dids.search(after=page1[-1].number, limit=10)
    assert [r.number for r in page1 + page2] == [n[1:] for n in numbers[:20]]
    assert [r.number for r in await dids.search("+1 202 555 0105")] == ["12025550105"]
    assert len(await dids.search("+1 202 555 01")) == 30  # from the start
    assert await dids.search("+202") == [] and len(await dids.search("202")) == 30
    assert {r.customer for r in await dids.search("beta")} == {"Beta"}
    assert [r.number for r in await dids.search("555012", unassigned=True)] == [
        "12025550120", "12025550123", "12025550126", "12025550129"]
    assert await dids.search("%") == [] and await dids.search("_") == []


async def test_bulk_add_all_or_nothing_one_line_per_bad_row(dids, acme, db):
    await dids.create(did("+12025550100"), acme)
    rows = [(2, did("+12025550101", customer="acme telecom")),
            (3, did("+12025550100")),
            (4, did("not a number")),
            (5, did("+12025550101")),
            (6, did("+12025550102", customer="Nobody"))]
    with pytest.raises(BulkRefused) as err:
        await dids.add_many(rows)
    assert err.value.problems == [
        "line 3: number: +12025550100 is already a DID (of ACME Telecom)",
        "line 4: number: a phone number in international form, like +44 20 7946 0000",
        "line 5: number: +12025550101 is also on line 2",
        "line 6: customer: no customer named Nobody"]
    async with db.sessions() as s:
        assert len((await s.scalars(select(Did))).all()) == 1
    ids = await dids.add_many([rows[0], (3, did("+12025550103"))])
    assert len(ids) == 2
    assert [r.number for r in await dids.for_customer(acme)] == [
        "12025550100", "12025550101"]
    assert [r.number for r in await dids.search(unassigned=True)] == ["12025550103"]


async def test_cards_by_name_give_the_provider(dids, acme, db, clock):
    from connex_tui.data.rate_cards import RatesService
    from tests.data.routing_helpers import setup_cards

    ids = await setup_cards(RatesService(db, Actor("alice", "admin"), clock))
    did_id = await dids.create(did("+12025550100", provider_card="uk-a",
                                   customer_card="Retail"), acme)
    row = await dids.get(did_id)
    assert (row.provider_card, row.customer_card) == ("UK-A", "Retail")
    async with db.sessions() as s:
        stored = await s.get(Did, did_id)
        assert (stored.provider_card_id, stored.customer_card_id) == (ids["UK-A"], ids["Retail"])
        assert stored.provider_id is not None
    with pytest.raises(ValidationError) as err:
        await dids.update(did_id, 1, {**row.form_values(), "provider_card": "Retail",
                                      "customer_card": "Nope"})
    assert err.value.errors == {"provider_card": "Retail is a customer card, not a provider "
                                                 "card"}
    await dids.update(did_id, 1, {**row.form_values(), "provider_card": ""})
    async with db.sessions() as s:
        stored = await s.get(Did, did_id)
        assert (stored.provider_id, stored.provider_card_id) == (None, None)
    with pytest.raises(BulkRefused) as bulk:
        await dids.add_many([(2, did("+12025550101", customer_card="Nope"))])
    assert bulk.value.problems == ["line 2: customer_card: no rate card named Nope"]


# -- rent -----------------------------------------------------------------------------------
async def _ledger(db) -> list[tuple]:
    async with db.sessions() as s:
        return [(e.customer_id, e.kind, e.amount, e.ref) for e in await s.scalars(
            select(LedgerEntry).order_by(LedgerEntry.id))]


async def test_rent_charged_once_per_month(dids, acme, beta, admin, db):
    d1 = await dids.create(did("+12025550100", monthly_retail="2.50"), acme)
    await dids.create(did("+12025550101", monthly_retail="0"), acme)  # free: nothing
    d3 = await dids.create(did("+12025550102", enabled=False), acme)  # disabled
    await dids.create(did("+12025550103"), None)  # unassigned
    d5 = await dids.create(did("+12025550104", monthly_retail="1.25"), beta)
    async with db.sessions() as s:
        due = await due_rent(s, DEC_1)
    assert [(c.customer, c.ref, c.amount, c.currency, c.note) for c in due] == [
        ("ACME Telecom", f"did:{d1}:2026-12", Decimal("2.5"), "EUR",
         "DID +12025550100 rent 2026-12"),
        ("Beta", f"did:{d5}:2026-12", Decimal("1.25"), "USD", "DID +12025550104 rent 2026-12")]
    assert due[0].interval_start == datetime(2026, 12, 1, tzinfo=UTC)
    async with db.sessions() as s, s.begin():
        assert len(await charge_rent(s, DEC_1)) == 2
    async with db.sessions() as s, s.begin():  # a rerun the same month: nothing
        assert await charge_rent(s, DEC_20) == []
        assert await due_rent(s, DEC_20) == []
    # enabled mid-month: the whole month, at the next run; moved to Beta: not again
    await dids.update(d3, 1, {**(await dids.get(d3)).form_values(), "enabled": True})
    await dids.assign(d1, beta)
    async with db.sessions() as s, s.begin():
        assert [c.ref for c in await charge_rent(s, DEC_20)] == [f"did:{d3}:2026-12"]
    assert await _ledger(db) == [
        (acme, "did", Decimal("-2.5"), f"did:{d1}:2026-12"),
        (beta, "did", Decimal("-1.25"), f"did:{d5}:2026-12"),
        (acme, "did", Decimal("-2.5"), f"did:{d3}:2026-12")]
    async with db.sessions() as s:
        assert await ledger_balance(s, acme) == Decimal("-5")
        assert (await s.get(Customer, acme)).balance == Decimal("-5")
    # January: each again (d1 now Beta's); an archived customer pays nothing
    await admin.delete(acme)  # ACME has ledger rows: archived, not erased
    async with db.sessions() as s, s.begin():
        charged = await charge_rent(s, JAN_3)
    assert sorted(c.ref for c in charged) == [f"did:{d1}:2027-01", f"did:{d5}:2027-01"]


async def test_rent_rolled_back_with_its_transaction_then_charged(dids, acme, db):
    await dids.create(did("+12025550100"), acme)

    class Killed(Exception):
        pass

    with pytest.raises(Killed):  # a run killed before it committed
        async with db.sessions() as s, s.begin():
            assert len(await charge_rent(s, DEC_1)) == 1
            raise Killed
    assert await _ledger(db) == []
    async with db.sessions() as s, s.begin():
        assert len(await charge_rent(s, DEC_1)) == 1
    assert len(await _ledger(db)) == 1


async def test_concurrent_runs_charge_once(dids, acme, db):
    """Two runs that both saw the rent due: the second's insert finds the key taken (on
    PostgreSQL it waits for the first to commit) and posts nothing."""
    await dids.create(did("+12025550100"), acme)
    await dids.create(did("+12025550101"), acme)
    async with db.sessions() as s:
        first_saw = await due_rent(s, DEC_1)
    async with db.sessions() as s, s.begin():
        await charge_rent(s, DEC_1)
    # the second run read before the first committed: replay its insert of the same keys
    async with db.sessions() as s, s.begin():
        assert len(first_saw) == 2
        from connex_tui.data import did_rent

        async def stale(_s, _at):
            return first_saw

        real, did_rent.due_rent = did_rent.due_rent, stale
        try:
            assert await did_rent.charge_rent(s, DEC_1) == []
        finally:
            did_rent.due_rent = real
    assert len(await _ledger(db)) == 2
    if db.dialect == "postgresql":  # truly at once: two sessions, both inside a transaction
        async def run() -> int:
            async with db.sessions() as s, s.begin():
                return len(await charge_rent(s, JAN_3))

        assert sorted(await asyncio.gather(run(), run())) == [0, 2]
        assert len(await _ledger(db)) == 4
    async with db.sessions() as s:
        assert len((await s.scalars(select(DidRent))).all()) == (4 if db.dialect ==
                                                                 "postgresql" else 2)
