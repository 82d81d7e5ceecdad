"""A DataTable for rows that change while they are shown (live calls): each `show` gets the
whole list, in order, and changes only what differs from the last one: rows gone are
removed, new rows added, changed cells updated, and the order set, all in one
`batch_update`, so a one-second refresh of 2,000 calls repaints what moved and nothing
else (bench/dialogs_refresh.py). The cursor stays on the same row (by key).

Cells are made by the caller's function, and only for new rows and the rows in view (the
others when they scroll into view): every duration ticks each second. A cell is
(text, style): plain data, cheap to compare; a Text is made only for a cell that changed.
Text is escaped by the caller (engine.present), never read as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual._two_way_dict import TwoWayDict  # DataTable's row order; see _arrange
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from connex_tui.widgets.row_table import RowTable

Cell = tuple[str, str]  # (text, style)
# Past this many rows gone at once (a new filter), clearing and adding again is as cheap.
REBUILD_AT = 64
WINDOW_MARGIN = 10  # rows above and below the view whose cells are kept current


@dataclass(frozen=True)
class LiveColumn:
    key: str
    label: str
    width: int
    right: bool = False


class LiveTable(DataTable):
    BINDINGS = RowTable.BINDINGS  # j/k, g/G as in every table (one keymap id for all)

    def __init__(self, *, id: str):
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.columns_spec: tuple[LiveColumn, ...] = ()
        self.shown: dict[str, tuple[Cell, ...]] = {}  # key -> cells as in the table
        self.source: dict[str, Any] = {}  # key -> the row as last given
        self._cells_of: Callable[[Any], tuple[Cell, ...]] = lambda row: ()
        self._keys: dict[str, RowKey] = {}  # the table's own key objects
        self.order: list[str] = []
        self.changed_cells = 0  # of the last show(): tests and the bench read it

    def set_columns(self, columns: Sequence[LiveColumn]) -> None:
        """(Re)define the columns; the rows are dropped (the caller shows them again)."""
        self.columns_spec = tuple(columns)
        self.clear(columns=True)
        self.shown, self.source, self.order, self._keys = {}, {}, [], {}
        for c in self.columns_spec:
            self.add_column(Text(c.label, justify="right" if c.right else "left"),
                            width=c.width, key=c.key)

    def _text(self, cell: Cell, column: LiveColumn) -> Text:
        return Text(cell[0], style=cell[1], justify="right" if column.right else "left",
                    no_wrap=True)

    @property
    def current_key(self) -> str | None:
        if not self.order or not 0 <= self.cursor_row < len(self.order):
            return None
        return self.order[self.cursor_row]

    def show(self, rows: Sequence[tuple[str, Any]],
             cells: Callable[[Any], tuple[Cell, ...]]) -> None:
        """Show `rows` ((key, row) in display order), changing only what changed; `cells`
        makes a row's cells. They are made and written for new rows and for the rows in
        view (and a margin); for the others when they scroll into view: 2,000 durations
        made and written each second would cost more than the rest of a refresh."""
        keep, line = self.current_key, self.cursor_row
        self.source = wanted = dict(rows)
        self._cells_of = cells
        order = [key for key, _ in rows]
        gone = [key for key in self.order if key not in wanted]
        changed = 0
        with self.app.batch_update():
            if len(gone) > REBUILD_AT:
                self.clear()
                self.shown, self.order, self._keys, gone = {}, [], {}, []
            elif gone:
                self._drop(gone)
            columns = self.columns_spec
            added: list[str] = []
            for key, item in rows:
                if key not in self.shown:
                    made = cells(item)
                    self._keys[key] = self.add_row(
                        *(self._text(c, col) for c, col in zip(made, columns, strict=True)),
                        key=key)
                    self.shown[key] = made
                    changed += len(made)
                    added.append(key)
            # the table's order now: as last shown, new rows at the end (after a drop,
            # unnumbered: always arranged)
            if gone or order != (self.order + added if added else self.order):
                self._arrange(order)
            self.order = order
            if order:
                row = order.index(keep) if keep in wanted else min(line, len(order) - 1)
                if row != self.cursor_row:
                    self.move_cursor(row=row, animate=False)
            changed += self._sync_window()
        self.changed_cells = changed

    def _sync_window(self) -> int:
        """Write the cells that changed in the rows in view, and a margin around them."""
        top = int(self.scroll_y)
        start, end = max(0, top - WINDOW_MARGIN), top + self.size.height + WINDOW_MARGIN
        changed = 0
        columns = self.columns_spec
        for key in self.order[start:end]:
            want, old = self._cells_of(self.source[key]), self.shown[key]
            if want != old:
                for c, before, col in zip(want, old, columns, strict=True):
                    if c != before:
                        self.update_cell(key, col.key, self._text(c, col))
                        changed += 1
                self.shown[key] = want
        return changed

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if int(old_value) != int(new_value) and self.order:
            self._sync_window()

    def _drop(self, keys: list[str]) -> None:
        """Take rows out; _arrange then numbers the rest. DataTable.remove_row renumbers
        every row and re-sorts them for the hover cell on each call: twenty calls ended in
        a second cost more than the whole refresh of 2,000 (bench/dialogs_refresh.py)."""
        for key in keys:
            row_key = self._keys.pop(key)
            del self.rows[row_key]
            del self._data[row_key]
            del self.shown[key]
        self._require_update_dimensions = True

    def _arrange(self, order: list[str]) -> None:
        """Put the rows in `order` (every shown key once). What DataTable.sort does with
        the order it computes; here the order comes from the rows' own data (durations,
        start times), which the cells only show clipped."""
        keys = self._keys
        self._row_locations = TwoWayDict({keys[key]: i for i, key in enumerate(order)})
        self._update_count += 1
        self.refresh()
