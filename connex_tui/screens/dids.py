"""DIDs: every customer's numbers and the unassigned stock (docs/domain.md §11).

Type digits (in any form: +44 20 79...) to find a number anywhere in it, or part of a
customer's name; `u` shows only the unassigned numbers. The table is read a page at a time
in number order (keyset, so it stays quick at 100,000 DIDs) and the next page is read when
the cursor nears the end. `enter` opens the owner on its DID tab; `ctrl+d` deletes a number
for good (admin, after a confirm).
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

from connex_tui.data.access import NotFound, PermissionDenied, StorageError
from connex_tui.engine import present
from connex_tui.engine.validation import ValidationError
from connex_tui.screens.customer_detail.did_tab import money_cell
from connex_tui.screens.dialogs.did_form import did_label
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.form import FieldSpec, reusable
from connex_tui.widgets.row_table import Column, RowTable

PAGE = 100
COLUMNS = (Column("Number", 16), Column("Customer", 18), Column("Destination", 16),
           Column("Retail", 9, right=True), Column("Margin", 9, right=True))


def did_cells(r) -> tuple:
    number = Text(present.clip("+" + r.number, 16), style="" if r.enabled else "dim")
    if r.customer:
        owner = Text(present.clip(r.customer + (" (archived)" if r.archived else ""), 18))
    else:
        owner = Text("(unassigned)", style="dim")
    return (number, owner, present.clip(r.destination or "-", 16),
            money_cell(r.monthly_retail), money_cell(r.margin))


class DidsScreen(Screen):
    DEFAULT_CSS = """
    DidsScreen > .did-bar { height: 1; }
    DidsScreen .did-search { width: 1fr; }
    DidsScreen .did-count { width: 28; padding: 0 1; color: $text-muted; text-align: right; }
    DidsScreen > .did-empty { height: auto; padding: 0 1; color: $text-muted; }
    DidsScreen > .did-empty.-hidden { display: none; }
    DidsScreen > RowTable { height: 1fr; scrollbar-size-vertical: 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="dids.back"),
        Binding("slash", "search", "Search", id="dids.search"),
        Binding("u", "unassigned", "Unassigned", id="dids.unassigned",
                tooltip="Only the numbers no customer has, or all"),
        Binding("enter", "open", "Open", show=False, id="dids.open"),
        Binding("a", "assign", "Assign", id="dids.assign",
                tooltip="Give the number to a customer (or to another one)"),
        Binding("ctrl+d,delete", "delete", "Delete", id="dids.delete"),
        Binding("r", "refresh", "Refresh", show=False, id="dids.refresh"),
        Binding("question_mark", "app.help", "Help", id="dids.help"),
    ]
    help_title = "DIDs"
    help_legend = ("Type digits found anywhere (20 79), +digits found at the start "
                   "(+44 20 79) or part of a customer's name",
                   "enter: open the owner on its DID tab; dim numbers are disabled",
                   "a: give the number to a customer; ctrl+d on a DID tab unassigns it",
                   "Margin: monthly retail - monthly cost, in the owner's currency")

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        self.unassigned = False
        self.rows: list = []
        self.complete = False  # the last page was read
        self.loads = 0  # tests watch this
        self._loading = False

    def compose(self) -> ComposeResult:
        yield Static(f"Customers {present.glyphs().crumb} DIDs", classes="crumb",
                     markup=False)
        with Horizontal(classes="did-bar"):
            box = Input(placeholder="/ search: number digits or customer",
                        classes="did-search", compact=True, id="did-search")
            box.cursor_blink = False
            yield box
            yield Static("", classes="did-count", markup=False)
        yield Static("", classes="did-empty -hidden", markup=False)
        yield RowTable(COLUMNS, id="did-table")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.table.focus()
        self.load()

    @property
    def table(self) -> RowTable:
        return self.query_one("#did-table", RowTable)

    @property
    def search_box(self) -> Input:
        return self.query_one("#did-search", Input)

    # -- loading ----------------------------------------------------------------------------
    def load(self) -> None:
        """Read the first page again (a new search, `u`, `r`)."""
        self.rows = []
        self.complete = False
        self._fetch(self.query_text, self.unassigned, None)

    @work(group="did-load", exclusive=True)
    async def _fetch(self, query: str, unassigned: bool, after: str | None) -> None:
        self._loading = True
        try:
            page = await self.app.services.dids.search(query, unassigned=unassigned,
                                                       after=after, limit=PAGE)
        except StorageError as exc:
            self.app.flash(escape(f"DIDs not loaded, press r to retry: {exc}"), error=True)
            return
        finally:
            self._loading = False
        if (query, unassigned) != (self.query_text, self.unassigned):
            return  # typed on meanwhile: that search's worker shows its own
        self.complete = len(page) < PAGE
        if after is None:
            self.rows = list(page)
            self.table.fill(page, did_cells)
        else:
            self.rows.extend(page)
            self.table.append(page, did_cells)
        self._show_count()
        self.loads += 1

    def _show_count(self) -> None:
        shown = len(self.rows)
        what = "unassigned" if self.unassigned else "DIDs"
        count = f"{shown:,}{'' if self.complete else '+'} {what}"
        self.query_one(".did-count", Static).update(count)
        empty = self.query_one(".did-empty", Static)
        if shown:
            empty.add_class("-hidden")
            return
        needle = self.query_text
        if needle:
            msg = f"No DID matches {needle!r} (esc clears the search)."
        elif self.unassigned:
            msg = "No unassigned numbers: every DID has a customer (u shows all)."
        else:
            msg = "No DIDs yet: add them with connex-tui did add, or on a customer's DID tab."
        empty.update(present.text(msg))
        empty.remove_class("-hidden")

    @on(DataTable.RowHighlighted, "#did-table")
    def _near_end(self, event: DataTable.RowHighlighted) -> None:
        if (not self.complete and not self._loading and self.rows
                and event.cursor_row >= len(self.rows) - 10):
            self._fetch(self.query_text, self.unassigned, self.rows[-1].number)

    # -- keys -------------------------------------------------------------------------------
    @on(Input.Changed, "#did-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value.strip()
        self.load()

    @on(Input.Submitted, "#did-search")
    def _search_done(self) -> None:
        self.table.focus()

    def action_search(self) -> None:
        self.search_box.focus()

    def action_back(self) -> None:
        """esc clears the search first; with none it goes back."""
        box = self.search_box
        if box.value or box.has_focus:
            box.value = ""
            self.table.focus()
            return
        self.app.pop_screen()

    def action_unassigned(self) -> None:
        self.unassigned = not self.unassigned
        self.load()
        self.app.flash("DIDs: only the unassigned" if self.unassigned else "DIDs: all")

    def action_refresh(self) -> None:
        self.load()

    @on(DataTable.RowSelected, "#did-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        row = self.table.current
        if row is None:
            return
        if row.customer_id is None:
            self.app.flash(f"{escape(did_label('+' + row.number))} is unassigned: a gives "
                           "it to a customer")
            return
        self.app.open_customer(row.customer_id, "did")

    def action_assign(self) -> None:
        row = self.table.current
        if row is None:
            return
        try:
            self.app.actor.require("write")
        except PermissionDenied as exc:
            self.app.flash(escape(str(exc)), error=True)
            return
        self._assign(row)

    @work(group="did-assign", exclusive=True)
    async def _assign(self, row) -> None:
        svc = self.app.services.dids
        label = did_label("+" + row.number)

        async def save(raw):
            name = str(raw.get("customer", "")).strip()
            if not name:
                raise ValidationError({"customer": "required: the customer's name"})
            try:
                return await svc.assign_named(row.id, name, row.version)
            except NotFound as exc:
                raise ValidationError({"customer": str(exc)}) from None

        form = reusable(self.app, "did-assign", f"Assign {escape(label)}",
                        [FieldSpec("customer", "Customer", help="the customer's name, any case")],
                        {"customer": row.customer}, save)
        name = await self.app.push_screen_wait(form)
        if name:
            self.app.flash(escape(f"{label} assigned to {name}"))
            self.load()

    def action_delete(self) -> None:
        row = self.table.current
        if row is None:
            return
        try:
            self.app.actor.require("delete")
        except PermissionDenied as exc:
            self.app.flash(escape(str(exc)), error=True)
            return
        self._delete(row)

    @work(group="did-delete", exclusive=True)
    async def _delete(self, row) -> None:
        label = escape(did_label("+" + row.number))
        owner = f" It is {escape(row.customer)}'s: its calls stop." if row.customer else ""
        if not await self.app.push_screen_wait(ConfirmScreen(
                f"Delete {label}?", f"The number leaves the stock for good.{owner} "
                "The audit log keeps a record.", yes="Delete", no="Keep")):
            return
        try:
            await self.app.services.dids.delete(row.id)
        except (PermissionDenied, NotFound, StorageError) as exc:
            self.app.flash(escape(str(exc)), error=True)
        else:
            self.app.flash(f"{label} deleted")
        self.load()
