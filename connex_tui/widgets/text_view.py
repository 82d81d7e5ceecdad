"""A read-only modal showing some lines of text (audit entry details and the like)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from connex_tui.engine.present import lines, text


class TextScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > VerticalScroll { width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    TextScreen #text-title { text-style: bold; }
    """
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="text.close")]

    def __init__(self, title: str, lines: list[str]):
        super().__init__()
        self.title_text, self.lines = title, lines

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(f"{text(self.title_text)}  (esc closes)", id="text-title",
                         markup=False)
            # A line may hold a multi-line value (a note): its breaks stay, controls do not.
            shown = [part for line in self.lines for part in lines(line)]
            yield Static("\n".join(shown), id="text-body", markup=False)
