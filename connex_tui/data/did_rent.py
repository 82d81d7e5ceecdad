"""DID rent (docs/domain.md §11): each assigned, enabled DID's monthly retail, charged to its
customer once per calendar month (UTC) through the ledger by `connex-tui jobs run`.

What is due at `at`: every DID that is assigned to a customer who is not archived, enabled,
with monthly_retail > 0, and whose rent for the month of `at` is not in `did_rent` yet. The
whole month is charged at the first run of the month that finds it due (no pro-rata: a DID
assigned on the 20th pays the month, one unassigned on the 2nd after a run paid it too);
a DID disabled (or its customer archived) when the run comes pays nothing for that month,
and pays it if enabled again before the month ends. The key (did_id, month) of `did_rent`
is what makes a rerun, a kill and a rerun, or two runs at once (PostgreSQL) charge a month
once: the charge is an INSERT ... ON CONFLICT DO NOTHING RETURNING, and only the rows it
inserted are posted to the ledger, in the same transaction. A DID passed to another
customer in a month already charged is not charged again that month.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import ledger
from connex_tui.data.models import Customer, Did, DidRent
from connex_tui.engine.jobs import DueCharge


def month_of(at: datetime) -> tuple[str, datetime]:
    """The UTC calendar month of `at`: its key ("2026-12") and its first instant."""
    at = at.astimezone(UTC)
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return f"{start:%Y-%m}", start


async def due_rent(s: AsyncSession, at: datetime) -> list[DueCharge]:
    """The rent due at `at` and not yet charged (what a dry run shows)."""
    month, start = month_of(at)
    charged = exists().where(DidRent.did_id == Did.id, DidRent.month == month)
    found = await s.execute(
        select(Did.id, Did.number, Did.monthly_retail, Customer.id, Customer.name,
               Customer.currency)
        .join(Customer, Customer.id == Did.customer_id)
        .where(Did.enabled.is_(True), Did.monthly_retail > 0,
               Customer.archived_at.is_(None), ~charged)
        .order_by(Customer.name_key, Did.number))
    return [DueCharge(customer_id=cid, customer=name, kind="did", ref=f"did:{did_id}:{month}",
                      interval_start=start, amount=retail, currency=currency,
                      note=f"DID +{number} rent {month}")
            for did_id, number, retail, cid, name, currency in found]


def _did_id(charge: DueCharge) -> int:
    return int(charge.ref.split(":")[1])


async def charge_rent(s: AsyncSession, at: datetime) -> list[DueCharge]:
    """Charge every rent due at `at` in the caller's transaction, recording each month so a
    rerun charges nothing twice; returns what it charged."""
    due = await due_rent(s, at)
    if not due:
        return []
    month, _ = month_of(at)
    if s.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = DidRent.__table__
    # one executemany (SQLAlchemy batches it as multi-row INSERTs of one cached statement);
    # RETURNING gives back only the rows this run inserted: the months it now charges
    stmt = (insert(table).on_conflict_do_nothing(index_elements=["did_id", "month"])
            .returning(table.c.did_id))
    inserted = set((await s.scalars(stmt, [
        {"did_id": _did_id(c), "month": month, "customer_id": c.customer_id,
         "amount": c.amount, "at": at} for c in due])).all())
    charged = [c for c in due if _did_id(c) in inserted]
    await ledger.post_many(s, [(c.customer_id, "did", -c.amount, c.ref, c.note)
                               for c in charged], at=at)
    return charged
