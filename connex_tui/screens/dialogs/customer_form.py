"""The customer add/edit form: every field of docs/domain.md §1."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.engine.validation import CUSTOMER_STATUSES, STATUS_LABELS
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable

STATUS_OPTIONS = tuple((STATUS_LABELS[s], s) for s in CUSTOMER_STATUSES)


def customer_fields(editing: bool) -> list[FieldSpec]:
    return [
        FieldSpec("name", "Customer name", section="Account",
                  help="" if editing else "required; unique"),
        FieldSpec("status", "Status", kind="select", options=STATUS_OPTIONS, section="Account"),
        FieldSpec("currency", "Currency", read_only=editing,
                  help="" if editing else "ISO 4217 code; it cannot change once created",
                  section="Account"),
        FieldSpec("debit_limit", "Debit limit", section="Billing",
                  help="0 = pre-pay; 100 = credit of 100; -5 = stop with 5 left"),
        FieldSpec("tax_percent", "Tax %", section="Billing"),
        FieldSpec("paypal_email", "PayPal email", section="Billing"),
        FieldSpec("channels", "Channels", section="Capacity",
                  help="max concurrent calls; 0 = unlimited"),
        FieldSpec("flow_speed", "Flow speed (CPS)", section="Capacity",
                  help="max new calls per second; 0 = unlimited"),
        FieldSpec("portal_access", "Portal access", kind="switch", section="Portal"),
        FieldSpec("website", "Website", section="Portal", help="http:// or https://"),
        FieldSpec("address", "Address", kind="textarea", section="Notes"),
        FieldSpec("notes_public", "Public notes", kind="textarea", section="Notes",
                  help="shown to the customer in the portal"),
        FieldSpec("notes_private", "Private notes", kind="textarea", section="Notes",
                  help="operators only"),
    ]


NEW_CUSTOMER = {"name": "", "status": "active", "currency": "USD", "debit_limit": "0",
                "tax_percent": "0", "paypal_email": "", "channels": "0", "flow_speed": "0",
                "portal_access": False, "website": "", "address": "", "notes_public": "",
                "notes_private": ""}


def customer_form(app: App, values: dict[str, Any] | None,
                  save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    editing = values is not None
    title = f"Edit customer: {escape(values['name'])}" if editing else "Add customer"
    return reusable(app, "customer", title, customer_fields(editing),
                    dict(values or NEW_CUSTOMER), save)
