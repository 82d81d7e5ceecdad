"""`?`: every binding of the screen underneath, as a table."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

KEY_NAMES = {"slash": "/", "question_mark": "?", "left_square_bracket": "[",
             "right_square_bracket": "]", "escape": "esc", "delete": "del",
             "less_than_sign": "<", "greater_than_sign": ">"}


def key_label(key: str) -> str:
    return ", ".join(KEY_NAMES.get(k, k) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    """Wrapped to the terminal's width (nothing is cut at 80 columns) and scrolled like a
    pager: j/k or arrows by line, pgup/pgdn/space by page, g/G or home/end to the ends."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-width: 100%; height: auto;
        max-height: 100%; border: round $primary; background: $surface; padding: 0 1;
        scrollbar-size-vertical: 1; }
    HelpScreen #help-title { text-style: bold; }
    HelpScreen #help-keys { margin: 1 0; }
    """
    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="help.close"),
        Binding("j,down", "scroll(1)", "Scroll down", show=False, id="help.down"),
        Binding("k,up", "scroll(-1)", "Scroll up", show=False, id="help.up"),
        Binding("pagedown,space", "page(1)", "Page down", show=False, id="help.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="help.page_up"),
        Binding("home,g", "ends(0)", "Top", show=False, id="help.top"),
        Binding("end,G", "ends(1)", "Bottom", show=False, id="help.bottom"),
    ]

    def __init__(self, under: Screen):
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text(f"Keys: {getattr(self.under, 'help_title', 'this screen')}"
                              "  (j/k scroll, esc closes)"), id="help-title")
            yield Static(help_table(help_rows(self.under)), id="help-keys")
            yield Static("ctrl+p palette: go to customer (also archived), go to tab, filters",
                         id="help-palette")

    @property
    def body(self) -> VerticalScroll:
        return self.query_one("#help-body", VerticalScroll)

    def action_scroll(self, lines: int) -> None:
        self.body.scroll_relative(y=lines, animate=False)

    def action_page(self, pages: int) -> None:
        self.body.scroll_relative(y=pages * max(1, self.body.scrollable_content_region.height - 1),
                                  animate=False)

    def action_ends(self, end: int) -> None:
        if end:
            self.body.scroll_end(animate=False)
        else:
            self.body.scroll_home(animate=False)


def help_table(rows: list[tuple[str, str]]) -> Table:
    """Keys on the left (never cut), what they do on the right, wrapped to the width."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    for keys, what in rows:
        table.add_row(Text(keys), Text(what))
    return table


GENERIC = (("ctrl+p", "Command palette"), ("tab / shift+tab", "Next / previous field or pane"),
           ("q", "Back to the list"), ("ctrl+q", "Quit at once"))


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
    shown = {k for keys, _ in out for k in keys.split(", ")}
    out.extend(row for row in GENERIC if row[0] not in shown)  # the list's q quits
    for line in getattr(screen, "help_legend", ()):
        out.append(("", line))
    return out
