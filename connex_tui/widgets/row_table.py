"""A keyboard table of rows that have ids, and a titled pane that says what to do when empty.

The table keeps its rows (small frozen dataclasses with an `id`), so the screen can ask for
the row under the cursor, and a reload puts the cursor back on the same row when it is
still there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from connex_tui.engine.present import text


@dataclass(frozen=True)
class Column:
    label: str
    width: int | None = None  # None: as wide as the content
    right: bool = False  # numbers line up on the right
    line_number: bool = False  # the row's line in the table (1 = first), not a cell value


class RowTable(DataTable):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("home,g", "scroll_top", "First row", show=False, id="table.first"),
        Binding("end,G", "scroll_bottom", "Last row", show=False, id="table.last"),
    ]

    def __init__(self, columns: Sequence[Column], *, id: str):
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.columns_spec = tuple(columns)
        self.rows_shown: list[Any] = []

    def on_mount(self) -> None:
        for c in self.columns_spec:
            self.add_column(Text(c.label, justify="right" if c.right else "left"),
                            width=c.width)

    def fill(self, rows: Iterable[Any], cells: Callable[[Any], Sequence[Any]], *,
             select: int | None = None) -> None:
        """Show `rows`; the cursor goes to the row with id `select`, else stays on the
        row it was on (by id), else on the same line."""
        keep = select if select is not None else getattr(self.current, "id", None)
        line = self.cursor_row
        self.rows_shown = []
        self.clear()
        self.append(rows, cells)
        ids = [row.id for row in self.rows_shown]
        if keep in ids:
            line = ids.index(keep)
        if self.rows_shown:
            self.move_cursor(row=min(line, len(ids) - 1))

    def append(self, rows: Iterable[Any], cells: Callable[[Any], Sequence[Any]]) -> None:
        """Add rows at the end (the next page of a long list); rows already shown are
        skipped, so an overlapping page cannot break the table."""
        for row in rows:
            if str(row.id) in self.rows:
                continue
            given = list(cells(row))
            if len(given) != sum(not c.line_number for c in self.columns_spec):
                raise ValueError(f"{len(given)} cells for columns {self.columns_spec}")
            given.reverse()  # taken from the end, in column order
            line = str(len(self.rows_shown) + 1)
            raw = [line if c.line_number else given.pop() for c in self.columns_spec]
            # Plain Text: DataTable reads a str cell as markup, and "[a-z]" in a regex is
            # not a style; escaped, as every cell may hold text from outside.
            values = [v if isinstance(v, Text) else
                      Text(text(v), justify="right" if c.right else "left")
                      for c, v in zip(self.columns_spec, raw, strict=True)]
            self.add_row(*values, key=str(row.id))
            self.rows_shown.append(row)

    @property
    def current(self) -> Any | None:
        if not self.rows_shown or not 0 <= self.cursor_row < len(self.rows_shown):
            return None
        return self.rows_shown[self.cursor_row]


class TablePane(Vertical):
    """A title line with the row count, the table, and an empty-state hint under it."""

    DEFAULT_CSS = """
    TablePane { height: 1fr; }
    TablePane > .pane-title { height: 1; padding: 0 1; background: $boost;
        color: $text-muted; text-style: bold; }
    TablePane > .pane-title.-active { background: $primary; color: $text; }
    TablePane > .pane-empty { height: auto; padding: 0 1; color: $text-muted; }
    TablePane > .pane-empty.-hidden { display: none; }
    TablePane > RowTable { height: 1fr; scrollbar-size-vertical: 1; }
    App:nocolor TablePane > .pane-title.-active { text-style: bold underline; }
    """

    def __init__(self, title: str, empty: str, table: RowTable, *, id: str):
        super().__init__(id=id)
        self.title, self.empty, self.table = text(title), empty, table

    def compose(self) -> ComposeResult:
        yield Static(self.title, classes="pane-title", markup=False)
        yield Static(self.empty, classes="pane-empty -hidden", markup=False)
        yield self.table

    # The title shows which pane the keys act on (CSS :focus-within does not restyle
    # the title when the focus moves, so the class is set here).
    def on_descendant_focus(self) -> None:
        self.query_one(".pane-title").add_class("-active")

    def on_descendant_blur(self) -> None:
        self.query_one(".pane-title").remove_class("-active")

    def fill(self, rows: Sequence[Any], cells: Callable[[Any], Sequence[Any]], *,
             select: int | None = None, note: str = "") -> None:
        """Show the rows; `note` follows the title and count (what the rows mean)."""
        self.table.fill(rows, cells, select=select)
        self.query_one(".pane-title", Static).update(
            f"{self.title} ({len(rows)})" + (f" · {text(note)}" if note else ""))
        self.query_one(".pane-empty", Static).set_class(bool(rows), "-hidden")

    def clear(self) -> None:
        self.table.fill([], lambda row: ())
        self.query_one(".pane-title", Static).update(self.title)
        self.query_one(".pane-empty", Static).set_class(True, "-hidden")
