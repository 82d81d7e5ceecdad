"""The result of a simulated call (docs/domain.md §4.1): what the switch would do.

Shown over the Simulate dialog after a run, and on its own when a stored simulation is
reopened from Latest Calls. Dismisses with 'edit' (s), 'open' (o) or None (esc).
"""

from __future__ import annotations

from rich.text import Text
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from connex_tui.engine.present import glyphs, text
from connex_tui.engine.report import PROVIDERS, TRACE, ViewRow, headline, result_view, verdict
from connex_tui.engine.snapshot import Result


def headline_text(result: Result) -> Text:
    """Green/red, and the first word says allow/reject for terminals without colour."""
    mark = glyphs().allow if result.allowed else glyphs().reject
    style = "green" if result.allowed else "red"
    return Text.assemble((f"{mark} {verdict(result)}  ", f"bold {style}"),
                         (headline(result), style))


def rows(view: list[ViewRow]) -> ComposeResult:
    """Label and value side by side; a long value wraps under itself, not under the label."""
    for row in view:
        with Horizontal(classes="pair"):
            yield Static(row.label, classes="key", markup=False)
            yield Static(Text(row.value, style="red" if row.alert else ""), classes="value")


def section(view: list[ViewRow], name: str, *, id: str) -> ComposeResult:
    with Vertical(id=id, classes="section-rows"):
        yield Static(name, classes="section")
        yield from rows([r for r in view if r.section == name])


class ResultScreen(ModalScreen[str | None]):
    """What the switch would do. Dismisses with 'edit' (s), 'open' (o) or None (esc)."""

    DEFAULT_CSS = """
    ResultScreen { align: center middle; }
    ResultScreen > #result { width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    ResultScreen #result-head { height: 1; }
    ResultScreen #result-title { text-style: bold; width: 1fr; height: 1;
        text-wrap: nowrap; text-overflow: ellipsis; }
    ResultScreen #result-keys { width: auto; height: 1; padding-left: 1; color: $text-muted; }
    ResultScreen #result-body { height: auto; max-height: 100%; }
    ResultScreen #headline { text-style: bold; margin-bottom: 1; }
    ResultScreen #summary, ResultScreen .section-rows { height: auto; }
    ResultScreen .pair { height: auto; }
    ResultScreen .key { width: 14; color: $text-muted; }
    ResultScreen .section-rows .key { width: 4; }
    ResultScreen .value { width: 1fr; }
    ResultScreen #providers, ResultScreen #trace { margin-top: 1; }
    ResultScreen .section { text-style: bold; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="result.close"),
        Binding("s", "edit", "Edit & run again", id="result.edit"),
        Binding("o", "open", "Open customer", id="result.open"),
        Binding("j,down", "scroll(1)", "Scroll down", show=False, id="result.down"),
        Binding("k,up", "scroll(-1)", "Scroll up", show=False, id="result.up"),
    ]

    def __init__(self, result: Result, call_id: str | None, *, offer_open: bool = False):
        super().__init__()
        self.result = result
        self.call_id = call_id
        self.offer_open = offer_open and result.customer_id is not None

    def compose(self) -> ComposeResult:
        r = self.result
        title = (f"{text(self.call_id) or 'Simulation (not stored)'} · {text(r.number_in)} "
                 f"from {text(r.cli_in)}")
        keys = ["s edit"] + (["o open customer"] if self.offer_open else []) + ["esc close"]
        with Vertical(id="result"):
            with Horizontal(id="result-head"):
                yield Static(title, id="result-title", markup=False)
                yield Static(" · ".join(keys), id="result-keys")
            with VerticalScroll(id="result-body"):
                yield Static(headline_text(r), id="headline")
                view = result_view(r)
                with Vertical(id="summary"):
                    yield from rows([row for row in view if not row.section])
                yield from section(view, PROVIDERS, id="providers")
                yield from section(view, TRACE, id="trace")

    def on_mount(self) -> None:
        self.query_one("#result-body").focus()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "open":
            return self.offer_open
        return True

    def action_scroll(self, step: int) -> None:
        self.query_one("#result-body", VerticalScroll).scroll_relative(y=step, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_edit(self) -> None:
        self.dismiss("edit")

    def action_open(self) -> None:
        if not self.offer_open:
            raise SkipAction()
        self.dismiss("open")
