"""The ledger (docs/domain.md §8): the balance is the sum of its entries, exact to the micro-unit."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from connex_tui.data import ledger
from connex_tui.data.models import Customer, LedgerEntry

AT = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def raw(name: str) -> dict:
    return {"name": name, "currency": "USD"}


async def balances(db, cid: int) -> tuple[Decimal, Decimal]:
    """(cached customers.balance, sum of the ledger)."""
    async with db.sessions() as s:
        cached = await s.scalar(select(Customer.balance).where(Customer.id == cid))
        return cached, await ledger.ledger_balance(s, cid)


async def test_balance_equals_sum_of_entries(admin, db):
    a = await admin.create(raw("A"))
    b = await admin.create(raw("B"))
    async with db.sessions() as s, s.begin():
        await ledger.post(s, a, "payment", Decimal("100"), at=AT, ref="pay:1", note="wire")
        await ledger.post(s, a, "calls", Decimal("-0.0009"), at=AT)
    async with db.sessions() as s, s.begin():
        await ledger.post_many(s, [
            (a, "calls", Decimal("-12.345678"), "cdr:1", "10 calls"),
            (b, "payment", Decimal("50"), "pay:2", ""),
            (a, "adjust", Decimal("0.000001"), "", "goodwill"),
            (b, "did", Decimal("-3.5"), "did:1", ""),
            (a, "package", Decimal("-1"), "", ""),
        ], at=AT)
        await ledger.post_many(s, [], at=AT)  # nothing to do
    expected_a = (Decimal("100") - Decimal("0.0009") - Decimal("12.345678")
                  + Decimal("0.000001") - Decimal("1"))
    assert await balances(db, a) == (expected_a, expected_a)
    assert await balances(db, b) == (Decimal("46.5"), Decimal("46.5"))
    assert (await admin.get(a)).balance == expected_a
    async with db.sessions() as s:
        n = await s.scalar(select(func.count()).select_from(LedgerEntry)
                           .where(LedgerEntry.customer_id == a))
        notes = set(await s.scalars(select(LedgerEntry.note)))
    assert n == 5
    assert {"wire", "10 calls", "goodwill"} <= notes


async def test_balance_of_customer_without_entries_is_zero(admin, db):
    a = await admin.create(raw("A"))
    assert await balances(db, a) == (Decimal(0), Decimal(0))


async def test_ledger_amounts_are_stored_as_micro_units(admin, db):
    a = await admin.create(raw("A"))
    async with db.sessions() as s, s.begin():
        await ledger.post(s, a, "payment", Decimal("12.345"), at=AT)
    async with db.engine.connect() as conn:
        assert await conn.scalar(text("SELECT amount FROM ledger")) == 12345000
        assert await conn.scalar(text("SELECT balance FROM customers")) == 12345000


@pytest.mark.parametrize("amount", [1.5, 1, "1.5"])
async def test_only_decimal_amounts(admin, db, amount):
    a = await admin.create(raw("A"))
    async with db.sessions() as s, s.begin():
        with pytest.raises(TypeError, match="Decimal"):
            await ledger.post(s, a, "adjust", amount, at=AT)
    assert await balances(db, a) == (Decimal(0), Decimal(0))


async def test_unknown_kind_refused(admin, db):
    a = await admin.create(raw("A"))
    async with db.sessions() as s, s.begin():
        with pytest.raises(ValueError, match="kind"):
            await ledger.post_many(s, [(a, "payment", Decimal(1), "", ""),
                                       (a, "bonus", Decimal(1), "", "")], at=AT)
    assert await balances(db, a) == (Decimal(0), Decimal(0))


async def test_rolled_back_transaction_leaves_balance_and_ledger_alone(admin, db):
    a = await admin.create(raw("A"))
    with pytest.raises(RuntimeError):
        async with db.sessions() as s, s.begin():
            await ledger.post(s, a, "payment", Decimal(10), at=AT)
            raise RuntimeError("crash mid-batch")
    assert await balances(db, a) == (Decimal(0), Decimal(0))
