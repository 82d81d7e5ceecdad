"""`?`: every binding of the screen underneath, as a table."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

KEY_NAMES = {"slash": "/", "question_mark": "?", "left_square_bracket": "[",
             "right_square_bracket": "]", "escape": "esc", "delete": "del"}


def key_label(key: str) -> str:
    return ", ".join(KEY_NAMES.get(k, k) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    HelpScreen DataTable { height: auto; max-height: 18; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def __init__(self, under: Screen):
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Keys: {getattr(self.under, 'help_title', 'this screen')}  "
                         "(esc closes)")
            yield DataTable(cursor_type="row", id="keys")
            yield Static("ctrl+p  command palette: go to customer, go to tab, actions")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action")
        seen = set()
        for key, active in self.under.active_bindings.items():
            b = active.binding
            if b.action in seen or not b.description:
                continue
            seen.add(b.action)
            table.add_row(key_label(key), b.description)
        for key, what in (("ctrl+p", "Command palette"), ("tab", "Next field / pane"),
                          ("ctrl+q", "Quit at once")):
            table.add_row(key, what)
        table.focus()
