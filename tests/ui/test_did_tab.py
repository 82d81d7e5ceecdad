"""DID journeys, keys only: add a number on a customer's DID tab, find it on the global DIDs
screen and come back to its owner; unassign it. The database is checked afterwards."""

from __future__ import annotations

import pytest

from connex_tui.data.access import Actor
from connex_tui.data.dids import DidsService
from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.screens.dids import DidsScreen
from connex_tui.widgets.confirm import ConfirmScreen
from tests.ui.conftest import frozen_clock, make_app
from tests.ui.helpers import Db, type_text, wait_for
from tests.ui.test_routing_tab import cell_texts, flashed, form_open, open_tab, saved


@pytest.fixture
async def db(db_path):
    d = Db(db_path)
    d.dids = DidsService(d.db, Actor("other", "admin"), frozen_clock)
    d.customer_id = await d.customers.create({"name": "Acme Telecom", "currency": "EUR"})
    await d.dids.create({"number": "+12025550100", "destination": "192.0.2.9:5060",
                         "monthly_retail": "0", "monthly_cost": "0.50"}, None)
    yield d
    await d.close()


async def test_add_a_did_then_find_it_on_the_dids_screen(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "0", "did-tab")
        before = tab.loaded
        await pilot.press("a")
        form = await form_open(pilot)
        await type_text(pilot, "+44 20 7946 0000")
        await pilot.press("tab")
        await type_text(pilot, "sip:100@192.0.2.1")
        await pilot.press("tab", "tab", "tab")  # failovers -> retail
        assert app.focused is form.query_one("#input-monthly_retail")
        await pilot.press("ctrl+a", "ctrl+k", *"2.50", "tab", "ctrl+a", "ctrl+k", *"1")
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        assert cell_texts(tab.query_one("#dids")) == [
            ["+442079460000", "sip:100@192.0.2.1", "2.50", "1.00", "1.50", "yes"]]
        assert "DID +44 20 7946 0000 added" in flashed(app)
        assert "margin 1.50 EUR" in str(tab.query_one("#dids-pane .pane-title").render())
        # / filters by digits as typed; esc clears the filter, then goes back
        await pilot.press("slash")
        loaded = tab.loaded
        await type_text(pilot, "999")
        await wait_for(pilot, lambda: tab.loaded > loaded
                       and not cell_texts(tab.query_one("#dids")), what="filtered")
        loaded = tab.loaded
        await pilot.press("escape")
        await wait_for(pilot, lambda: tab.loaded > loaded
                       and len(cell_texts(tab.query_one("#dids"))) == 1, what="unfiltered")
        assert isinstance(app.screen, CustomerDetailScreen)
        await pilot.pause(0.3)
        # the global screen: searched by digits typed in any form, with the owner
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CustomerDetailScreen),
                       what="list")
        await pilot.pause(0.3)  # escape then a letter: not alt+letter
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DidsScreen)
                       and app.screen.loads > 0, what="DIDs screen")
        screen = app.screen
        assert [r.number for r in screen.rows] == ["12025550100", "442079460000"]
        await pilot.press("slash")
        loads = screen.loads
        await type_text(pilot, "+44 20 79")
        await wait_for(pilot, lambda: screen.loads > loads and len(screen.rows) == 1,
                       what="search")
        assert cell_texts(screen.table)[0][:2] == ["+442079460000", "Acme Telecom"]
        await pilot.press("enter", "enter")  # leave the search box, open the owner
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and app.screen.active_tab == "did", what="owner's DID tab")
    assert await db.rows("SELECT number, destination, monthly_retail, monthly_cost, "
                         "customer_id, enabled FROM dids ORDER BY number") == [
        ("12025550100", "192.0.2.9:5060", 0, 500_000, None, 1),
        ("442079460000", "sip:100@192.0.2.1", 2_500_000, 1_000_000, db.customer_id, 1)]
    assert await db.rows("SELECT action, table_name FROM audit_log WHERE "
                         "table_name = 'dids' ORDER BY id") == [("create", "dids")] * 2


async def test_unassigned_stock_and_unassign(db_path, db):
    await db.dids.assign((await db.dids.by_number("+12025550100")).id, db.customer_id)
    app = make_app(db_path, role="operator")
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "0", "did-tab")
        assert len(cell_texts(tab.query_one("#dids"))) == 1
        before = tab.loaded
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: tab.loaded > before, what="reloaded")
        assert cell_texts(tab.query_one("#dids")) == []
        assert "DID +12025550100 unassigned: back in the stock" in flashed(app)
    assert await db.scalar("SELECT customer_id FROM dids") is None


async def test_assign_a_stock_number_on_the_dids_screen(db_path, db):
    app = make_app(db_path, role="operator")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.render_count > 0, what="list")
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, DidsScreen)
                       and app.screen.loads > 0, what="DIDs screen")
        screen = app.screen
        assert cell_texts(screen.table)[0][:2] == ["+12025550100", "(unassigned)"]
        await pilot.press("a")
        form = await form_open(pilot)
        await type_text(pilot, "nobody")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "no customer named nobody" in str(
            form.query_one("#error-customer").render()), what="error")
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "acme telecom")
        loads = screen.loads
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.loads > loads, what="reloaded")
        assert cell_texts(screen.table)[0][:2] == ["+12025550100", "Acme Telecom"]
        assert "DID +12025550100 assigned to Acme Telecom" in flashed(app)
    assert await db.scalar("SELECT customer_id FROM dids") == db.customer_id
