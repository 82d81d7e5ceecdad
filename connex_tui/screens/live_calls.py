"""Live calls (dialogs, docs/domain.md §7): the panel shared by a customer's Dialogs tab and
the global Live calls screen, and that screen.

The panel polls once a second with a re-armed timer: a worker fetches, shows, and only
then arms the next timer, so polls never overlap however slow the database is; nothing is
fetched while the panel is not on screen. Each refresh changes only the cells that changed
(widgets/live_table). `/` filters as you type (number, CLI, provider, IP, state, call id,
customer); `s` sorts by duration or start; `ctrl+d`/`delete` ends the highlighted call
after a confirm: data/dialogs writes its CDR with release reason `operator`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static

from connex_tui.data.access import NotFound, PermissionDenied, StorageError
from connex_tui.engine import present
from connex_tui.widgets.columns import fit_widths
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.live_table import Cell, LiveColumn, LiveTable

REFRESH_S = 1.0
# (key, label, width at 80 columns, right-aligned); the customer column only on the
# global screen. Columns that do not fit are left out (a refresh each second would keep
# scrolling a half-shown column); `enter` on the Dialogs tab shows every field of a call.
CALL_COLUMNS = (("state", "State", 8, False), ("dur", "Dur.", 8, True),
                ("number", "Number", 13, False), ("cli", "CLI", 12, False),
                ("provider", "Provider", 10, False), ("ip", "Source IP", 15, False),
                ("call", "Call id", 16, False))
CUSTOMER_COLUMN = ("customer", "Customer", 14, False)
GROWS = ("customer", "number", "cli", "provider", "call")  # columns that cut long values
STATE_STYLE = {"answered": "green", "ringing": "yellow", "trying": ""}
SORTS = ("start", "duration")  # newest first; longest first
SORT_LABELS = {"start": "newest first", "duration": "longest first"}


def columns_for(total: int, with_customer: bool) -> list[LiveColumn]:
    spec = ((CUSTOMER_COLUMN,) if with_customer else ()) + CALL_COLUMNS
    grow = [i for i, c in enumerate(spec) if c[0] in GROWS]
    widths = fit_widths([c[2] for c in spec], grow, total, drop=True)
    return [LiveColumn(key, label, w, right)
            for (key, label, _, right), w in zip(spec, widths, strict=False)]


def since(row) -> datetime:
    """What the duration counts from: the answer, or the INVITE while it rings."""
    return row.answered_at or row.started_at


def seconds(row, now: datetime) -> int:
    return max(0, int((now - since(row)).total_seconds()))


def duration_cell(row, now: datetime) -> Cell:
    # setup time (not yet answered) is shown dim: it is not talk time
    return present.live_clock(seconds(row, now)), "" if row.answered_at is not None else "dim"


def call_cells(row, now: datetime, columns: Sequence[LiveColumn]) -> tuple[Cell, ...]:
    """The cells of one call, as (text, style), escaped; a long value is cut with …."""
    values: dict[str, Cell] = {
        "customer": (row.customer, ""),
        "state": (row.state, STATE_STYLE.get(row.state, "")),
        "dur": duration_cell(row, now),
        "number": (row.dialled, ""), "cli": (row.cli or "-", ""),
        "provider": (row.provider or "-", ""), "ip": (row.source_ip or "-", ""),
        "call": (row.call_id, "dim"),
    }
    return tuple((present.clip(values[c.key][0], c.width), values[c.key][1]) for c in columns)


@dataclass(frozen=True, slots=True)
class LiveTotal:
    """One customer's live calls: all of them, and those answered."""

    customer_id: int
    name: str
    calls: int
    answered: int


def live_totals(rows: Sequence) -> list[LiveTotal]:
    """Per customer, most calls first (then by name)."""
    counted: dict[int, list] = {}
    for r in rows:
        c = counted.setdefault(r.customer_id, [r.customer, 0, 0])
        c[1] += 1
        c[2] += r.state == "answered"
    return sorted((LiveTotal(cid, name, n, a) for cid, (name, n, a) in counted.items()),
                  key=lambda t: (-t.calls, t.name.lower(), t.customer_id))


def call_lines(row, now: datetime) -> list[str]:
    """Every field of a live call, for TextScreen (which escapes them)."""
    talk = "talk" if row.answered_at is not None else "not answered yet"
    return [f"Call id      {row.call_id}", f"Customer     {row.customer}",
            f"State        {row.state}", f"Number       {row.dialled}",
            f"CLI          {row.cli or '-'}", f"Provider     {row.provider or '-'}",
            f"Source IP    {row.source_ip or '-'}",
            f"Started      {row.started_at:%Y-%m-%d %H:%M:%S} UTC",
            "Answered     " + (f"{row.answered_at:%Y-%m-%d %H:%M:%S} UTC"
                               if row.answered_at is not None else "-"),
            f"Duration     {present.clock(seconds(row, now))} ({talk})"]


def matches(row, needle: str) -> bool:
    """`needle` (lower case) in any field the operator can see."""
    return any(needle in (value or "").lower() for value in (
        row.dialled, row.cli, row.provider, row.source_ip, row.state, row.call_id,
        row.customer))


def ordered(rows: Sequence, sort: str) -> list:
    if sort == "duration":  # longest first: the earliest answer (or start) on top
        return sorted(rows, key=lambda r: (since(r), r.call_id))
    return sorted(rows, key=lambda r: (r.started_at, r.call_id), reverse=True)


def set_line(widget: Static, text: str) -> None:
    """Update a one-line Static of fixed size, and only when its text changed."""
    if getattr(widget, "_live_text", None) != text:
        widget._live_text = text
        widget.update(text, layout=False)


class LiveCallsPanel(Vertical):
    """Filter bar, the calls table, an empty-state line; polls while it is on screen."""

    DEFAULT_CSS = """
    LiveCallsPanel { height: 1fr; }
    LiveCallsPanel > .live-bar { height: 1; }
    LiveCallsPanel .live-filter { width: 1fr; }
    LiveCallsPanel .live-count { width: 30; padding: 0 1; color: $text-muted;
        text-align: right; }
    LiveCallsPanel > .live-empty { height: auto; padding: 0 1; color: $text-muted; }
    LiveCallsPanel > .live-empty.-hidden { display: none; }
    LiveCallsPanel > LiveTable { height: 1fr; scrollbar-size-vertical: 1; }
    """
    BINDINGS = [
        Binding("ctrl+d,delete", "end_call", "End call", id="live.end"),
        Binding("s", "sort", "Sort", id="live.sort", tooltip="Sort by duration or start"),
        Binding("slash", "filter", "Filter", show=False, id="live.filter"),
        Binding("r", "refresh", "Refresh", show=False, id="live.refresh"),
    ]

    def __init__(self, customer_id: int | None = None, *, all_customers: bool = False,
                 id: str | None = None):
        super().__init__(id=id)
        self.customer_id = customer_id
        self.all_customers = all_customers  # the global screen: every customer's calls
        self.rows: list = []  # as last fetched, all of them (the filter applies on show)
        self.shown: list = []  # what the table shows, in order
        self.sort = "start"
        self.polls = 0  # tests and the bench watch this
        self.width = 0
        self._timer: Timer | None = None
        # call id -> (what its cells depend on but the clock, its cells): each refresh
        # makes only the duration again for a call that did not change
        self._cells: dict[str, tuple[tuple, tuple[Cell, ...]]] = {}
        self._fetching = False
        self._again = False  # asked for a poll while one was running
        self.failing = False  # the last poll failed (said once, not every second)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="live-bar"):
            what = "number, CLI, provider, IP" + (", customer" if self.all_customers
                                                   else ", state")
            box = Input(placeholder=f"/ filter: {what}", classes="live-filter", compact=True)
            box.cursor_blink = False
            yield box
            yield Static("", classes="live-count")
        yield Static("", classes="live-empty -hidden", markup=False)
        yield LiveTable(id=f"{self.id or 'live'}-table")

    def on_mount(self) -> None:
        self._set_columns(self.app.size.width)

    def on_resize(self) -> None:
        if self.size.width and self.size.width != self.width:
            self._set_columns(self.size.width)

    def _set_columns(self, width: int) -> None:
        self.width = width
        self._cells = {}
        self.table.set_columns(columns_for(width, self.all_customers))
        self._show(self.app.clock())

    @property
    def table(self) -> LiveTable:
        return self.query_one(LiveTable)

    @property
    def filter_box(self) -> Input:
        return self.query_one(".live-filter", Input)

    @property
    def current(self):
        key = self.table.current_key
        return next((r for r in self.shown if r.call_id == key), None)

    # -- polling ----------------------------------------------------------------------------
    def on_show(self) -> None:
        self.poll_now()

    def show_customer(self, customer_id: int) -> None:
        if customer_id != self.customer_id:
            self.customer_id = customer_id
            self.rows = []
            self.filter_box.value = ""
            self._show(self.app.clock())
        self.poll_now()

    def poll_now(self) -> None:
        """Fetch now (or right after the fetch under way), then go on once a second."""
        if self._fetching:
            self._again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._fetching = True
        self._poll()

    def _visible(self) -> bool:
        return self.is_attached and self.screen.is_current and self.is_on_screen

    def _tick(self) -> None:
        self._timer = None
        if self._visible():
            self.poll_now()
        else:  # hidden tab or screen: look again later, fetch nothing
            self._arm()

    def _arm(self) -> None:
        if self.is_attached and self._timer is None:
            self._timer = self.set_timer(REFRESH_S, self._tick)

    @work(group="live-poll")
    async def _poll(self) -> None:
        try:
            while True:
                self._again = False
                customer_id = self.customer_id
                if self.all_customers or customer_id is not None:
                    rows = await self.app.services.dialogs.live(
                        None if self.all_customers else customer_id)
                    if customer_id != self.customer_id:  # another customer meanwhile
                        continue
                    self.rows = list(rows)
                    self._show(self.app.clock())
                    self.polls += 1
                if not self._again:
                    break
            self.failing = False
        except StorageError as exc:  # database gone or locked: say so once, go on trying
            if not self.failing:
                self.failing = True
                self.app.flash(escape(f"Live calls not loaded (retrying each second): "
                                      f"{exc}"), error=True)
        finally:
            self._fetching = False
            self._arm()

    # -- showing ----------------------------------------------------------------------------
    def _show(self, now: datetime) -> None:
        needle = self.filter_box.value.strip().lower()
        rows = [r for r in self.rows if matches(r, needle)] if needle else self.rows
        self.shown = ordered(rows, self.sort)
        if len(self._cells) > 2 * len(self.rows) + 100:  # calls long gone
            live = {r.call_id for r in self.rows}
            self._cells = {k: v for k, v in self._cells.items() if k in live}
        columns = self.table.columns_spec
        at = next((i for i, c in enumerate(columns) if c.key == "dur"), None)
        self.table.show([(r.call_id, r) for r in self.shown],
                        lambda r: self._row_cells(r, now, columns, at))
        n, total = len(self.shown), len(self.rows)
        count = f"{n} of {total}" if needle else f"{total} call{'' if total == 1 else 's'}"
        # fixed sizes: a new count repaints one line, not the layout of the whole screen
        set_line(self.query_one(".live-count", Static), f"{count} · {SORT_LABELS[self.sort]}")
        empty = self.query_one(".live-empty", Static)
        set_line(empty, f"No live call matches {needle!r} (esc clears the filter)." if needle
                 else "No live calls right now: calls show here as they are placed.")
        empty.set_class(bool(self.shown) or not self.polls, "-hidden")
        self.on_shown()

    def _row_cells(self, row, now: datetime, columns: Sequence[LiveColumn],
                   at: int | None) -> tuple[Cell, ...]:
        """call_cells, with what does not tick kept from the last refresh; `at`: the
        duration's column."""
        key = (row.state, row.answered_at, row.started_at, row.customer, row.provider)
        cached = self._cells.get(row.call_id)
        if cached is None or cached[0] != key:
            cells = call_cells(row, now, columns)
            self._cells[row.call_id] = (key, cells)
            return cells
        cells = cached[1]
        if at is None:
            return cells
        return (*cells[:at], duration_cell(row, now), *cells[at + 1:])

    def on_shown(self) -> None:
        """Hook: the table was just updated (the global screen refreshes its totals)."""

    # -- events and actions ---------------------------------------------------------------
    @on(Input.Changed, ".live-filter")
    def _filter_changed(self) -> None:
        self._show(self.app.clock())

    @on(Input.Submitted, ".live-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def key_escape(self, event) -> None:
        """esc clears the filter first; with none it goes on to the screen (back)."""
        box = self.filter_box
        if box.value or box.has_focus:
            event.stop()
            box.value = ""
            self.table.focus()

    def action_filter(self) -> None:
        self.filter_box.focus()

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._show(self.app.clock())
        self.app.flash(f"Live calls: {SORT_LABELS[self.sort]}")

    def action_refresh(self) -> None:
        self.poll_now()

    @work(group="live-end", exclusive=True)
    async def action_end_call(self) -> None:
        row = self.current
        if row is None:
            self.app.flash("No call to end")
            return
        try:  # said before asking, as on every tab (the service checks again)
            self.app.actor.require("write")
        except PermissionDenied as exc:
            self.app.flash(escape(str(exc)), error=True)
            return
        who = f" of {escape(row.customer)}" if self.all_customers else ""
        msg = (f"Hang up call {escape(row.call_id)}{who} to {escape(row.dialled)} "
               f"({row.state}, {present.live_clock(seconds(row, self.app.clock()))})? It is "
               "written as a CDR with release reason 'operator'.")
        if not await self.app.push_screen_wait(
                ConfirmScreen("End this call?", msg, yes="End call", no="Keep")):
            return
        try:
            ended = await self.app.services.dialogs.end(row.call_id, reason="operator")
        except (PermissionDenied, NotFound) as exc:
            self.app.flash(escape(str(exc)), error=True)
            return
        self.app.flash(f"Call {escape(row.call_id)} ended" if ended
                       else f"Call {escape(row.call_id)} had already ended")
        self.poll_now()


class GlobalCallsPanel(LiveCallsPanel):
    """Every customer's calls, and the per-customer totals beside them (counted from the
    same read as the calls, so the two always agree)."""

    def on_shown(self) -> None:
        if self.is_attached and isinstance(self.screen, LiveCallsScreen):
            filtered = bool(self.filter_box.value.strip())
            self.screen.show_totals(live_totals(self.shown if filtered else self.rows),
                                    filtered)


class LiveCallsScreen(Screen):
    """Every customer's live calls, with per-customer totals; `enter` (on either table)
    opens the customer on its Dialogs tab."""

    DEFAULT_CSS = """
    LiveCallsScreen .live-title { height: 1; padding: 0 1; background: $boost;
        color: $text-muted; text-style: bold; }
    LiveCallsScreen #live-totals { height: 6; scrollbar-size-vertical: 1; }
    LiveCallsScreen.-tall #live-totals { height: 12; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="live_calls.back"),
        Binding("question_mark", "app.help", "Help", id="live_calls.help"),
    ]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    help_title = "live calls"
    help_legend = ("enter on a customer or a call: open the customer on its Dialogs tab",
                   "Dur.: talk time; dim while the call is not answered yet (time since "
                   "the INVITE)",
                   "Totals: live and answered calls per customer (the filter applies to "
                   "them too)")

    def __init__(self) -> None:
        super().__init__()
        self.totals_shown: list[LiveTotal] = []

    def compose(self) -> ComposeResult:
        yield Static(f"Customers {present.glyphs().crumb} Live calls", classes="crumb",
                     markup=False)
        yield Static("Customers with live calls", id="live-totals-title",
                     classes="live-title", markup=False)
        yield LiveTable(id="live-totals")
        yield GlobalCallsPanel(all_customers=True, id="live-calls")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.totals_table.set_columns([LiveColumn("customer", "Customer", 30),
                                       LiveColumn("calls", "Calls", 6, right=True),
                                       LiveColumn("answered", "Answered", 8, right=True)])
        self.panel.table.focus()

    @property
    def panel(self) -> GlobalCallsPanel:
        return self.query_one(GlobalCallsPanel)

    @property
    def totals_table(self) -> LiveTable:
        return self.query_one("#live-totals", LiveTable)

    def show_totals(self, totals: list[LiveTotal], filtered: bool) -> None:
        """Per-customer totals: of every live call, or with a filter of the calls it
        keeps."""
        self.totals_shown = totals
        self.totals_table.show([(str(t.customer_id), t) for t in totals],
                               lambda t: ((present.clip(t.name, 30), ""), (str(t.calls), ""),
                                          (str(t.answered), "")))
        calls, answered = sum(x.calls for x in totals), sum(x.answered for x in totals)
        set_line(self.query_one("#live-totals-title", Static),
            f"Customers with {'matching ' if filtered else ''}live calls: {len(totals)} "
            f"· {calls} calls, {answered} answered")

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.data_table is self.totals_table:
            key = self.totals_table.current_key
            cid = int(key) if key is not None else None
        else:
            row = self.panel.current
            cid = row.customer_id if row is not None else None
        if cid is not None:
            self.app.open_customer(cid, "dialogs")

    def action_back(self) -> None:
        self.app.pop_screen()
