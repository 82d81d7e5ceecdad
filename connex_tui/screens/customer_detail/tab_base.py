"""What every data tab of the customer screen shares: it is handed the customer to show.

The screen is reused across customers (see CustomerDetailScreen.show_customer), so a tab
must drop what it showed and load again whenever show_customer is called. Tabs are mounted
lazily; on mount a tab picks up the customer the screen already shows.
"""

from __future__ import annotations

from textual.containers import Vertical


class CustomerTab(Vertical):
    DEFAULT_CSS = "CustomerTab { height: 1fr; }"

    customer_id: int | None = None

    def on_mount(self) -> None:
        cid = getattr(self.screen, "customer_id", None)
        if cid is not None:
            self.show_customer(cid)

    def show_customer(self, customer_id: int) -> None:
        self.customer_id = customer_id
        self.reload()

    def reload(self) -> None:
        """Override: start a worker that loads this tab's rows for self.customer_id."""
