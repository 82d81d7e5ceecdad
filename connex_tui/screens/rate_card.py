"""'View card': the rows of a route's rate card, searchable by prefix, loaded page by page.

A card can hold a million rows: the screen asks for one page (keyset paging on prefix) and
fetches the next when the cursor nears the end; `/` filters to prefixes starting with the
typed digits.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from connex_tui.data.access import NotFound, StorageError
from connex_tui.engine import present
from connex_tui.widgets.row_table import Column, RowTable

PAGE = 200
LOAD_MORE_MARGIN = 20
FIXED = 10 + 9 + 8 + 6 + 3 + 10  # every column but Destination
PADDING = 2 * 7 + 1  # cell padding of seven columns, the scrollbar


def moment_text(at) -> str:
    if at is None:
        return ""
    return at.strftime("%Y-%m-%d" if (at.hour, at.minute) == (0, 0) else "%Y-%m-%d %H:%M")


class RateCardScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="card.back"),
        Binding("slash", "search", "Search prefix", id="card.search"),
        Binding("r", "refresh", "Refresh", id="card.refresh"),
        Binding("question_mark", "app.help", "Help", id="card.help"),
    ]
    DEFAULT_CSS = """
    RateCardScreen #card-info { height: 1; padding: 0 1; color: $text-muted;
        text-wrap: nowrap; text-overflow: ellipsis; }
    RateCardScreen #card-bar { height: 1; }
    RateCardScreen #card-search { width: 1fr; }
    RateCardScreen #card-count { width: auto; min-width: 16; padding: 0 1;
        color: $text-muted; }
    RateCardScreen #card-rows { height: 1fr; scrollbar-size-vertical: 1; }
    """
    help_title = "rate card"

    def __init__(self, card_id: int, card_name: str, crumb: str = ""):
        super().__init__()
        self.card_id, self.card_name, self.crumb = card_id, card_name, crumb
        self.precision = 4
        self.prefix = ""
        self.more = False  # the last page was full: there may be more rows
        self.total = 0
        self.loaded = 0  # tests watch this
        self._loading_more = False

    def compose(self) -> ComposeResult:
        crumb = f"{self.crumb} {present.glyphs().crumb} " if self.crumb else ""
        yield Static(present.text(f"{crumb}Card {self.card_name}"), id="crumb",
                     classes="crumb", markup=False)
        yield Static("", id="card-info", markup=False)
        with Horizontal(id="card-bar"):
            search = Input(placeholder="/ prefix: type the first digits", id="card-search",
                           compact=True, restrict=r"[0-9]*", max_length=32)
            search.cursor_blink = False
            yield search
            yield Static("", id="card-count")
        dest = max(12, self.app.size.width - FIXED - PADDING)
        self.dest_width = dest
        yield RowTable([Column("Prefix", 10), Column("Destination", dest),
                        Column("Rate", 9, right=True), Column("Fee", 8, right=True),
                        Column("Incr.", 6), Column("Blk", 3), Column("From", 10)],
                       id="card-rows")
        yield Footer(compact=True)

    @property
    def table(self) -> RowTable:
        return self.query_one("#card-rows", RowTable)

    def on_mount(self) -> None:
        self.table.focus()
        self.load_info()  # then the first page, shown with the card's precision

    def cells(self, r) -> tuple:
        blocked = Text("yes", style="bold red") if r.blocked else ""
        # Money in the card's currency, which the info line above the table names.
        return (r.prefix, present.clip(r.destination, self.dest_width),
                present.money(r.rate, places=self.precision),
                present.money(r.connect_fee, places=self.precision),
                r.increment, blocked, moment_text(r.effective_from))

    @work(group="card-info")
    async def load_info(self) -> None:
        try:
            card = await self.app.services.rates.card(self.card_id, counts=False)
        except NotFound:
            self.app.flash(f"Card {escape(self.card_name)} no longer exists", error=True)
            return
        self.precision = card.precision
        self.reload()
        parents = ", ".join(card.parents) or "none"
        self.query_one("#card-info", Static).update(present.text(
            f"{card.currency}/min · precision {card.precision} · rounding {card.rounding} · "
            f"provider cards: {parents}"))

    def reload(self) -> None:
        self._load_first(self.prefix)

    @work(group="card-load", exclusive=True)
    async def _load_first(self, prefix: str) -> None:
        rates = self.app.services.rates
        try:
            rows = await rates.rows(self.card_id, prefix=prefix, limit=PAGE)
            total = await rates.count_rows(self.card_id, prefix=prefix)
        except StorageError as exc:
            self.app.flash(escape(f"Not loaded, press r to retry: {exc}"), error=True)
            return
        if prefix != self.prefix:  # typed on meanwhile: a newer load is on its way
            return
        self.more = len(rows) >= PAGE
        self.table.fill(rows, self.cells)
        self.table.move_cursor(row=0)
        self._count(total)
        self.loaded += 1

    def _count(self, total: int) -> None:
        what = f" starting {self.prefix}" if self.prefix else ""
        self.query_one("#card-count", Static).update(
            f"{total:,} row{'s' if total != 1 else ''}{what}" if total
            else f"no rows{what}")
        self.total = total

    @on(DataTable.RowHighlighted, "#card-rows")
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        if (self.more and not self._loading_more
                and event.cursor_row >= self.table.row_count - LOAD_MORE_MARGIN):
            self._loading_more = True
            self._load_more(self.prefix, self.table.rows_shown[-1].prefix)

    @work(group="card-load")
    async def _load_more(self, prefix: str, after: str) -> None:
        try:
            rows = await self.app.services.rates.rows(self.card_id, prefix=prefix,
                                                      limit=PAGE, after=after)
        except StorageError:
            rows = None
        finally:
            self._loading_more = False
        if rows is None or prefix != self.prefix:
            return
        self.more = len(rows) >= PAGE
        self.table.append(rows, self.cells)
        self.loaded += 1

    # -- keys -----------------------------------------------------------------------------
    @on(Input.Changed, "#card-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.prefix = event.value
        self.reload()

    @on(Input.Submitted, "#card-search")
    def _search_done(self) -> None:
        self.table.focus()

    def action_search(self) -> None:
        self.query_one("#card-search", Input).focus()

    def action_refresh(self) -> None:
        self.load_info()  # then the first page, shown with the card's precision
        self.app.flash("Refreshed")

    def action_back(self) -> None:
        if self.focused is self.query_one("#card-search", Input):
            self.table.focus()
        else:
            self.app.pop_screen()
