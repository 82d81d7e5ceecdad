"""Calls tab (seed manual: Latest Calls): the customer's newest CDRs and simulations.

`/` searches by number, call id or IP as you type (one query in flight, keys typed meanwhile
collapse into the next one, as on the customer list); `enter` opens a call (a simulation's
stored result, or a CDR's fields); `s` simulates a call; `r` reloads.
"""

from __future__ import annotations

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

from connex_tui.data.access import StorageError
from connex_tui.data.calls import CallRow
from connex_tui.engine import present
from connex_tui.engine.money import billable_seconds
from connex_tui.screens.customer_detail.tab_base import CustomerTab
from connex_tui.screens.dialogs.simulate import open_simulate
from connex_tui.screens.dialogs.simulate_result import ResultScreen
from connex_tui.widgets.columns import fit_widths
from connex_tui.widgets.text_view import TextScreen

LIMIT = 100
# (label, width at 80 columns); the first five fit there, the rest scroll into view.
# At 80 columns what an operator reads first fits: when, the number, the outcome, how long
# and what it cost. The call id (found with /, shown in full by enter) and the rest scroll.
COLUMNS = (("Time (UTC)", 11), ("Number", 13), ("SIP", 12), ("Dur.", 7), ("Charge", 9),
           ("Destination", 14), ("Call id", 11), ("Source IP", 15), ("CLI in → out", 26))
GROW = (1, 2, 5, 8)  # Number, SIP, Destination, CLI: the columns a long value cuts


def column_widths(total: int) -> tuple[int, ...]:
    return fit_widths([w for _, w in COLUMNS], GROW, total)


def call_clock(ms: int) -> str:
    """The billed length of a call (a started second counts, docs/domain.md §8) as a clock."""
    return present.clock(billable_seconds(ms))


def short_id(r: CallRow, width: int = COLUMNS[6][1]) -> str:
    """SIM-<time>-<hex>: the time has its own column, so the hex tells them apart."""
    if r.simulated and r.call_id.startswith("SIM-") and len(r.call_id) > width:
        mark = present.glyphs().ellipsis
        return present.clip("SIM-" + mark + r.call_id[-(width - 4 - len(mark)):], width)
    return present.clip(r.call_id, width)


def cells(r: CallRow, widths: tuple[int, ...] = column_widths(80)) -> tuple[Text, ...]:
    """All Text: DataTable reads a str as markup, and CDR fields come from switches (every
    one is escaped by present)."""
    call_id = Text(short_id(r, widths[6]), style="bold cyan" if r.simulated else "")
    sip = Text(present.clip(f"{r.sip_code} {r.sip_reason}", widths[2]),
               style="green" if r.sip_code == 200 else "")
    answered = r.duration_ms > 0
    return (Text(f"{r.started_at:%m-%d %H:%M}"), Text(present.clip(r.dialled, widths[1])),
            sip, Text(call_clock(r.duration_ms) if answered else "-", justify="right"),
            Text(present.money(r.charge, places=4) if answered else "-", justify="right"),
            Text(present.clip(r.destination or "-", widths[5])), call_id,
            Text(present.clip(r.source_ip or "-", widths[7])),
            Text(present.clip(present.arrow(r.cli_in, r.cli_out), widths[8])))


def cdr_lines(r: CallRow, currency: str = "") -> list[str]:
    """The fields of a CDR, for TextScreen (which escapes them)."""
    return [f"Started      {r.started_at:%Y-%m-%d %H:%M:%S} UTC",
            f"Number       {r.dialled}", f"CLI in       {r.cli_in or '-'}",
            f"CLI out      {r.cli_out or '-'}", f"Source IP    {r.source_ip or '-'}",
            f"SIP          {r.sip_code} {r.sip_reason}",
            f"Duration     {call_clock(r.duration_ms)} ({r.duration_ms} ms billed as "
            f"{billable_seconds(r.duration_ms)} s)",
            f"Charge       {present.money(r.charge, currency, 6)}",
            f"Destination  {r.destination or '-'}"]


class CallTableTab(CustomerTab):
    """What the Calls and the CDR tab share: the calls table (its columns follow the
    terminal's width) under a search box; `/` goes to the box, `esc` clears it, j/k move."""

    TABLE_ID = "calls"
    SEARCH_ID = "calls-search"

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.widths = column_widths(80)

    def on_mount(self) -> None:
        self._set_columns(column_widths(self.app.size.width))
        super().on_mount()

    def _set_columns(self, widths: tuple[int, ...]) -> None:
        self.widths = widths
        table = self.table
        table.clear(columns=True)
        for (label, _), width in zip(COLUMNS, widths, strict=True):
            right = label in ("Dur.", "Charge")
            table.add_column(Text(label, justify="right" if right else "left"), width=width)

    @property
    def table(self) -> DataTable:
        return self.query_one(f"#{self.TABLE_ID}", DataTable)

    @property
    def search(self) -> Input:
        return self.query_one(f"#{self.SEARCH_ID}", Input)

    def on_show(self) -> None:
        # The customer screen starts with the tab bar focused (or hands the focus to the
        # first field, the search box, where the tab digits would be typed), and switching
        # tabs from another tab's table leaves nothing focused: the table takes it, so the
        # tab's keys work at once, unless a search is being typed.
        self.call_after_refresh(self._take_focus)

    def _take_focus(self) -> None:
        search = self.search
        if self.display and not (search.has_focus and search.value):
            self.table.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == self.SEARCH_ID:
            self.table.focus()

    def action_search(self) -> None:
        self.search.focus()

    def key_escape(self, event) -> None:
        """esc clears an active search first; with none it goes on to the screen (back).
        A key handler, not a binding, so that the footer keeps showing "esc Back"."""
        search = self.search
        if search.value or search.has_focus:
            event.stop()
            search.value = ""
            self.table.focus()

    def action_cursor(self, step: int) -> None:
        t = self.table
        if t.row_count:
            t.move_cursor(row=max(0, min(t.row_count - 1, t.cursor_row + step)))


class CallsTab(CallTableTab):
    DEFAULT_CSS = """
    CallsTab #calls-bar { height: 1; }
    CallsTab #calls-search { width: 1fr; }
    CallsTab #calls-count { width: auto; min-width: 12; padding: 0 1; color: $text-muted; }
    CallsTab #calls { height: 1fr; }
    """
    BINDINGS = [
        Binding("s", "simulate", "Simulate", id="calls.simulate"),
        # / and r stay out of the footer (80 columns): the search box says "/ search",
        # and r refreshes everywhere; ? lists both.
        Binding("slash", "search", "Search", show=False, id="calls.search"),
        Binding("r", "refresh", "Refresh", show=False, id="calls.refresh"),
        Binding("j", "cursor(1)", "Down", show=False, id="calls.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="calls.up"),
    ]

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.rows: list[CallRow] = []
        self._want: tuple = (None, "", 0)  # (customer, query, nonce) asked for
        self._shown: tuple | None = None
        self._loading = False
        self._to_top = False  # put the cursor on the newest call at the next fill
        self.loads = 0  # tests watch this

    def compose(self) -> ComposeResult:
        with Horizontal(id="calls-bar"):
            search = Input(placeholder="/ search number, call id or IP", id="calls-search",
                           compact=True)
            search.cursor_blink = False
            yield search
            yield Static("", id="calls-count")
        yield DataTable(id="calls", cursor_type="row", zebra_stripes=True)

    def on_resize(self) -> None:
        widths = column_widths(self.size.width)
        if widths != self.widths:  # a wider (or narrower) terminal: cells cut elsewhere
            self._set_columns(widths)
            self._fill(self.rows)


    @property
    def query_text(self) -> str:
        return self.query_one("#calls-search", Input).value

    # -- loading ----------------------------------------------------------------------------
    def show_customer(self, customer_id: int) -> None:
        if customer_id != self.customer_id and self.is_mounted:
            self.query_one("#calls-search", Input).value = ""
            self.rows = []
            self.table.clear()
        super().show_customer(customer_id)

    def reload(self, *, force: bool = True) -> None:
        if self.customer_id is None:
            return
        nonce = self._want[2] + (1 if force else 0)
        self._want = (self.customer_id, self.query_text.strip(), nonce)
        if not self._loading:
            self._loading = True
            self._loader()

    @work(group="calls-load")
    async def _loader(self) -> None:
        try:
            while self._want != self._shown:
                want = self._want
                customer_id, query, _ = want
                rows = await self.app.services.calls.latest(customer_id, query, LIMIT)
                if want != self._want:
                    continue
                self._shown = want
                self._fill(rows)
        except StorageError as exc:
            self._shown = None
            self.app.flash(escape(f"Not loaded, press r to retry: {exc}"), error=True)
        finally:
            self._loading = False

    def _fill(self, rows: list[CallRow]) -> None:
        t = self.table
        keep = self.rows[t.cursor_row].call_id if self.rows and t.cursor_row < len(
            self.rows) else None
        self.rows = list(rows)
        t.clear()
        for r in self.rows:
            t.add_row(*cells(r, self.widths), key=r.call_id)
        ids = [r.call_id for r in self.rows]
        if self._to_top:
            self._to_top = False
            t.move_cursor(row=0, animate=False)
        elif keep in ids:
            t.move_cursor(row=ids.index(keep), animate=False)
        n, query = len(rows), self.query_text.strip()
        if query:
            text = f"{n}{'+' if n == LIMIT else ''} match{'' if n == 1 else 'es'}"
        else:
            text = f"newest {n}" if n == LIMIT else f"{n} call{'' if n == 1 else 's'}"
        if not n and not query:
            text = "no calls yet · s simulates one"
        self.query_one("#calls-count", Static).update(text)
        self.loads += 1

    # -- events -----------------------------------------------------------------------------
    @on(Input.Changed, "#calls-search")
    def _search_changed(self) -> None:
        self.reload(force=False)

    @on(DataTable.RowSelected, "#calls")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.rows):
            self._open(self.rows[event.cursor_row])

    # -- actions ----------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.reload()
        self.app.flash("Calls refreshed")

    def action_simulate(self, values: dict | None = None) -> None:
        if self.customer_id is None:
            return
        detail = getattr(self.screen, "detail", None)
        name = detail.name if detail is not None and detail.id == self.customer_id else ""
        open_simulate(self.app, self.customer_id, name, values, on_close=self._after_simulate)

    def _after_simulate(self, stored: int | None) -> None:
        """The simulations just made are the newest calls: show them at the cursor."""
        self._to_top = bool(stored)
        self.reload()

    @work(group="calls-open", exclusive=True)
    async def _open(self, row: CallRow) -> None:
        if not row.simulated:
            detail = getattr(self.screen, "detail", None)
            currency = detail.currency if detail is not None else ""
            self.app.push_screen(TextScreen(f"Call {row.call_id}", cdr_lines(row, currency)))
            return
        result = await self.app.services.calls.reopen(row.call_id)
        if result is None:
            self.app.flash(f"{escape(row.call_id)}: no stored result", error=True)
            return

        def done(choice: str | None) -> None:
            if choice == "edit":  # run it again with its inputs, editable
                auth = result.auth.removeprefix("SIP user ") if result.auth.startswith(
                    "SIP user ") else ""
                self.action_simulate({"number": row.dialled, "cli": row.cli_in,
                                      "ip": row.source_ip, "sip_user": auth})

        self.app.push_screen(ResultScreen(result, row.call_id), done)
