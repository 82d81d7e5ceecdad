"""At 80x24 as an operator sees it: help wraps and scrolls, all tabs show whole, q goes back."""

from __future__ import annotations

from sqlalchemy import text

from connex_tui.screens.customer_detail.screen import TABS, CustomerDetailScreen
from connex_tui.screens.customer_list import CustomerListScreen
from connex_tui.screens.help import HelpScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import Db, list_ready, screen_lines, table_names, wait_for


async def open_customer(pilot):
    await list_ready(pilot)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CustomerDetailScreen)
                   and pilot.app.screen.loaded > 0, what="customer screen")
    return pilot.app.screen


async def test_help_wraps_and_scrolls_with_j_k(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        first = screen_lines(app)
        seen = "\n".join(first)
        for _ in range(30):
            await pilot.press("j")
        await pilot.pause()
        scrolled = screen_lines(app)
        assert scrolled != first  # j scrolled the help
        seen += "\n".join(scrolled)
        # The list's legend lines are longer than the box: wrapped, their ends on screen.
        assert "(cannot call)" in seen and "(∞ = none)" in seen
        for _ in range(30):
            await pilot.press("k")
        await pilot.pause()
        assert screen_lines(app) == first  # and k back to the top
        await pilot.press("pagedown")
        await pilot.pause()
        assert screen_lines(app) != first


async def test_every_tab_label_is_whole_at_80_columns(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_customer(pilot)
        for digit in "1234567890":
            await pilot.press(digit)
            await pilot.pause()
            bar = screen_lines(app)[2]
            assert bar.split() == [label for _, label in TABS], bar


async def test_q_goes_back_to_the_list_from_a_rate_card(demo_path):
    from connex_tui.screens.rate_card import RateCardScreen

    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_customer(pilot)
        await pilot.press("q")  # the customer screen: back to the list, no question
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerListScreen), what="list")
        await open_customer(pilot)
        await pilot.press("3")
        await wait_for(pilot, lambda: screen.query_one("#routing-tab").panes[0].rows,
                       what="routes")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, RateCardScreen), what="card")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerListScreen), what="list")
        assert len(app.screen_stack) == 2
        await pilot.press("q")  # the list asks before quitting
        await pilot.pause()
        assert "Quit connex-tui?" in "\n".join(screen_lines(app))
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, CustomerListScreen)


async def test_names_get_room_and_long_numbers_show_a_cut_at_80_columns(demo_path):
    db = Db(demo_path)
    await db.rows("SELECT 1")
    async with db.db.engine.begin() as conn:
        await conn.execute(text("UPDATE customers SET balance = 123456789000000, "
                                "channels = 100000 WHERE name = 'Acme Telecom'"))
    await db.close()
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        await pilot.pause()
        lines = screen_lines(app)
        for name in table_names(screen)[:16]:  # the rows on screen
            # 20+ characters of each (a cut drops the space before the ellipsis)
            line = next((ln for ln in lines if name[:20].rstrip() in ln), None)
            assert line is not None, (name, lines)
            assert name in line or "…" in line
        acme = next(ln for ln in lines if "Acme Telecom " in ln)
        assert "123,456,789.…" in acme and "4/1000…" in acme  # cut, and visibly so
