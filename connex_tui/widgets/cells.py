"""How domain values look in table cells and header strips (16-colour safe styles)."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text

from connex_tui.engine.present import money_rounded, text

STATUS_STYLE = {
    "active": ("Active", "green"),
    "inactive": ("Inactive", "dim"),
    "pending_approval": ("Pending", "yellow"),
    "penalty": ("Penalty", "red"),
}


def status_cell(status: str, archived: bool = False, *, long: bool = False) -> Text:
    if archived:
        return Text("Archived", style="dim italic")
    label, style = STATUS_STYLE.get(status, (text(status), ""))
    if long and status == "pending_approval":
        label = "Pending Approval"
    return Text(label, style=style)


def money_cell(amount: Decimal, currency: str, *, negative_alert: bool = False) -> Text:
    """The list's credit column: rounded to cents (the customer's screen shows it exact)."""
    return Text(money_rounded(amount, currency),
                style="red" if negative_alert else "", justify="right")
