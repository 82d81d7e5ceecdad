"""Alerts tab journey, keys only: add an alert in the form, Test it (the dialog says what it
would do and nothing is written), and a bad threshold shown beside its field."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from connex_tui.widgets.text_view import TextScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import Db, wait_for
from tests.ui.test_routing_tab import cell_texts, flashed, form_open, open_tab, saved


@pytest.fixture
async def db(db_path):
    d = Db(db_path)
    d.customer_id = await d.customers.create({"name": "Acme Telecom", "status": "active",
                                              "currency": "USD"})
    yield d
    await d.close()


async def test_add_an_alert_and_test_it(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "8", "alerts-tab")
        assert app.focused is tab.query_one("#alerts")
        assert "No alerts: press a" in str(
            tab.query_one("#alerts-pane .pane-empty", Static).render())
        before = tab.loaded
        await pilot.press("a")
        form = await form_open(pilot)
        await pilot.press(*"Low balance")
        # area (balance) and operator (<) keep their defaults: on to the threshold
        form.query_one("#input-threshold").focus()
        await pilot.press("ctrl+a", "ctrl+k", *"1e3", "ctrl+s")  # refused beside the field
        await wait_for(pilot, lambda: "fix" in str(form.query_one("#form-message").render()),
                       what="error shown")
        assert app.screen is form
        assert await db.scalar("SELECT count(*) FROM alerts") == 0
        await pilot.press("ctrl+a", "ctrl+k", *"50")
        form.query_one("#input-recipients").focus()
        await pilot.press(*"noc@acme.example", "ctrl+s")
        await saved(pilot, tab, before)
        assert "Alert Low balance added" in flashed(app)
        assert cell_texts(tab.query_one("#alerts")) == [
            ["Low balance", "Balance < 50.00 USD", "ready", "none", "-"]]

        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="test result")
        body = str(app.screen.query_one("#text-body", Static).render())
        assert "Value now: 0.00 USD" in body and "would FIRE" in body
        assert "Mail to noc@acme.example" in body
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TextScreen), what="closed")
    assert await db.rows("SELECT title, area, operator, threshold, recipients, state "
                         "FROM alerts") == [
        ("Low balance", "balance", "<", 50_000_000, "noc@acme.example", "ready")]
    assert await db.scalar("SELECT count(*) FROM alert_events") == 0  # a test writes nothing


async def test_keys_on_the_events_pane_never_reach_the_customer(db_path, db):
    from connex_tui.screens.customer_detail.screen import CustomerDetailScreen

    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "8", "alerts-tab")
        await pilot.press("tab")  # the events pane
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: any("history" in m for m in flashed(app)),
                       what="flash")
        assert isinstance(app.screen, CustomerDetailScreen)  # no customer delete dialog
    assert await db.scalar("SELECT count(*) FROM customers WHERE archived_at IS NULL") == 1
