"""The ledger: every balance movement is a row; customers.balance caches their sum."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.models import Customer, LedgerEntry

KINDS = ("payment", "calls", "package", "did", "recalc", "adjust")


async def post(session: AsyncSession, customer_id: int, kind: str, amount: Decimal, *,
               at: datetime, ref: str = "", note: str = "") -> None:
    """Credit (amount > 0) or debit (< 0) a customer, in the caller's transaction."""
    await post_many(session, [(customer_id, kind, amount, ref, note)], at=at)


async def post_many(session: AsyncSession, entries: list[tuple], *, at: datetime) -> None:
    """entries: (customer_id, kind, amount, ref, note). One insert, one update per customer."""
    if not entries:
        return
    for _, kind, amount, _, _ in entries:
        if kind not in KINDS:
            raise ValueError(f"unknown ledger kind {kind!r}")
        if not isinstance(amount, Decimal):
            raise TypeError("ledger amounts are Decimal")
    await session.execute(insert(LedgerEntry), [
        {"customer_id": c, "kind": k, "amount": a, "ref": r, "note": n, "at": at}
        for c, k, a, r, n in entries])
    totals: dict[int, Decimal] = {}
    for c, _, a, _, _ in entries:
        totals[c] = totals.get(c, Decimal(0)) + a
    for customer_id, delta in totals.items():
        if delta:
            await session.execute(update(Customer).where(Customer.id == customer_id)
                                  .values(balance=Customer.balance + delta))


async def ledger_balance(session: AsyncSession, customer_id: int) -> Decimal:
    """The balance recomputed from the ledger (what customers.balance must equal)."""
    total = await session.scalar(
        select(func.sum(LedgerEntry.amount)).where(LedgerEntry.customer_id == customer_id))
    return total if total is not None else Decimal("0.000000")
