"""A customer tab made of table panes whose rows are added, edited and deleted in forms.

Each pane (a `Pane` subclass) says what it lists and how its rows are written; the tab
(`PaneTab`) owns the keys: `a` add, `e`/`enter` edit, `ctrl+d`/`delete` delete (with a
confirm dialog), acting on the pane whose table has the focus (`tab` moves between panes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import DataTable, Tabs

from connex_tui.data.access import NotFound, PermissionDenied, StaleError
from connex_tui.engine.validation import ValidationError
from connex_tui.screens.customer_detail.tab_base import CustomerTab
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.form import FormScreen
from connex_tui.widgets.row_table import Column, RowTable, TablePane


@dataclass(frozen=True)
class Saved:
    """What a form's save returns: the row written and the line to flash (plain text)."""

    row_id: int
    message: str
    secret: tuple[str, str] | None = None  # (user, clear password) to show once


class Pane:
    """One table of a PaneTab. Subclasses set the class attributes and the hooks."""

    key = ""  # widget ids: #<key> (the table) and #<key>-pane
    title = ""
    empty = ""  # what the pane says when it has no rows
    columns: tuple[Column, ...] = ()

    def __init__(self, tab: PaneTab):
        self.tab = tab

    @property
    def services(self):
        return self.tab.app.services

    @property
    def customer_id(self) -> int:
        return self.tab.customer_id

    def cells(self, row) -> Sequence[Any]:
        raise NotImplementedError

    def label(self, row) -> str:
        """'Route 1111#': how flash lines and dialogs name the row."""
        raise NotImplementedError

    async def rows(self) -> list:
        raise NotImplementedError

    async def fetch(self, row_id: int):
        """The row as it is now (an edit starts from the stored version)."""
        raise NotImplementedError

    async def form(self, row) -> FormScreen | None:
        """The add (row None) or edit form; its save returns Saved. None: cannot open
        (the pane has flashed why)."""
        raise NotImplementedError

    async def delete(self, row) -> None:
        raise NotImplementedError

    def delete_note(self, row) -> str:
        return "This cannot be undone; the audit log keeps a record."


def pane_bindings(prefix: str) -> list[Binding]:
    return [
        Binding("a", "add", "Add", id=f"{prefix}.add"),
        Binding("e", "edit", "Edit", id=f"{prefix}.edit"),
        Binding("ctrl+d,delete", "delete", "Delete", id=f"{prefix}.delete"),
    ]


class PaneTab(CustomerTab):
    DEFAULT_CSS = "PaneTab { height: 1fr; }"
    PANES: tuple[type[Pane], ...] = ()

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.panes = [cls(self) for cls in self.PANES]
        self.loaded = 0  # tests watch this
        self._busy = False  # a form or dialog of this tab is open or on its way

    def compose(self) -> ComposeResult:
        for pane in self.panes:
            table = RowTable(pane.columns, id=pane.key)
            yield TablePane(pane.title, pane.empty, table, id=f"{pane.key}-pane")

    def on_show(self) -> None:
        # Coming here by 1-0 or [ ] leaves the focus on the tab bar (or nowhere): put it
        # in the first pane so that the tab's keys (a, e, ...) work at once.
        if self.screen.focused is None or isinstance(self.screen.focused, Tabs):
            self.table(self.panes[0]).focus()

    def table(self, pane: Pane) -> RowTable:
        return self.query_one(f"#{pane.key}", RowTable)

    def pane_widget(self, pane: Pane) -> TablePane:
        return self.query_one(f"#{pane.key}-pane", TablePane)

    @property
    def active_pane(self) -> Pane:
        """The pane whose table has the focus (the first one otherwise)."""
        focused = self.app.focused
        for pane in self.panes:
            if focused is not None and focused.id == pane.key:
                return pane
        return self.panes[0]

    # -- loading --------------------------------------------------------------------------
    def show_customer(self, customer_id: int) -> None:
        if self.is_mounted:  # never show (or act on) the previous customer's rows
            for pane in self.panes:
                self.pane_widget(pane).clear()
        super().show_customer(customer_id)

    def reload(self, select: dict[str, int] | None = None) -> None:
        if self.customer_id is not None:
            self._load(self.customer_id, select or {})

    @work(group="pane-load", exclusive=True)
    async def _load(self, customer_id: int, select: dict[str, int]) -> None:
        try:
            loaded = [await pane.rows() for pane in self.panes]
        except SQLAlchemyError as exc:
            self.app.flash(f"Database error, press r to retry: {exc.__class__.__name__}",
                           error=True)
            return
        if customer_id != self.customer_id:  # switched customer meanwhile
            return
        for pane, rows in zip(self.panes, loaded, strict=True):
            self.pane_widget(pane).fill(rows, pane.cells, select=select.get(pane.key))
        self.loaded += 1

    # -- actions --------------------------------------------------------------------------
    def _start(self, action: str) -> bool:
        """May an action open its form or dialog now? Refuses a second one while one is
        on its way (fast keys) and says so when the operator's role cannot write."""
        if self._busy or self.customer_id is None:
            return False
        try:
            self.app.actor.require(action)
        except PermissionDenied as exc:
            self.app.flash(escape(str(exc)), error=True)
            return False
        self._busy = True
        return True

    def current(self, pane: Pane):
        row = self.table(pane).current
        if row is None:
            self.app.flash(f"Nothing selected: {pane.empty}")
        return row

    def action_add(self) -> None:
        if self._start("write"):
            self._add(self.active_pane)

    def action_edit(self) -> None:
        pane = self.active_pane
        row = self.current(pane)
        if row is not None and self._start("write"):
            self._edit(pane, row)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def action_delete(self) -> None:
        pane = self.active_pane
        row = self.current(pane)
        if row is not None and self._start("delete"):
            self._delete(pane, row)

    @work(group="pane-action")
    async def _add(self, pane: Pane) -> None:
        try:
            await self._open_form(pane, None)
        finally:
            self._busy = False

    @work(group="pane-action")
    async def _edit(self, pane: Pane, row) -> None:
        try:
            try:
                fresh = await pane.fetch(row.id)
            except NotFound:
                self.app.flash(f"{escape(pane.label(row))} no longer exists", error=True)
                self.reload()
                return
            await self._open_form(pane, fresh)
        finally:
            self._busy = False

    async def _open_form(self, pane: Pane, row) -> None:
        origin = self.screen
        form = await pane.form(row)
        if form is None or self.app.screen is not origin:  # the operator has moved on
            return
        saved = await self.app.push_screen_wait(form)
        if isinstance(saved, Saved):
            self.app.flash(escape(saved.message))
            await self.after_save(pane, saved)
            self.reload({pane.key: saved.row_id})

    async def after_save(self, pane: Pane, saved: Saved) -> None:
        """Hook: what follows a save (the SIP users pane shows a new password once)."""

    @work(group="pane-action")
    async def _delete(self, pane: Pane, row) -> None:
        try:
            label = escape(pane.label(row))  # operators' text: never markup
            origin = self.screen
            if self.app.screen is not origin:
                return
            if not await self.app.push_screen_wait(ConfirmScreen(
                    f"Delete {label}?", escape(pane.delete_note(row)), yes="Delete",
                    no="Keep")):
                return
            try:
                await pane.delete(row)
            except (PermissionDenied, NotFound, StaleError) as exc:
                self.app.flash(escape(str(exc)), error=True)
            except ValidationError as exc:  # refused while something still uses it
                self.app.flash(escape(f"Not deleted: {'; '.join(exc.errors.values())}"),
                               error=True)
            except SQLAlchemyError as exc:
                self.app.flash(f"Not deleted, the database refused it: "
                               f"{exc.__class__.__name__}", error=True)
            else:
                self.app.flash(f"{label} deleted")
            self.reload()
        finally:
            self._busy = False
