"""Tabs that later issues fill: one honest line each."""

from __future__ import annotations

from textual.widgets import Static

PENDING = {
    "stats": "Stats (ASR, ACD, PDD, CPS, codes; Live/Daily/Weekly/Monthly) are not built yet: "
             "they come with the stats issue. The list's 24 h figures already use the rollups.",
    "routing": "Ingress routes and CLI rules are not editable here yet: they come with the "
               "routing and rating engine issue.",
    "auth": "IP authentication and SIP users are not editable here yet: they come with the "
            "routing and rating engine issue.",
    "calls": "Latest calls and Simulate are not built yet: they come with the routing and "
             "rating engine issue.",
    "dialogs": "Live dialogs are not shown yet: they come with the live traffic issue.",
    "payments": "Payments are not shown here yet: they come with the payments issue "
                "(the balance already comes from the ledger).",
    "alerts": "Alerts are not shown here yet: they come with the alerts issue.",
    "cdr": "CDRs and Recalc are not shown here yet: they come with the CDR issue.",
    "did": "DIDs are not shown here yet: they come with the DID issue.",
    "packages": "Packages are not shown here yet: they come with the packages issue.",
}


class PendingTab(Static):
    DEFAULT_CSS = "PendingTab { padding: 1 2; color: $text-muted; }"

    def __init__(self, tab: str):
        super().__init__(PENDING[tab], id=f"pending-{tab}")
