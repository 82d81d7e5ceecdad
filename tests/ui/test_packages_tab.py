"""Packages tab journey, keys only: assign a package, the preview shows what the next run
charges, the database holds the assignment; and the catalogue opens with P."""

from __future__ import annotations

from textual.widgets import Static

from connex_tui.data.access import Actor
from connex_tui.data.packages import PackagesService
from connex_tui.widgets.confirm import ConfirmScreen
from tests.ui.conftest import frozen_clock, make_app
from tests.ui.helpers import Db, list_ready, wait_for
from tests.ui.test_routing_tab import cell_texts, flashed, form_open, saved


async def open_packages(pilot):
    """From the list: open the (only) customer, go to the eleventh tab."""
    from connex_tui.screens.customer_detail.screen import CustomerDetailScreen

    await list_ready(pilot)
    await pilot.press("enter")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                   and app.screen.loaded > 0, what="customer screen")
    await pilot.press("0", "right_square_bracket")
    await wait_for(pilot, lambda: app.screen.query_one("#packages-tab").loaded > 0,
                   what="packages tab")
    return app.screen.query_one("#packages-tab")


async def test_assign_a_package_and_see_the_preview(db_path):
    db = Db(db_path)
    try:
        cid = await db.customers.create({"name": "Acme Telecom", "currency": "USD"})
        pk = PackagesService(db.db, Actor("other", "admin"), frozen_clock)
        await pk.create_package({"name": "Euro fee", "currency": "EUR", "retail": "9"})
        await pk.create_package({"name": "Platform fee", "currency": "USD", "retail": "25",
                                 "frequency": "monthly", "match_days": "1"})
    finally:
        await db.close()
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_packages(pilot)
        before = tab.loaded
        await pilot.press("a")
        form = await form_open(pilot)
        # only the package in the customer's currency is offered
        assert [str(o[0]) for o in form.query_one("#input-package_id")._options] == [
            "Platform fee"]
        await pilot.press("tab")
        assert app.focused is form.query_one("#input-quantity")
        await pilot.press("ctrl+a", "ctrl+k", "3", "ctrl+s")
        await saved(pilot, tab, before)
        assert cell_texts(tab.query_one("#package-assignments"))[0][:4] == [
            "Platform fee", "3", "25.00 USD", "month"]
        assert "Package assigned" in flashed(app)
        preview = str(tab.query_one("#package-preview", Static).render())
        assert preview == ("Next run charges 75.00 USD now (1 interval due); then 75.00 USD "
                           "on 2026-12-01")
        # ctrl+d ends it now (after a confirm): nothing is deleted
        before = tab.loaded
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: tab.loaded > before, what="reloaded")
        assert cell_texts(tab.query_one("#package-assignments"))[0][5] == "2026-11-25"
    db = Db(db_path)
    try:
        assert await db.rows("SELECT customer_id, quantity, start, auto_decrement "
                             "FROM customer_packages") == [
            (cid, 3, "2026-11-25 00:00:00.000000", 1)]
        assert await db.rows("SELECT \"end\" FROM customer_packages") == [
            ("2026-11-25 12:00:00.000000",)]
    finally:
        await db.close()


async def test_catalogue_opens_with_P(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("P")
        await wait_for(pilot, lambda: app.screen.query_one("#catalogue-tab").loaded > 0,
                       what="catalogue")
        names = [r[0] for r in cell_texts(app.screen.query_one("#package-catalogue"))]
        assert names == ["Minimum Spend EUR 500", "Platform Fee Monthly",
                         "UK Mobile Bundle 1000"]
