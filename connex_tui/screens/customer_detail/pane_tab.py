"""A customer tab made of table panes whose rows are added, edited and deleted in forms.

Each pane (a `Pane` subclass) says what it lists and how its rows are written; the tab
(`PaneTab`) owns the keys: `a` add, `e`/`enter` edit, `ctrl+d`/`delete` delete (with a
confirm dialog), acting on the pane whose table has the focus (`tab` moves between panes).
An action covers the tab with `Opening` at once, before it awaits anything, so that keys
typed right after `a` never act on the screen behind the form that is on its way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Tabs

from connex_tui.data.access import NotFound, PermissionDenied, StaleError, StorageError
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


class Opening(ModalScreen[None]):
    """An invisible screen over the tab for as long as one of its actions runs: its form or
    dialog opens on top, and keys typed while it is fetched (type-ahead over a slow link)
    land here and are dropped, instead of switching tabs or archiving the customer behind
    it. Escape gives up waiting for the first form or dialog."""

    DEFAULT_CSS = "Opening { background: transparent; }"

    def __init__(self) -> None:
        super().__init__()
        self.waiting = True  # nothing shown yet
        self.done = False

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if event.key == "escape" and self.waiting and not self.done:
            self.done = True
            self.dismiss()

    def finish(self) -> None:
        self.done = True
        if self.is_active:
            self.dismiss()

    def on_screen_resume(self) -> None:
        if self.done and self.is_active:  # something was shown over it till the end (help)
            self.dismiss()


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

    def note(self, rows: list) -> str:
        """A short line after the pane's title about what its rows mean together."""
        return ""


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
        except StorageError as exc:
            self.app.flash(escape(f"Not loaded, press r to retry: {exc}"), error=True)
            return
        if customer_id != self.customer_id:  # switched customer meanwhile
            return
        for pane, rows in zip(self.panes, loaded, strict=True):
            self.pane_widget(pane).fill(rows, pane.cells, select=select.get(pane.key),
                                        note=pane.note(rows))
        self.loaded += 1

    # -- actions --------------------------------------------------------------------------
    def _start(self, action: str) -> Opening | None:
        """Start an action: cover the tab at once (see Opening) and return the cover; None
        while another action runs, or (said) when the operator's role cannot write."""
        if self._busy or self.customer_id is None:
            return None
        try:
            self.app.actor.require(action)
        except PermissionDenied as exc:
            self.app.flash(escape(str(exc)), error=True)
            return None
        self._busy = True
        cover = Opening()
        self.app.push_screen(cover)
        return cover

    @asynccontextmanager
    async def _covered(self, cover: Opening) -> AsyncIterator[None]:
        """The body of an action's worker: the cover goes when it ends, however it ends."""
        try:
            yield
        except StorageError as exc:
            self.app.flash(escape(str(exc)), error=True)
        finally:
            cover.finish()
            self._busy = False

    async def show(self, cover: Opening, screen: Screen):
        """Open a form or dialog over the cover and wait for its result; None if the
        operator gave up waiting (the cover is gone) or something else is on top."""
        if self.app.screen is not cover:
            return None
        cover.waiting = False
        return await self.app.push_screen_wait(screen)

    def current(self, pane: Pane):
        row = self.table(pane).current
        if row is None:
            self.app.flash(f"Nothing selected: {pane.empty}")
        return row

    def action_add(self) -> None:
        pane = self.active_pane
        if cover := self._start("write"):
            self._add(cover, pane)

    def action_edit(self) -> None:
        pane = self.active_pane
        row = self.current(pane)
        if row is not None and (cover := self._start("write")):
            self._edit(cover, pane, row)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def action_delete(self) -> None:
        pane = self.active_pane
        row = self.current(pane)
        if row is not None and (cover := self._start("delete")):
            self._delete(cover, pane, row)

    @work(group="pane-action")
    async def _add(self, cover: Opening, pane: Pane) -> None:
        async with self._covered(cover):
            await self._open_form(cover, pane, None)

    @work(group="pane-action")
    async def _edit(self, cover: Opening, pane: Pane, row) -> None:
        async with self._covered(cover):
            try:
                fresh = await pane.fetch(row.id)
            except NotFound:
                self.app.flash(f"{escape(pane.label(row))} no longer exists", error=True)
                self.reload()
                return
            await self._open_form(cover, pane, fresh)

    async def _open_form(self, cover: Opening, pane: Pane, row) -> None:
        form = await pane.form(row)
        if form is None:
            return
        saved = await self.show(cover, form)
        if isinstance(saved, Saved):
            self.app.flash(escape(saved.message))
            await self.after_save(cover, pane, saved)
            self.reload({pane.key: saved.row_id})

    async def after_save(self, cover: Opening, pane: Pane, saved: Saved) -> None:
        """Hook: what follows a save (the SIP users pane shows a new password once)."""

    @work(group="pane-action")
    async def _delete(self, cover: Opening, pane: Pane, row) -> None:
        async with self._covered(cover):
            label = escape(pane.label(row))  # operators' text: never markup
            if not await self.show(cover, ConfirmScreen(
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
            except StorageError as exc:
                self.app.flash(escape(f"Not deleted: {exc}"), error=True)
            else:
                self.app.flash(f"{label} deleted")
            self.reload()
