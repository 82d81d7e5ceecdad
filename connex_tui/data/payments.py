"""Payments and the balance (docs/domain.md §8): list with totals, add, status changes
through the ledger, the balance and its history with a running balance.

A completed payment credits its net of tax (amount - tax) as a ledger entry of kind
"payment" with ref "payment:<id>" and the public part of the description as note, as the
demo seeding does. Tax is worked out when the payment is added, at the customer's tax
percent of that moment, and kept beside it. Cancelling a completed payment posts the same
net back as a debit with the same ref; nothing is ever deleted. A payment's amount cannot
change once saved (cancel it and add a new one); its description and fee can.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import audit, ledger
from connex_tui.data.access import Actor, NotFound, StaleError
from connex_tui.data.config_write import update_versioned
from connex_tui.data.customers import customers_named
from connex_tui.data.db import Database
from connex_tui.data.models import Customer, LedgerEntry, Payment
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.money import available_credit, net_of_tax
from connex_tui.engine.payments import (
    AMOUNT_FIXED,
    PaymentInput,
    check_transition,
    split_description,
    validate_payment,
)
from connex_tui.engine.validation import ValidationError

ZERO = Decimal("0.000000")
AUDITED = ("description", "amount", "fee", "tax", "status")


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: int
    version: int
    customer_id: int
    paid_at: datetime
    description: str  # as typed: public part # private note
    amount: Decimal  # gross
    tax: Decimal
    fee: Decimal
    status: str

    @property
    def net(self) -> Decimal:
        return self.amount - self.tax

    @property
    def public(self) -> str:
        return split_description(self.description)[0]

    @property
    def note(self) -> str:
        return split_description(self.description)[1]

    def form_values(self) -> dict[str, str]:
        from connex_tui.engine.present import plain_decimal

        return {"description": self.description, "amount": plain_decimal(self.amount),
                "fee": plain_decimal(self.fee), "status": self.status}

    def as_json(self) -> dict:
        """The object `payments list --json` prints: money as exact decimal strings."""
        return {"id": self.id, "at": self.paid_at.isoformat().replace("+00:00", "Z"),
                "description": self.public, "note": self.note, "amount": str(self.amount),
                "tax": str(self.tax), "net": str(self.net), "fee": str(self.fee),
                "status": self.status}


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums of the completed payments (the ones that count) and of the pending ones."""

    amount: Decimal = ZERO
    tax: Decimal = ZERO
    fee: Decimal = ZERO
    pending: Decimal = ZERO
    completed_count: int = 0
    pending_count: int = 0

    @property
    def net(self) -> Decimal:
        return self.amount - self.tax


@dataclass(frozen=True, slots=True)
class PaymentPage:
    rows: tuple[PaymentRow, ...]
    total: int  # payments of the customer
    offset: int
    totals: Totals
    currency: str


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    balance: Decimal  # customers.balance, the cached sum
    debit_limit: Decimal
    ledger_sum: Decimal  # the sum recomputed from the ledger: must equal balance

    @property
    def available(self) -> Decimal:
        return available_credit(self.balance, self.debit_limit)

    def as_json(self) -> dict:
        return {"currency": self.currency, "balance": str(self.balance),
                "debit_limit": str(self.debit_limit), "available": str(self.available),
                "ledger_sum": str(self.ledger_sum)}


@dataclass(frozen=True, slots=True)
class HistoryRow:
    id: int
    at: datetime
    kind: str
    amount: Decimal  # signed: credit > 0
    ref: str
    note: str
    running: Decimal  # the balance just after this entry


@dataclass(frozen=True, slots=True)
class HistoryPage:
    rows: tuple[HistoryRow, ...]
    total: int
    offset: int
    currency: str


def _row(p: Payment) -> PaymentRow:
    return PaymentRow(p.id, p.version, p.customer_id, p.paid_at, p.description, p.amount,
                      p.tax, p.fee, p.status)


def _ref(payment_id: int) -> str:
    return f"payment:{payment_id}"


async def _customer(s: AsyncSession, customer_id: int) -> Customer:
    c = await s.get(Customer, customer_id)
    if c is None:
        raise NotFound(f"customer {customer_id} not found")
    return c


async def _as_read(s: AsyncSession, payment_id: int, version: int, status: str) -> Payment:
    """The payment as the operator read it (StaleError otherwise), which may become
    `status` (a status-field error otherwise)."""
    p = await s.get(Payment, payment_id)
    if p is None:
        raise NotFound(f"payment {payment_id} not found")
    if p.version != version:
        raise StaleError("payment")
    try:
        check_transition(p.status, status)
    except ValueError as exc:
        raise ValidationError({"status": str(exc)}) from None
    return p


class PaymentsService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    # -- reading ------------------------------------------------------------------------
    async def find_customer(self, name: str) -> tuple[int, str, str]:
        """(id, name, currency) of the customer named `name` (any case), archived too."""
        async with self.db.sessions() as s:
            c = (await customers_named(s, [name])).get(name.lower())
        if c is None:
            raise NotFound(f"no customer named {name!r}")
        return c.id, c.name, c.currency

    async def page(self, customer_id: int, offset: int = 0, limit: int = 200) -> PaymentPage:
        """Newest first, with the totals of all the customer's payments."""
        async with self.db.sessions() as s:
            c = await _customer(s, customer_id)
            found = await s.scalars(
                select(Payment).where(Payment.customer_id == customer_id)
                .order_by(Payment.paid_at.desc(), Payment.id.desc()).offset(offset)
                .limit(limit))
            rows = tuple(_row(p) for p in found)
            sums = {status: (n, amount, tax, fee) for status, n, amount, tax, fee in
                    await s.execute(
                        select(Payment.status, func.count(), func.sum(Payment.amount),
                               func.sum(Payment.tax), func.sum(Payment.fee))
                        .where(Payment.customer_id == customer_id)
                        .group_by(Payment.status))}
        done = sums.get("completed", (0, ZERO, ZERO, ZERO))
        pending = sums.get("pending", (0, ZERO, ZERO, ZERO))
        totals = Totals(done[1] or ZERO, done[2] or ZERO, done[3] or ZERO, pending[1] or ZERO,
                        int(done[0]), int(pending[0]))
        total = sum(int(v[0]) for v in sums.values())
        return PaymentPage(rows, total, offset, totals, c.currency)

    async def get(self, payment_id: int) -> PaymentRow:
        async with self.db.sessions() as s:
            p = await s.get(Payment, payment_id)
            if p is None:
                raise NotFound(f"payment {payment_id} not found")
            return _row(p)

    async def balance(self, customer_id: int) -> Balance:
        async with self.db.sessions() as s:
            c = await _customer(s, customer_id)
            total = await ledger.ledger_balance(s, customer_id)
            return Balance(c.currency, c.balance, c.debit_limit, total)

    async def history(self, customer_id: int, offset: int = 0,
                      limit: int = 200) -> HistoryPage:
        """Ledger entries newest first, each with the balance just after it."""
        e = LedgerEntry
        async with self.db.sessions() as s:
            c = await _customer(s, customer_id)
            mine = e.customer_id == customer_id
            order = (e.at.desc(), e.id.desc())
            found = (await s.execute(select(e.id, e.at, e.kind, e.amount, e.ref, e.note)
                                     .where(mine).order_by(*order).offset(offset)
                                     .limit(limit))).all()
            total = int(await s.scalar(select(func.count()).select_from(e).where(mine)) or 0)
            running = await ledger.ledger_balance(s, customer_id)
            if offset:
                newer = select(e.amount).where(mine).order_by(*order).limit(offset).subquery()
                running -= await s.scalar(select(func.sum(newer.c.amount))) or ZERO
        rows = []
        for r in found:
            rows.append(HistoryRow(r.id, r.at, r.kind, r.amount, r.ref, r.note, running))
            running -= r.amount
        return HistoryPage(tuple(rows), total, offset, c.currency)

    # -- writing ------------------------------------------------------------------------
    async def add(self, customer_id: int, raw: dict) -> int:
        """Validate and save a payment; a completed one is credited at once."""
        self.actor.require("write")
        data = validate_payment(raw)
        if data.status == "cancelled":
            raise ValidationError({"status": "a new payment is completed or pending"})
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            c = await _customer(s, customer_id)
            _net, tax = net_of_tax(data.amount, c.tax_percent)
            values = {"customer_id": customer_id, "description": data.description,
                      "amount": data.amount, "fee": data.fee, "tax": tax,
                      "status": data.status, "paid_at": now}
            pid = await s.scalar(insert(Payment).values(
                **values, version=1, created_at=now, updated_at=now).returning(Payment.id))
            if data.status == "completed":
                await self._credit(s, customer_id, pid, data.amount - tax, data.description,
                                   now)
            await audit.record(s, self.actor, "create", "payments", pid,
                               customer_id=customer_id, before=None,
                               after={k: values[k] for k in AUDITED}, at=now)
        return pid

    async def update(self, payment_id: int, version: int, raw: dict) -> None:
        """Save an edit read at `version`: description, fee and status (as TRANSITIONS
        allow). The amount is fixed (AMOUNT_FIXED)."""
        self.actor.require("write")
        data = validate_payment(raw)
        async with self.db.sessions() as s, s.begin():
            p = await _as_read(s, payment_id, version, data.status)
            if data.amount != p.amount:
                raise ValidationError({"amount": AMOUNT_FIXED})
            await self._write(s, p, data)

    async def set_status(self, payment_id: int, version: int, status: str) -> None:
        """Complete or cancel a payment read at `version` (keys c / x, `payments cancel`)."""
        self.actor.require("write")
        async with self.db.sessions() as s, s.begin():
            p = await _as_read(s, payment_id, version, status)
            if p.status == status:
                raise ValidationError({"status": f"the payment is {status} already"})
            await self._write(s, p, PaymentInput(p.amount, p.fee, status, p.description))

    async def cancel(self, payment_id: int) -> PaymentRow:
        """Cancel the payment as it is now (the CLI has no form to go stale)."""
        row = await self.get(payment_id)
        await self.set_status(payment_id, row.version, "cancelled")
        return await self.get(payment_id)

    async def _write(self, s: AsyncSession, p: Payment, data: PaymentInput) -> None:
        now = self.clock()
        before = {k: getattr(p, k) for k in AUDITED}
        values = {"description": data.description, "fee": data.fee, "status": data.status}
        await update_versioned(s, Payment, p.id, p.version, values, what="payment", now=now)
        net = p.amount - p.tax
        if before["status"] != "completed" and data.status == "completed":
            await self._credit(s, p.customer_id, p.id, net, data.description, now)
        elif before["status"] == "completed" and data.status == "cancelled":
            public = split_description(data.description)[0]
            await ledger.post(s, p.customer_id, "payment", -net, at=now, ref=_ref(p.id),
                              note=f"cancelled: {public}".strip())
        await audit.record(s, self.actor, "update", "payments", p.id,
                           customer_id=p.customer_id, before=before,
                           after={**before, **values}, at=now)

    @staticmethod
    async def _credit(s: AsyncSession, customer_id: int, payment_id: int, net: Decimal,
                      description: str, now: datetime) -> None:
        await ledger.post(s, customer_id, "payment", net, at=now, ref=_ref(payment_id),
                          note=split_description(description)[0])
