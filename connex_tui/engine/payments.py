"""Payments (docs/domain.md §8): the one validator (form and CLI), the description's split
into a public part and a private note, and which status changes are allowed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from connex_tui.engine.validation import _Collector, choice, money, text

PAYMENT_STATUSES = ("completed", "pending", "cancelled")
# from -> the statuses it may become (cancelled is final; a completed payment is undone by
# a cancelling ledger entry, never deleted)
TRANSITIONS = {"pending": ("completed", "cancelled"), "completed": ("cancelled",),
               "cancelled": ()}
MAX_AMOUNT = Decimal(1_000_000_000)  # one payment: beyond it is a typo, not money
MAX_DESCRIPTION = 500
AMOUNT_FIXED = ("a saved payment's amount cannot change: cancel it and add a new one")


@dataclass(frozen=True, slots=True)
class PaymentInput:
    amount: Decimal
    fee: Decimal = Decimal(0)
    status: str = "completed"
    description: str = ""


def split_description(description: str) -> tuple[str, str]:
    """(public, note): whatever follows the first `#` is a private note, never shown to
    the customer. Both stripped."""
    public, _, note = (description or "").partition("#")
    return public.strip(), note.strip()


def payment_amount(value) -> Decimal:
    """A payment amount: above 0, at most 6 decimals (micro-units), at most MAX_AMOUNT."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("required: an amount above 0")
    d = money(value)
    if d <= 0:
        raise ValueError("must be above 0")
    if d > MAX_AMOUNT:
        raise ValueError(f"at most {MAX_AMOUNT:,}")
    return d


def payment_fee(value) -> Decimal:
    d = money(value)
    if d < 0:
        raise ValueError("must be 0 or more")
    if d > MAX_AMOUNT:
        raise ValueError(f"at most {MAX_AMOUNT:,}")
    return d


def validate_payment(raw: dict) -> PaymentInput:
    c = _Collector()
    out = PaymentInput(
        amount=c.check("amount", payment_amount, raw.get("amount", "")),
        fee=c.check("fee", payment_fee, raw.get("fee", "") or ""),
        status=c.check("status", choice, str(raw.get("status", "completed") or "").strip(),
                       PAYMENT_STATUSES),
        description=c.check("description", text, raw.get("description", "") or "",
                            max_len=MAX_DESCRIPTION, single_line=True),
    )
    c.raise_if_any()
    return out


def check_transition(before: str, after: str) -> None:
    """ValueError (for the status field) unless `before` may become `after`."""
    if before == after:
        return
    if after not in TRANSITIONS.get(before, ()):
        if before == "cancelled":
            raise ValueError("a cancelled payment is final: add a new one")
        raise ValueError(f"a {before} payment cannot become {after}")
