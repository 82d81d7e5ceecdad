"""The DID add/edit form (docs/domain.md §11)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.engine.did_validation import DESTINATION_HELP, MAX_DURATION
from connex_tui.screens.dialogs.route_form import options
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


def did_fields(values: dict[str, Any], provider_cards: Sequence[str],
               customer_cards: Sequence[str]) -> list[FieldSpec]:
    """The fields, with the rate cards to choose from (the current ones stay listed)."""
    return [*DID_FORM_FIELDS,
            FieldSpec("provider_card", "Provider card", kind="select",
                      options=options(provider_cards, values.get("provider_card", ""),
                                      none="none"),
                      help="the origination card; its provider is the DID's"),
            FieldSpec("customer_card", "Customer card", kind="select",
                      options=options(customer_cards, values.get("customer_card", ""),
                                      none="none"),
                      help="what the customer's calls to it are rated on")]

NEW_DID = {"number": "", "destination": "", "destination2": "", "destination3": "",
           "monthly_retail": "0", "monthly_cost": "0", "max_duration": "7200",
           "enabled": True, "provider_card": "", "customer_card": ""}


def did_label(number: str) -> str:
    number = number.strip()
    return f"DID {number}" if number else "DID"


def did_form(app: App, values: dict[str, Any] | None,
             save: Callable[[dict[str, Any]], Awaitable[Any]], *,
             provider_cards: Sequence[str] = (), customer_cards: Sequence[str] = ()
             ) -> FormScreen:
    title = ("Add DID" if values is None
             else "Edit " + escape(did_label(str(values.get("number", "")))))
    values = dict(values or NEW_DID)
    return reusable(app, "did", title, did_fields(values, provider_cards, customer_cards),
                    values, save)
