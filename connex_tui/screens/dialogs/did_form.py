"""The DID add/edit form (docs/domain.md §11)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.engine.did_validation import DESTINATION_HELP, MAX_DURATION
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable

DID_FORM_FIELDS = [
    FieldSpec("number", "Number", help="international: +44 20 7946 0000"),
    FieldSpec("destination", "Destination", help=DESTINATION_HELP),
    FieldSpec("destination2", "Failover 1", help="tried when the destination fails"),
    FieldSpec("destination3", "Failover 2", help="tried when failover 1 fails"),
    FieldSpec("monthly_retail", "Monthly retail",
              help="charged each month, in the customer's currency"),
    FieldSpec("monthly_cost", "Monthly cost", help="what the number costs us a month"),
    FieldSpec("max_duration", "Max duration (s)", help=f"longest call, 1-{MAX_DURATION}"),
    FieldSpec("enabled", "Enabled", kind="switch", help="off: no calls, no rent"),
]

NEW_DID = {"number": "", "destination": "", "destination2": "", "destination3": "",
           "monthly_retail": "0", "monthly_cost": "0", "max_duration": "7200",
           "enabled": True}


def did_label(number: str) -> str:
    number = number.strip()
    return f"DID {number}" if number else "DID"


def did_form(app: App, values: dict[str, Any] | None,
             save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    title = ("Add DID" if values is None
             else "Edit " + escape(did_label(str(values.get("number", "")))))
    return reusable(app, "did", title, DID_FORM_FIELDS, dict(values or NEW_DID), save)
