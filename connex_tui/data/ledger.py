"""The ledger: every balance movement is a row; customers.balance caches their sum."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.models import Customer, LedgerEntry
from connex_tui.data.types import Money

KINDS = ("payment", "calls", "package", "did", "recalc", "adjust")


async def post(session: AsyncSession, customer_id: int, kind: str, amount: Decimal, *,
               at: datetime, ref: str = "", note: str = "") -> None:
    """Credit (amount > 0) or debit (< 0) a customer, in the caller's transaction."""
    await post_many(session, [(customer_id, kind, amount, ref, note)], at=at)


async def post_many(session: AsyncSession, entries: list[tuple], *, at: datetime) -> None:
    """entries: (customer_id, kind, amount, ref, note), all at time `at`."""
    await post_timed(session, [(at, *e) for e in entries])


async def post_timed(session: AsyncSession, entries: list[tuple]) -> None:
    """entries: (at, customer_id, kind, amount, ref, note). One insert and one executemany
    update of the cached balances, whatever the number of customers."""
    if not entries:
        return
    totals: dict[int, Decimal] = {}
    for _, cid, kind, amount, _, _ in entries:
        if kind not in KINDS:
            raise ValueError(f"unknown ledger kind {kind!r}")
        if not isinstance(amount, Decimal):
            raise TypeError("ledger amounts are Decimal")
        totals[cid] = totals.get(cid, Decimal(0)) + amount
    await session.execute(insert(LedgerEntry.__table__), [
        {"customer_id": c, "kind": k, "amount": a, "ref": r, "note": n, "at": t}
        for t, c, k, a, r, n in entries])
    table = Customer.__table__
    deltas = [{"cid": cid, "delta": delta} for cid, delta in totals.items() if delta]
    if deltas:
        await session.execute(
            update(table).where(table.c.id == bindparam("cid"))
            .values(balance=table.c.balance + bindparam("delta", type_=Money())), deltas)


async def ledger_balance(session: AsyncSession, customer_id: int) -> Decimal:
    """The balance recomputed from the ledger (what customers.balance must equal)."""
    total = await session.scalar(
        select(func.sum(LedgerEntry.amount)).where(LedgerEntry.customer_id == customer_id))
    return total if total is not None else Decimal("0.000000")
