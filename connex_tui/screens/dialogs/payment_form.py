"""The payment add/edit form (docs/domain.md §8). Editing keeps the amount (read-only: a
wrong amount is cancelled and added again) and offers only the status changes allowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App

from connex_tui.engine.payments import TRANSITIONS
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable

NEW_PAYMENT = {"amount": "", "fee": "0", "status": "completed", "description": ""}


def payment_fields(status: str | None, currency: str) -> list[FieldSpec]:
    """`status` None: a new payment (completed or pending); else the one being edited."""
    allowed = ("completed", "pending") if status is None else (status, *TRANSITIONS[status])
    return [
        FieldSpec("amount", f"Amount ({currency})", read_only=status is not None,
                  help="gross, above 0; credited net of tax" if status is None
                  else "fixed: cancel the payment and add a new one"),
        FieldSpec("fee", "Fee", help="for reference only; 0 or more"),
        FieldSpec("status", "Status", kind="select", options=tuple((s, s) for s in allowed),
                  help="completed credits at once; cancelled is final"),
        FieldSpec("description", "Description",
                  help="after # a private note, never shown to the customer"),
    ]


def payment_form(app: App, values: dict[str, Any] | None, currency: str,
                 save: Callable[[dict[str, Any]], Awaitable[Any]],
                 payment_id: int | None = None) -> FormScreen:
    status = None if values is None else str(values["status"])
    title = "Add payment" if values is None else f"Edit payment {payment_id}"
    return reusable(app, "payment", title, payment_fields(status, currency),
                    dict(values or NEW_PAYMENT), save)
