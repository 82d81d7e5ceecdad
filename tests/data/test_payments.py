"""Payments (docs/domain.md §8): tax, the ledger, status changes, roles, stale edits, the
balance and its history. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from connex_tui.data import ledger
from connex_tui.data.access import Actor, NotFound, PermissionDenied, StaleError
from connex_tui.data.models import AuditEntry, Customer, LedgerEntry, Payment
from connex_tui.data.payments import PaymentsService
from connex_tui.engine.validation import ValidationError


@pytest.fixture
def payments(db, clock):
    def make(role: str = "admin") -> PaymentsService:
        return PaymentsService(db, Actor(role, role), clock)

    return make


async def counts(db) -> tuple[int, int, int]:
    async with db.sessions() as s:
        return tuple([await s.scalar(select(func.count()).select_from(m))
                      for m in (Payment, LedgerEntry, AuditEntry)])


async def balances(db, cid: int) -> tuple[Decimal, Decimal]:
    async with db.sessions() as s:
        cached = await s.scalar(select(Customer.balance).where(Customer.id == cid))
        return cached, await ledger.ledger_balance(s, cid)


async def test_completed_payment_credits_net_of_tax(admin, payments, db):
    cid = await admin.create({"name": "Acme", "currency": "EUR", "tax_percent": "20"})
    svc = payments()
    pid = await svc.add(cid, {"amount": "120", "fee": "3.50",
                              "description": "Wire WT1 # checked by noc1"})
    assert await balances(db, cid) == (Decimal(100), Decimal(100))
    page = await svc.page(cid)
    (row,) = page.rows
    assert (row.id, row.amount, row.tax, row.net, row.fee, row.status) == (
        pid, Decimal(120), Decimal(20), Decimal(100), Decimal("3.5"), "completed")
    assert (row.public, row.note) == ("Wire WT1", "checked by noc1")
    assert (page.totals.amount, page.totals.tax, page.totals.net, page.totals.fee) == (
        Decimal(120), Decimal(20), Decimal(100), Decimal("3.5"))
    assert page.currency == "EUR" and page.total == 1
    async with db.sessions() as s:
        entry = (await s.scalars(select(LedgerEntry))).one()
    assert (entry.kind, entry.amount, entry.ref, entry.note) == (
        "payment", Decimal(100), f"payment:{pid}", "Wire WT1")  # the note stays private


async def test_tax_is_exact_to_the_micro_unit(admin, payments, db):
    cid = await admin.create({"name": "Acme", "currency": "USD", "tax_percent": "7"})
    await payments().add(cid, {"amount": "10"})
    assert await balances(db, cid) == (Decimal("9.345794"), Decimal("9.345794"))
    (row,) = (await payments().page(cid)).rows
    assert row.tax == Decimal("0.654206") and row.tax + row.net == Decimal(10)


async def test_pending_moves_no_money_until_completed(admin, payments, db, clock):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = payments("operator")
    pid = await svc.add(cid, {"amount": "50", "status": "pending"})
    assert await balances(db, cid) == (0, 0)
    page = await svc.page(cid)
    assert page.totals.amount == 0 and page.totals.pending == Decimal(50)
    clock.advance(minutes=5)
    await svc.set_status(pid, 1, "completed")
    assert await balances(db, cid) == (Decimal(50), Decimal(50))
    await svc.set_status(pid, 2, "cancelled")
    assert await balances(db, cid) == (0, 0)
    async with db.sessions() as s:
        entries = (await s.execute(select(LedgerEntry.amount, LedgerEntry.ref)
                                   .order_by(LedgerEntry.id))).all()
        audits = (await s.scalars(select(AuditEntry.changes).where(
            AuditEntry.table_name == "payments").order_by(AuditEntry.id))).all()
    assert entries == [(Decimal(50), f"payment:{pid}"), (Decimal(-50), f"payment:{pid}")]
    assert [json.loads(a).get("status") for a in audits] == [
        [None, "pending"], ["pending", "completed"], ["completed", "cancelled"]]
    assert (await svc.get(pid)).status == "cancelled"  # kept, never deleted


async def test_pending_cancelled_moves_no_money_and_cancelled_is_final(admin, payments, db):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = payments()
    pid = await svc.add(cid, {"amount": "50", "status": "pending"})
    await svc.set_status(pid, 1, "cancelled")
    before = await counts(db)
    for status in ("completed", "pending", "cancelled"):
        with pytest.raises(ValidationError) as exc:
            await svc.set_status(pid, 2, status)
        assert "status" in exc.value.errors
    assert await counts(db) == before
    assert await balances(db, cid) == (0, 0)


async def test_cli_style_cancel(admin, payments, db):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = payments()
    pid = await svc.add(cid, {"amount": "10"})
    row = await svc.cancel(pid)
    assert row.status == "cancelled" and await balances(db, cid) == (0, 0)
    with pytest.raises(NotFound):
        await svc.cancel(pid + 99)


@pytest.mark.parametrize("amount", ["0", "-1", "1e3", "1,000", "ten", "1.0000001",
                                    "1000000000000", ""])
async def test_bad_amounts_write_nothing(admin, payments, db, amount):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    before = await counts(db)
    with pytest.raises(ValidationError) as exc:
        await payments().add(cid, {"amount": amount})
    assert list(exc.value.errors) == ["amount"]
    assert await counts(db) == before
    assert await balances(db, cid) == (0, 0)


async def test_new_payment_cannot_be_cancelled_and_customer_must_exist(admin, payments, db):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    before = await counts(db)
    with pytest.raises(ValidationError):
        await payments().add(cid, {"amount": "1", "status": "cancelled"})
    with pytest.raises(NotFound):
        await payments().add(cid + 99, {"amount": "1"})
    assert await counts(db) == before


async def test_viewer_reads_only(admin, payments, db):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    pid = await payments().add(cid, {"amount": "5"})
    before = await counts(db)
    viewer = payments("viewer")
    with pytest.raises(PermissionDenied):
        await viewer.add(cid, {"amount": "5"})
    with pytest.raises(PermissionDenied):
        await viewer.set_status(pid, 1, "cancelled")
    assert await counts(db) == before
    assert len((await viewer.page(cid)).rows) == 1


async def test_stale_edit_is_refused_and_writes_nothing(admin, payments, db):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = payments()
    pid = await svc.add(cid, {"amount": "5", "status": "pending"})
    await svc.update(pid, 1, {"amount": "5", "status": "pending", "description": "Wire # a"})
    before = await counts(db)
    with pytest.raises(StaleError):
        await svc.update(pid, 1, {"amount": "5", "status": "completed", "description": "x"})
    with pytest.raises(StaleError):
        await svc.set_status(pid, 1, "completed")
    assert await counts(db) == before
    row = await svc.get(pid)
    assert (row.version, row.description, row.status) == (2, "Wire # a", "pending")


async def test_edit_keeps_the_amount(admin, payments, db):
    cid = await admin.create({"name": "Acme", "currency": "USD"})
    svc = payments()
    pid = await svc.add(cid, {"amount": "5"})
    with pytest.raises(ValidationError) as exc:
        await svc.update(pid, 1, {"amount": "6", "status": "completed"})
    assert list(exc.value.errors) == ["amount"]
    await svc.update(pid, 1, {"amount": "5.000", "fee": "1", "status": "completed",
                              "description": "Card # ok"})
    row = await svc.get(pid)
    assert (row.fee, row.public, row.note, row.version) == (Decimal(1), "Card", "ok", 2)
    assert await balances(db, cid) == (Decimal(5), Decimal(5))  # no second credit


async def test_balance_and_history_with_running_balance(admin, payments, db, clock):
    cid = await admin.create({"name": "Acme", "currency": "USD", "debit_limit": "10"})
    svc = payments()
    for amount in ("100", "20", "3"):
        await svc.add(cid, {"amount": amount})
        clock.advance(minutes=1)
    async with db.sessions() as s, s.begin():
        await ledger.post(s, cid, "calls", Decimal("-0.5"), at=clock())
    b = await svc.balance(cid)
    assert b.as_json() == {"currency": "USD", "balance": "122.500000",
                           "debit_limit": "10.000000", "available": "132.500000",
                           "ledger_sum": "122.500000"}
    h = await svc.history(cid)
    assert h.total == 4
    assert [(r.kind, r.amount, r.running) for r in h.rows] == [
        ("calls", Decimal("-0.5"), Decimal("122.5")), ("payment", 3, Decimal("123")),
        ("payment", 20, Decimal("120")), ("payment", 100, Decimal("100"))]
    paged = await svc.history(cid, offset=2, limit=1)
    assert [(r.amount, r.running) for r in paged.rows] == [(20, Decimal("120"))]
