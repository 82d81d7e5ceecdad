"""Textual's own glyphs follow engine/present's choice: on a terminal that cannot show them
(TERM=linux, a non UTF-8 locale) the scrollbar loses its ▇ ends, the select its ▼, the
command palette its 🔎 and the footer its ▏ (app.tcss styles `App.-ascii`)."""

from __future__ import annotations

from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.widgets import Select, Static

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
