"""Packages tab: the customer's package assignments (docs/domain.md §12) and a preview of
what the package job charges next.

`a` assigns a package of the customer's currency (quantity, start, end, auto decrement),
`e`/enter edits (the package and start of an assignment already charged stay), `ctrl+d`
ends it now (after a confirm; the operator role may: nothing is deleted, the charges made
stay). The line under the table says what a run now would charge and the next charge.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import Static

from connex_tui.data.access import NotFound, PermissionDenied, StaleError, StorageError
from connex_tui.engine import present
from connex_tui.engine.validation import ValidationError
from connex_tui.screens.customer_detail.pane_tab import Opening, Pane, PaneTab, Saved
from connex_tui.screens.dialogs.package_form import assignment_form, package_label
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.row_table import Column


def day(t: datetime | None) -> str:
    return "" if t is None else f"{t:%Y-%m-%d}" + ("" if (t.hour, t.minute) == (0, 0)
                                                    else f" {t:%H:%M}")


def preview_text(p) -> str:
    """"Next run charges 75.00 USD now (2 due); then 25.00 USD on 2027-01-01"."""
    parts = []
    if p.due:
        total = sum((c.amount for c in p.due), start=type(p.due[0].amount)(0))
        parts.append(f"Next run charges {present.money(total, p.currency)} now "
                     f"({len(p.due)} interval{'s' if len(p.due) != 1 else ''} due)")
    if p.next_at is not None:
        upto = "up to " if p.next_upto else ""
        lead = "then" if parts else "Next run charges"
        parts.append(f"{lead} {upto}{present.money(p.next_amount, p.currency)} on "
                     f"{day(p.next_at)}")
    return "; ".join(parts) if parts else "No charge coming: every assignment has ended"


class AssignmentsPane(Pane):
    key = "package-assignments"
    title = "Packages"
    empty = "No packages: press a to assign one from the catalogue"
    columns = (Column("Package", 20), Column("Qty", 3, right=True),
               Column("Retail", 13, right=True), Column("Every", 5), Column("Start", 10),
               Column("End", 10), Column("Auto", 4))

    def cells(self, r):
        ended = r.end is not None and r.end <= self.tab.app.clock()
        name = Text(present.clip(r.package, 20), style="dim" if ended else "")
        every = {"daily": "day", "weekly": "week", "monthly": "month"}.get(r.frequency,
                                                                           r.frequency)
        return (name, str(r.quantity), present.money(r.retail, r.currency), every,
                day(r.start)[:10], day(r.end)[:10] or "-", "yes" if r.auto_decrement else "no")

    def label(self, r) -> str:
        return package_label(r.package)

    async def rows(self):
        svc = self.services.packages
        rows = await svc.assignments(self.customer_id)
        self.tab.preview = await svc.preview(self.customer_id) if rows else None
        return rows

    async def fetch(self, row_id: int):
        return await self.services.packages.assignment(row_id)

    async def form(self, row):
        svc = self.services.packages
        customer_id = self.customer_id
        choices = await svc.choices(customer_id)
        if row is None and not choices:
            self.tab.app.flash("No package in this customer's currency: add one in the "
                               "catalogue (P on the customer list)", error=True)
            return None
        if row is not None and all(pid != row.package_id for pid, _ in choices):
            choices = [(row.package_id, row.package), *choices]
        locked = row is not None and row.last_charged is not None

        async def save(raw):
            if row is None:
                new_id = await svc.assign(customer_id, raw)
                return Saved(new_id, "Package assigned")
            await svc.update_assignment(row.id, row.version, raw)
            return Saved(row.id, f"{package_label(row.package)} saved")

        if row is None:
            values = {"package_id": str(choices[0][0]), "quantity": "1",
                      "start": f"{self.tab.app.clock():%Y-%m-%d}", "end": "",
                      "auto_decrement": True}
        else:
            values = row.form_values()
        return assignment_form(self.tab.app, choices, values, save, editing=row is not None,
                               locked=locked)

    def note(self, rows: list) -> str:
        self.tab.show_preview()  # rows() read it with them
        return ""

    def delete_note(self, row) -> str:
        return ("It is charged no more from now on; the charges made stay in the ledger. "
                "The audit log keeps a record.")


class PackagesTab(PaneTab):
    DEFAULT_CSS = """
    PackagesTab #package-preview { height: auto; padding: 0 1; color: $text-muted; }
    """
    PANES = (AssignmentsPane,)
    BINDINGS = [
        Binding("a", "add", "Assign", id="packages.add"),
        Binding("e", "edit", "Edit", id="packages.edit"),
        Binding("ctrl+d,delete", "delete", "End", id="packages.end"),
    ]

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.preview = None

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static("", id="package-preview", markup=False)

    def show_customer(self, customer_id: int) -> None:
        if self.is_mounted:
            self.query_one("#package-preview", Static).update("")
        super().show_customer(customer_id)

    def show_preview(self) -> None:
        p = self.preview
        self.query_one("#package-preview", Static).update(
            preview_text(p) if p is not None else "")

    def action_delete(self) -> None:
        """End the assignment (the operator role may): nothing is deleted."""
        pane = self.panes[0]
        row = self.current(pane)
        if row is not None and (cover := self._start("write")):
            self._end(cover, row)

    @work(group="pane-action")
    async def _end(self, cover: Opening, row) -> None:
        async with self._covered(cover):
            label = escape(package_label(row.package))
            if not await self.show(cover, ConfirmScreen(
                    f"End {label} now?", escape(self.panes[0].delete_note(row)),
                    yes="End", no="Keep")):
                return
            try:
                end = await self.app.services.packages.end_assignment(row.id, row.version)
            except (PermissionDenied, NotFound, StaleError, StorageError) as exc:
                self.app.flash(escape(str(exc)), error=True)
            except ValidationError as exc:
                self.app.flash(escape("; ".join(exc.errors.values())), error=True)
            else:
                self.app.flash(f"{label} ended {day(end)}")
            self.reload()
