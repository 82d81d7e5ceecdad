"""Balance history (docs/domain.md §8): a customer's ledger entries newest first, each with
the balance just after it, paged as the cursor nears the end. `escape` goes back."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from connex_tui.data.access import NotFound, StorageError
from connex_tui.engine import present
from connex_tui.widgets.row_table import Column, RowTable, TablePane

PAGE = 200
NEAR_END = 20
# money exact (micro-units): up to 999,999.999999 fits
COLUMNS = (Column("Date (UTC)", 16), Column("Kind", 7), Column("Amount", 14, right=True),
           Column("Balance", 14, right=True), Column("Note", None))


class BalanceHistoryScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="history.back"),
        Binding("r", "refresh", "Refresh", id="history.refresh"),
        Binding("question_mark", "app.help", "Help", id="history.help"),
    ]

    def __init__(self, customer_id: int, name: str = ""):
        super().__init__()
        self.customer_id = customer_id
        self.customer_name = name
        self.shown = 0
        self.total = 0
        self.currency = ""
        self.loaded = 0  # tests watch this
        self._more = False

    @property
    def help_title(self) -> str:
        return "balance history"

    def compose(self) -> ComposeResult:
        g = present.glyphs()
        yield Static(f"Customers {g.crumb} {present.text(self.customer_name) or g.ellipsis} "
                     f"{g.crumb} Balance history", id="crumb", classes="crumb", markup=False)
        yield TablePane("Ledger, newest first", "No ledger entries yet: payments, calls, "
                        "packages and DID rent appear here",
                        RowTable(COLUMNS, id="history"), id="history-pane")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#history", RowTable).focus()
        self._load(0)

    def cells(self, r):
        m = present.money
        style = "red" if r.running < 0 else ""
        return (f"{r.at:%Y-%m-%d %H:%M}", r.kind, m(r.amount), Text(m(r.running), style=style,
                                                                     justify="right"),
                present.clip(r.note or r.ref, 60))

    @work(group="history-load", exclusive=True)
    async def _load(self, offset: int) -> None:
        try:
            page = await self.app.services.payments.history(self.customer_id, offset, PAGE)
        except (StorageError, NotFound) as exc:
            self.app.flash(escape(f"Not loaded: {exc}"), error=True)
            return
        pane = self.query_one("#history-pane", TablePane)
        table = self.query_one("#history", RowTable)
        self.currency, self.total = page.currency, page.total
        if offset == 0:
            pane.fill(page.rows, self.cells)
        else:
            table.append(page.rows, self.cells)
        self.shown = len(table.rows_shown)
        self._more = self.shown < page.total
        note = f"{self.shown} of {page.total} · {present.text(page.currency)}"
        pane.query_one(".pane-title", Static).update(f"Ledger, newest first · {note}")
        self.loaded += 1

    @on(DataTable.RowHighlighted, "#history")
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        if self._more and event.cursor_row >= self.shown - NEAR_END:
            self._more = False
            self._load(self.shown)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self._load(0)
