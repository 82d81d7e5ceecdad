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
                         "(esc closes)", markup=False)
            yield DataTable(cursor_type="row", id="keys")
            yield Static("ctrl+p palette: go to customer (also archived), go to tab, filters")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action")
        for keys, description in help_rows(self.under):
            table.add_row(keys, description)
        table.focus()


GENERIC = (("ctrl+p", "Command palette"), ("tab / shift+tab", "Next / previous field or pane"),
           ("ctrl+q", "Quit at once"))


def _focused_bindings(screen: Screen) -> list[tuple[object, Binding]]:
    """Footer keys of the widgets around the focus (a customer tab's add/edit/delete):
    they come first and hide the screen's binding of the same key."""
    out: list[tuple[object, Binding]] = []
    node = screen.focused
    while node is not None and node is not screen:
        # Our bindings all have an id (for the keymap); Textual's widget internals do not.
        out += [(node, b) for b in getattr(node, "BINDINGS", ())
                if isinstance(b, Binding) and b.description and (b.show or b.id)]
        node = node.parent
    return out


def help_rows(screen: Screen) -> list[tuple[str, str]]:
    """The keys of the focused part and the screen's own keys (all keys of one action on
    one line), then the few generic ones; widget internals (copy, page-left, ...) are left
    out."""
    own = _focused_bindings(screen)
    taken = {k for _, b in own for k in b.key.split(",")}
    own += [(screen, b) for b in screen.BINDINGS if isinstance(b, Binding) and b.description
            and not taken.issuperset(b.key.split(","))]
    rows: dict[str, list[str]] = {}
    for node, b in own:
        if node.check_action(b.action, ()) is False:
            continue
        # The tooltip is the long form of a label shortened to fit an 80-column footer.
        rows.setdefault(b.tooltip or b.description, []).extend(key_label(b.key).split(", "))
    out = [(", ".join(dict.fromkeys(keys)), what) for what, keys in rows.items()]
    out.extend(GENERIC)
    for line in getattr(screen, "help_legend", ()):
        out.append(("", line))
    return out
