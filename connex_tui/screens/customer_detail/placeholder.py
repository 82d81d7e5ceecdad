"""Tabs that later issues fill: one honest line each."""

from __future__ import annotations

from textual.widgets import Static

PENDING = {
    "payments": "Not in this version yet: payments (the balance above comes from the ledger).",
    "did": "Not in this version yet: DIDs.",
    "packages": "Not in this version yet: packages.",
}


class PendingTab(Static):
    DEFAULT_CSS = "PendingTab { padding: 1 2; color: $text-muted; }"

    def __init__(self, tab: str):
        super().__init__(PENDING[tab], id=f"pending-{tab}")
