"""Tabs that later issues fill: one honest line each."""

from __future__ import annotations

from textual.widgets import Static

PENDING = {
}


class PendingTab(Static):
    DEFAULT_CSS = "PendingTab { padding: 1 2; color: $text-muted; }"

    def __init__(self, tab: str):
        super().__init__(PENDING[tab], id=f"pending-{tab}")
