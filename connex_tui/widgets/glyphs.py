"""Textual's own glyphs follow engine/present's choice: on a terminal that cannot show them
(TERM=linux, a non UTF-8 locale) the scrollbar loses its ▇ ends, the select its ▼, the
command palette its 🔎, the footer its ▏ (app.tcss styles `App.-ascii`) and the Stats
tab's charts their eighth blocks (Chart)."""

from __future__ import annotations

from rich.segment import Segment
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.widgets import Select, Sparkline, Static

from connex_tui.engine import present


class AsciiScrollBarRender(ScrollBarRender):
    """The thumb without its eighth-block ends: whole cells only."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


def apply(app) -> None:
    """Once, when the app starts (the choice is the process's, made from TERM/locale)."""
    ascii_ = present.glyphs() is present.ASCII
    ScrollBar.renderer = AsciiScrollBarRender if ascii_ else ScrollBarRender
    app.set_class(ascii_, "-ascii")


def select_marks(select: Select) -> None:
    """A mounted Select's drop-down marks in the chosen glyphs."""
    if present.glyphs() is present.ASCII:
        select.query_one(".down-arrow", Static).update(present.glyphs().down)
        select.query_one(".up-arrow", Static).update("^")


# Sparkline's eighth blocks, darkest last, as ASCII of growing weight
_BARS_ASCII = str.maketrans("▁▂▃▄▅▆▇█", "._-~=+*#")


class _AsciiBars:
    """A Sparkline renderable with its block characters in ASCII."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __rich_console__(self, console, options):
        for seg in self.inner.__rich_console__(console, options):
            yield Segment(seg.text.translate(_BARS_ASCII), seg.style, seg.control)


class Chart(Sparkline):
    """Textual's Sparkline, drawn in ASCII where the blocks cannot be shown (the Linux
    console has no ▁▂▃▅▆▇: the Stats tab's charts were rows of unknown-glyph marks)."""

    def render(self):
        out = super().render()
        return _AsciiBars(out) if present.glyphs() is present.ASCII else out
