"""Yes/no confirmation as a ModalScreen[bool] (frogmouth's pattern)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from connex_tui.engine.textsafe import safe_text


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 60; max-width: 100%; height: auto; border: round $warning;
        background: $surface; padding: 0 1; }
    ConfirmScreen #title { text-style: bold; }
    ConfirmScreen #buttons { height: 1; align-horizontal: right; margin-top: 1; }
    ConfirmScreen Button { height: 1; border: none; min-width: 10; margin-left: 1; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
    ]

    def __init__(self, title: str, message: str, yes: str = "Yes", no: str = "No"):
        super().__init__()
        self.title_text, self.message, self.yes, self.no = title, message, yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            # Markup from the caller (names in it escaped); controls never reach the screen.
            yield Static(safe_text(self.title_text), id="title")
            yield Static(safe_text(self.message, multiline=True), id="message")
            with Horizontal(id="buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="error", compact=True)
                yield Button(f"{self.no} (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
