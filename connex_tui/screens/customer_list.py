"""The Customers screen: filter, search as you type, paged table, add/edit/delete/open."""

from __future__ import annotations

import time
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Select, Static

from connex_tui.data.access import NotFound, PermissionDenied, StorageError
from connex_tui.data.customers import FILTER_LABELS, STATUS_FILTERS, CustomerListRow
from connex_tui.engine import present
from connex_tui.engine.clock import relative
from connex_tui.engine.stats import fmt_kpi_row
from connex_tui.widgets import glyphs
from connex_tui.widgets.cells import money_cell, status_cell
from connex_tui.widgets.confirm import ConfirmScreen

# (key, label, width) of the fixed columns; Name takes what is left (at least 12).
COLUMNS = (("status", "Status", 8), ("credit", "Credit", 13), ("chan", "Chan", 7),
           ("last", "Last call", 9), ("asr", "ASR", 6), ("acd", "ACD", 5), ("pdd", "PDD", 5),
           ("cps", "CPS", 3))
WIDE = 110  # from this width "Last call" says "3 min ago" rather than "3 min"
# Below this width PDD and CPS (on the Stats tab later) give their 10 columns to Name:
# at 80 a name shows 23 characters, so "Granite Signal…" and "Granite Street…" differ.
ALL_KPIS = 100
NARROW_DROPS = ("pdd", "cps")
LOAD_MORE_MARGIN = 20
# The list's own cadence: the Chan column of the rows in view is read again this often
# (one grouped count over the dialogs table), re-armed after each read so reads never
# overlap.
LIVE_REFRESH_S = 1.0
LIVE_MARGIN = 10  # rows above and below the view that are refreshed too


class CustomerListScreen(Screen):
    BINDINGS = [
        Binding("slash", "search", "Search", id="customers.search"),
        Binding("f", "filter", "Filter", id="customers.filter"),
        Binding("a", "add", "Add", id="customers.add"),
        Binding("e", "edit", "Edit", id="customers.edit"),
        Binding("enter", "open", "Open", id="customers.open", show=False),
        Binding("ctrl+d,delete", "delete", "Delete", id="customers.delete"),
        Binding("u", "restore", "Restore", id="customers.restore"),
        Binding("r", "refresh", "Refresh", id="customers.refresh"),
        # L: not in the footer (full at 80 columns); ? and the palette list it
        Binding("L", "app.live_calls", "Live calls", show=False,
                id="customers.live_calls"),
        Binding("D", "app.dids", "DIDs", show=False, id="customers.dids"),
        Binding("P", "app.packages", "Package catalogue", show=False,
                id="customers.packages"),
        Binding("q", "quit", "Quit", id="customers.quit"),
        Binding("question_mark", "app.help", "Help", id="customers.help"),
        Binding("j", "cursor(1)", "Down", show=False, id="customers.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="customers.up"),
        Binding("home,g", "cursor_to(0)", "First row", show=False, id="customers.first"),
        Binding("end,G", "cursor_to(-1)", "Last loaded row", show=False, id="customers.last"),
    ]

    help_title = "customer list"

    @property
    def help_legend(self) -> tuple[str, ...]:
        return ("! before a name: no ingress auth or no enabled route (cannot call)",
                "Credit: balance in the customer's currency, to the cent; red when nothing "
                "is left",
                "ASR ACD PDD CPS: last 24 h (PDD and CPS from 100 columns up); "
                f"Chan: live calls / limit ({present.glyphs().infinity} = none)")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[CustomerListRow] = []
        self.total: int | None = 0
        self._want: tuple = ("all", "", 0)
        self._shown: tuple | None = None
        self._loading = False
        self._loading_more = False
        self._wide: bool | None = None
        self._name_w = 12
        self._columns = COLUMNS
        self._select_id: int | None = None  # put the cursor on this customer next fill
        self.render_count = 0  # bench and tests watch these
        self.rendered_at = 0.0
        self.live_reads = 0  # tests watch this

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static("Customers", id="crumb", classes="crumb")
        with Horizontal(id="bar"):
            yield Select([(FILTER_LABELS[s], s) for s in STATUS_FILTERS], value="all",
                         allow_blank=False, id="status", compact=True)
            search = Input(placeholder="/ search name, email, IP, SIP user, DID, prefix",
                           id="search", compact=True)
            search.cursor_blink = False  # a blinking cursor repaints twice a second over SSH
            yield search
            yield Static("", id="count")
        yield DataTable(id="customers", cursor_type="row", cell_padding=0, zebra_stripes=True)
        yield Footer(compact=True)  # every key fits in 80 columns (tests/ui/test_footer_fit)

    def on_mount(self) -> None:
        self._build_columns()
        glyphs.select_marks(self.query_one("#status", Select))
        self.table.focus()
        self.reload()
        self._arm_live()

    @property
    def table(self) -> DataTable:
        return self.query_one("#customers", DataTable)

    @property
    def services(self):
        return self.app.services

    def on_resize(self) -> None:
        if self._layout() != (self._wide, self._name_w, self._columns):
            self._build_columns()
            self._fill(self.rows, reset=True)

    def _layout(self) -> tuple[bool, int, tuple]:
        width = self.size.width
        wide = width >= WIDE
        columns = COLUMNS if width >= ALL_KPIS else tuple(
            c for c in COLUMNS if c[0] not in NARROW_DROPS)
        fixed = sum(w + 1 for _, _, w in columns) + (4 if wide else 0)
        # 1 for the scrollbar, 1 lead space
        return wide, max(12, width - fixed - 2), columns

    def _build_columns(self) -> None:
        self._wide, self._name_w, self._columns = self._layout()
        t = self.table
        t.clear(columns=True)
        t.add_column(" Name", width=self._name_w + 1, key="name")
        for key, label, width in self._columns:
            if key == "last" and self._wide:
                width += 4
            t.add_column(Text(label, justify="left") if key == "status"
                         else Text(label + " ", justify="right"),
                         width=width + 1, key=key)

    # -- data -----------------------------------------------------------------------------
    @property
    def status_filter(self) -> str:
        return str(self.query_one("#status", Select).value)

    @property
    def query_text(self) -> str:
        return self.query_one("#search", Input).value

    def reload(self, *, force: bool = False) -> None:
        nonce = self._want[2] + (1 if force else 0)
        self._want = (self.status_filter, self.query_text, nonce)
        if not self._loading:
            self._loading = True
            self._loader()

    @work(group="customers-load")
    async def _loader(self) -> None:
        try:
            await self._load_until_current()
        except StorageError as exc:  # database gone or locked: say so, keep running
            self._shown = None
            self.app.flash(escape(f"Not loaded, press r to retry: {exc}"), error=True)

    async def _load_until_current(self) -> None:
        """Runs until the table shows what was last asked for: at most one query in flight,
        and keystrokes typed meanwhile collapse into the next query. The page is shown
        first; the match count (a full scan when searching) follows it."""
        svc = self.services.customers
        size = self.app.config.page_size
        try:
            while self._want != self._shown:
                want = self._want
                status, query, _ = want
                rows = await svc.rows(status, query, 0, size)
                if want != self._want:
                    continue
                self._shown = want
                self.rows = list(rows)
                self.total = len(rows) if len(rows) < size else None
                self._fill(self.rows, reset=True)
                if self.total is None:
                    total = await svc.count(status, query)
                    if want == self._shown:
                        self.total = total
                        self._update_count()
        finally:
            self._loading = False

    @work(group="customers-more", exclusive=True)
    async def _load_more(self) -> None:
        want = self._shown
        if want is None or not self._more_to_load():
            return
        self._loading_more = True
        try:
            status, query, _ = want
            loaded = len(self.rows)
            rows = await self.services.customers.rows(
                status, query, 0, self.app.config.page_size, after=self.rows[-1].name)
            if want == self._shown and loaded == len(self.rows):
                seen = {r.id for r in self.rows}  # a rename meanwhile may bring one back
                rows = [r for r in rows if r.id not in seen]
                if not rows:
                    self.total = len(self.rows)
                self.rows.extend(rows)
                self._fill(rows, reset=False)
        finally:
            self._loading_more = False

    # -- live channels ----------------------------------------------------------------------
    def _arm_live(self) -> None:
        self.set_timer(LIVE_REFRESH_S, self._live_tick)

    def _live_tick(self) -> None:
        if self.is_current and self.rows:
            self._refresh_channels()
        else:  # another screen is on top: nothing to read until it is back
            self._arm_live()

    @work(group="customers-live")
    async def _refresh_channels(self) -> None:
        """Live calls of the rows in view (and a few around them), into the Chan cells
        that changed."""
        try:
            t = self.table
            top = max(0, int(t.scroll_y) - LIVE_MARGIN)
            rows = self.rows[top:top + t.size.height + 2 * LIVE_MARGIN]
            counts = await self.services.dialogs_view.channels(r.id for r in rows)
            self._show_channels({r.id: counts.get(r.id, 0) for r in rows})
        except StorageError:  # the next tick tries again; loading errors flash already
            pass
        finally:
            self.live_reads += 1
            self._arm_live()

    def _show_channels(self, live: dict[int, int]) -> None:
        t = self.table
        column = 1 + [key for key, _, _ in self._columns].index("chan")
        now = self.app.clock()
        with self.app.batch_update():
            for i, r in enumerate(self.rows):
                n = live.get(r.id)
                if n is None or n == r.live_channels:
                    continue
                self.rows[i] = r = replace(r, live_channels=n)
                if str(r.id) in t.rows:
                    t.update_cell(str(r.id), "chan", self._cells(r, now)[column])

    def _more_to_load(self) -> bool:
        return self.total is None or len(self.rows) < self.total

    def _fill(self, rows, *, reset: bool) -> None:
        t = self.table
        keep = None
        old_row = t.cursor_row
        if reset:
            if t.row_count and t.cursor_row < t.row_count:
                keep = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
            t.clear()
        now = self.app.clock()
        for r in rows:
            t.add_row(*self._cells(r, now), key=str(r.id))
        if self._select_id is not None:
            keep, self._select_id = str(self._select_id), None
        if keep is not None:
            try:
                t.move_cursor(row=t.get_row_index(keep), animate=False)
            except Exception:  # the row left this view (archived, filtered): stay in place
                t.move_cursor(row=min(old_row, max(0, t.row_count - 1)), animate=False)
        self._update_count()
        self.render_count += 1
        self.rendered_at = time.perf_counter()

    def _cells(self, r: CustomerListRow, now) -> tuple:
        name = Text()
        if r.warning:
            name.append("! ", style="bold yellow")
        if r.alerted:  # an alert fired (or holds it in penalty): see its Alerts tab
            name.append("* ", style="bold red")
        name.append(present.clip(r.name, self._name_w - 1 - len(name)))
        last = relative(r.last_call_at, now)
        if not self._wide:
            last = last.removesuffix(" ago")
        asr, acd, pdd, cps = fmt_kpi_row(r.kpi)
        available_gone = r.available <= 0
        widths = {k: w + (4 if k == "last" and self._wide else 0) for k, _, w in COLUMNS}

        def right(text: str, key: str) -> Text:
            # one space short of the column so that neighbours never touch; a value too
            # long for it is cut with the ellipsis, never silently
            return Text(present.clip(text, widths[key]).rjust(widths[key]) + " ",
                        justify="right", no_wrap=True)

        credit = money_cell(r.balance, r.currency, negative_alert=available_gone)
        credit = Text(present.clip(credit.plain, widths["credit"]) + " ", style=credit.style,
                      justify="right")
        cells = {"status": status_cell(r.status, r.archived), "credit": credit,
                 "chan": right(present.channels(r.live_channels, r.channels), "chan"),
                 "last": right(last, "last"), "asr": right(asr, "asr"),
                 "acd": right(acd, "acd"), "pdd": right(pdd, "pdd"), "cps": right(cps, "cps")}
        return (Text(" ") + name, *(cells[key] for key, _, _ in self._columns))

    def _update_count(self) -> None:
        shown = len(self.rows)
        what = "match" if self.query_text.strip() else "customer"
        plural = "es" if what == "match" else "s"
        if self.total is None:
            text = f"{shown:,}+ {what}{plural}, counting{present.glyphs().ellipsis}"
        else:
            text = f"{self.total:,} {what}{'' if self.total == 1 else plural}"
            if shown < self.total:
                text += f" ({shown:,} loaded)"
        self.query_one("#count", Static).update(text)

    def selected_id(self) -> int | None:
        t = self.table
        if not t.row_count:
            return None
        return int(t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value)

    def selected_row(self) -> CustomerListRow | None:
        cid = self.selected_id()
        return next((r for r in self.rows if r.id == cid), None)

    # -- events ---------------------------------------------------------------------------
    @on(Input.Changed, "#search")
    def _search_changed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.table.focus()

    @on(Select.Changed, "#status")
    def _status_changed(self) -> None:
        self.reload()
        self.refresh_bindings()
        self.table.focus()

    @on(DataTable.RowHighlighted, "#customers")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if (event.cursor_row >= len(self.rows) - LOAD_MORE_MARGIN
                and self._more_to_load() and not self._loading_more):
            self._load_more()

    @on(DataTable.RowSelected, "#customers")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def on_screen_resume(self) -> None:
        if self._shown is not None:
            self.reload(force=True)

    # -- actions --------------------------------------------------------------------------
    def key_escape(self) -> None:
        """esc clears an active search (from the search box or the table)."""
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""
        self.table.focus()

    def key_down(self, event) -> None:
        if self.query_one("#search", Input).has_focus:
            event.stop()
            self.table.focus()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_filter(self) -> None:
        select = self.query_one("#status", Select)
        select.focus()
        select.expanded = True

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        archived = self.is_mounted and self.status_filter == "archived"
        if action == "restore":  # only meaningful (and shown) on the Archived filter
            return archived
        if action == "delete":  # an archived row is already deleted: Restore takes its place
            return not archived
        return True

    def action_cursor_to(self, row: int) -> None:
        t = self.table
        if t.row_count:
            t.move_cursor(row=row if row >= 0 else t.row_count - 1)
            t.focus()

    def action_cursor(self, delta: int) -> None:
        t = self.table
        if t.row_count:
            t.move_cursor(row=max(0, min(t.row_count - 1, t.cursor_row + delta)))

    def action_refresh(self) -> None:
        self.reload(force=True)
        self.app.flash("Refreshed")

    def action_open(self) -> None:
        cid = self.selected_id()
        if cid is not None:
            self.app.open_customer(cid)

    def action_add(self) -> None:
        async def save(raw):
            return await self.services.customers.create(raw)

        def done(cid):
            if cid is not None:
                self.app.flash("Customer added")
                self._select_id = cid
                self.reload(force=True)

        from connex_tui.screens.dialogs.customer_form import customer_form  # forms: on use

        self.app.push_screen(customer_form(self.app, None, save), done)

    @work(group="customers-action")
    async def action_edit(self) -> None:
        cid = self.selected_id()
        if cid is None:
            return
        try:
            detail = await self.services.customers.get(cid)
        except NotFound:
            self.app.flash("That customer is gone: reloaded", error=True)
            self.reload(force=True)
            return
        await self.app.edit_customer(detail, self)
        self.reload(force=True)

    @work(group="customers-action")
    async def action_delete(self) -> None:
        row = self.selected_row()
        if row is None:
            return
        if row.archived:
            self.app.flash(f"{escape(row.name)} is already archived (u restores it)")
            return
        await self.app.delete_customer(row.id, row.name, self, row.live_channels)
        self.reload(force=True)

    @work(group="customers-action")
    async def action_restore(self) -> None:
        row = self.selected_row()
        if row is None or not row.archived:
            self.app.flash("Only an archived customer can be restored (filter: Archived)")
            return
        try:
            await self.services.customers.restore(row.id)
        except (PermissionDenied, NotFound) as exc:
            self.app.flash(str(exc), error=True)
            return
        self.app.flash(f"{escape(row.name)} restored")
        self.reload(force=True)

    def action_quit(self) -> None:
        def done(yes: bool | None) -> None:
            if yes:
                self.app.exit()

        self.app.push_screen(ConfirmScreen("Quit connex-tui?", "Leave the console?",
                                           yes="Quit", no="Stay"), done)
