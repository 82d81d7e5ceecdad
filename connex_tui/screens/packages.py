"""The package catalogue (docs/domain.md §12): every package, add/edit/delete in a form.

Opened with `P` on the customer list or "Package catalogue" in the palette. A package that
customers have (or had) cannot be deleted: their charges name it; end the assignments.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from connex_tui.engine import present
from connex_tui.screens.customer_detail.pane_tab import Pane, PaneTab, Saved, pane_bindings
from connex_tui.screens.dialogs.package_form import package_form, package_label
from connex_tui.widgets.row_table import Column


class CataloguePane(Pane):
    key = "package-catalogue"
    title = "Packages"
    empty = "No packages yet: press a to add one"
    columns = (Column("Name", 22), Column("Kind", 9), Column("Retail", 13, right=True),
               Column("Setup", 9, right=True), Column("Every", 9),
               Column("Cust", 4, right=True))

    def cells(self, r):
        every = r.frequency + (f" {r.match_days}" if r.match_days else "")
        kind = "free min" if r.kind == "free_minutes" else r.kind
        if r.minimum_spend:
            kind = "min spend"
        return (present.clip(r.name, 22), kind, present.money(r.retail, r.currency),
                present.money(r.setup_retail), present.clip(every, 9), str(r.assigned))

    def label(self, r) -> str:
        return package_label(r.name)

    async def rows(self):
        return await self.services.packages.catalogue()

    async def fetch(self, row_id: int):
        return await self.services.packages.package(row_id)

    async def form(self, row):
        svc = self.services.packages

        async def save(raw):
            name = str(raw.get("name", "")).strip()
            if row is None:
                return Saved(await svc.create_package(raw), f"{package_label(name)} added")
            await svc.update_package(row.id, row.version, raw)
            return Saved(row.id, f"{package_label(name)} saved")

        return package_form(self.tab.app, None if row is None else row.form_values(), save)

    async def delete(self, row) -> None:
        await self.services.packages.delete_package(row.id)

    def delete_note(self, row) -> str:
        return "Only a package no customer has can be deleted. The audit log keeps a record."


class CatalogueTab(PaneTab):
    PANES = (CataloguePane,)
    BINDINGS = pane_bindings("catalogue")


class PackageCatalogueScreen(Screen):
    customer_id = 0  # the pane machinery acts for "a customer": here, nobody's
    BINDINGS = [
        Binding("escape", "back", "Back", id="catalogue.back"),
        Binding("r", "refresh", "Refresh", id="catalogue.refresh"),
        Binding("question_mark", "app.help", "Help", id="catalogue.help"),
    ]

    @property
    def help_title(self) -> str:
        return "package catalogue"

    def compose(self) -> ComposeResult:
        g = present.glyphs()
        yield Static(f"Customers {g.crumb} Package catalogue", id="crumb", classes="crumb",
                     markup=False)
        yield CatalogueTab(id="catalogue-tab")
        yield Footer(compact=True)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.query_one(CatalogueTab).reload()
        self.app.flash("Refreshed")
