"""DID tab: the customer's numbers (docs/domain.md §11), with what each earns a month.

`a` adds a number for the customer, `e`/`enter` edits one, `ctrl+d` unassigns one after a
confirm (the number goes back to the stock, on the DIDs screen; deleting a number for good
is done there, by an admin). `/` filters by digits or destination as you type.
"""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import Input

from connex_tui.data.access import NotFound, PermissionDenied, StaleError
from connex_tui.data.dids import search_digits
from connex_tui.engine import present
from connex_tui.screens.customer_detail.pane_tab import Opening, Pane, PaneTab, Saved
from connex_tui.screens.dialogs.did_form import did_form, did_label
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.row_table import Column


def money_cell(value: Decimal) -> Text:
    return Text(present.exact(value, 2), justify="right",
                style="red" if value < 0 else "")


def did_matches(row, needle: str) -> bool:
    """`needle` (as typed) in the number (digits) or a destination."""
    digits = search_digits(needle)
    if digits.isdigit() and digits in row.number:
        return True
    low = needle.strip().lower()
    return any(low in d.lower() for d in (row.destination, row.destination2,
                                          row.destination3))


class DidsPane(Pane):
    key = "dids"
    title = "DIDs"
    empty = "No DIDs: press a to add a number for this customer"
    columns = (Column("Number", 16), Column("Destination", 20), Column("Retail", 9, right=True),
               Column("Cost", 9, right=True), Column("Margin", 9, right=True),
               Column("On", 3))

    def cells(self, r):
        on = Text("yes" if r.enabled else "no", style="" if r.enabled else "dim")
        dest = r.destination or "-"
        if r.destination2:
            dest += f" +{1 + bool(r.destination3)}"  # failovers: "sip:...@h +2"
        return (present.clip("+" + r.number, 16), present.clip(dest, 20),
                money_cell(r.monthly_retail), money_cell(r.monthly_cost),
                money_cell(r.margin), on)

    def label(self, r) -> str:
        return did_label("+" + r.number)

    async def rows(self):
        rows = await self.services.dids.for_customer(self.customer_id)
        needle = self.tab.needle
        return [r for r in rows if did_matches(r, needle)] if needle else rows

    def note(self, rows: list) -> str:
        if not rows:
            return "filtered" if self.tab.needle else ""
        cur = rows[0].currency
        retail = sum((r.monthly_retail for r in rows if r.enabled), Decimal(0))
        margin = sum((r.margin for r in rows if r.enabled), Decimal(0))
        return (f"rent {present.money(retail, cur)}/month, margin "
                f"{present.money(margin, cur)}" + (" (filtered)" if self.tab.needle else ""))

    async def fetch(self, row_id: int):
        row = await self.services.dids.get(row_id)
        if row.customer_id != self.customer_id:  # moved to another customer meanwhile
            raise NotFound(f"DID {row_id}")
        return row

    async def form(self, row):
        svc = self.services.dids
        customer_id = self.customer_id

        async def save(raw):
            label = did_label(str(raw.get("number", "")))
            if row is None:
                return Saved(await svc.create(raw, customer_id), f"{label} added")
            await svc.update(row.id, row.version, raw)
            return Saved(row.id, f"{label} saved")

        rates = self.services.rates
        return did_form(self.tab.app, None if row is None else row.form_values(), save,
                        provider_cards=[c.name for c in await rates.cards("provider")],
                        customer_cards=[c.name for c in await rates.cards("customer")])

    async def delete(self, row) -> None:
        await self.services.dids.assign(row.id, None, version=row.version)


class DidTab(PaneTab):
    DEFAULT_CSS = """
    DidTab > .did-filter { height: 1; width: 1fr; }
    """
    PANES = (DidsPane,)
    BINDINGS = [
        Binding("a", "add", "Add", id="did.add"),
        Binding("e", "edit", "Edit", id="did.edit"),
        Binding("ctrl+d,delete", "delete", "Unassign", id="did.unassign"),
        Binding("slash", "filter", "Filter", id="did.filter"),
    ]

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.needle = ""

    def compose(self) -> ComposeResult:
        box = Input(placeholder="/ filter: digits or destination", classes="did-filter",
                    compact=True)
        box.cursor_blink = False
        yield box
        yield from super().compose()

    @property
    def filter_box(self) -> Input:
        return self.query_one(".did-filter", Input)

    def show_customer(self, customer_id: int) -> None:
        if self.is_mounted and customer_id != self.customer_id:
            self.needle = ""
            self.filter_box.value = ""
        super().show_customer(customer_id)

    @on(Input.Changed, ".did-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.needle = event.value.strip()
        self.reload()

    @on(Input.Submitted, ".did-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.table(self.panes[0]).focus()

    def key_escape(self, event) -> None:
        """esc clears the filter first; with none it goes on to the screen (back)."""
        box = self.filter_box
        if box.value or box.has_focus:
            event.stop()
            box.value = ""
            self.table(self.panes[0]).focus()

    def action_filter(self) -> None:
        self.filter_box.focus()

    def action_delete(self) -> None:
        """Unassign (an operator may): the number goes back to the stock."""
        pane = self.panes[0]
        row = self.current(pane)
        if row is not None and (cover := self._start("write")):
            self._unassign(cover, row)

    @work(group="pane-action")
    async def _unassign(self, cover: Opening, row) -> None:
        async with self._covered(cover):
            label = escape(did_label("+" + row.number))
            if not await self.show(cover, ConfirmScreen(
                    f"Unassign {label}?",
                    "The number goes back to the stock (the DIDs screen, D on the list): "
                    "its calls stop reaching this customer and no rent is charged from "
                    "next month. The audit log keeps a record.",
                    yes="Unassign", no="Keep")):
                return
            try:
                await self.app.services.dids.assign(row.id, None, version=row.version)
            except (PermissionDenied, NotFound, StaleError) as exc:
                self.app.flash(escape(str(exc)), error=True)
            else:
                self.app.flash(f"{label} unassigned: back in the stock")
            self.reload()
