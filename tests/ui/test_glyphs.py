"""TERM=linux (or a locale that is not UTF-8): no glyph the terminal cannot show."""

from __future__ import annotations

import pytest

from connex_tui.engine import present
from tests.ui.conftest import make_app
from tests.ui.helpers import list_ready, wait_for

GLYPHS = "🔎▼∞…▇▏✓✗⏎∅"


@pytest.fixture
def ascii_terminal():
    present.use_ascii(True)
    yield
    present.use_ascii(None)


def shown(app) -> str:
    """The text of the screen as painted (the SVG export holds every cell's character)."""
    return app.export_screenshot()


async def test_the_list_the_palette_and_a_customer_in_ascii(demo_path, ascii_terminal):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        await wait_for(pilot, lambda: screen.total is not None, what="count")
        text = shown(app)
        assert not [g for g in GLYPHS if g in text]
        assert "/inf" in text  # a channel limit of 0
        assert "..." in text  # a long name, cut
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert "🔎" not in shown(app)
        await pilot.press("escape")


async def test_unicode_terminals_keep_the_glyphs(demo_path):
    present.use_ascii(False)
    try:
        app = make_app(demo_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await list_ready(pilot)
            text = shown(app)
            assert "▼" in text and "∞" in text and "…" in text
    finally:
        present.use_ascii(None)


async def test_the_stats_charts_in_ascii(demo_path, ascii_terminal):
    """TERM=linux: Sparkline's ▁▂▃▅▆▇ are not in the console's font."""
    from connex_tui.screens.customer_detail.stats_tab import StatsTab
    from tests.ui.helpers import open_customer_tab

    app = make_app(demo_path)
    async with app.run_test(size=(120, 50)) as pilot:  # tall: no scrollbar
        tab = await open_customer_tab(pilot, "Acme", "2", StatsTab)
        await wait_for(pilot, lambda: tab.view is not None, what="stats")
        text = shown(app)
        assert not [g for g in "▁▂▃▄▅▆▇█" if g in text]
        assert "#" in text  # the tallest bar
