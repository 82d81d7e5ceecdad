"""Payments tab journeys, keys only: add (the header's balance follows at once), a bad
amount beside its field, cancel after a confirm, the balance history, a viewer. The
database is checked afterwards."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual.widgets import Input, Static

from connex_tui.data.access import Actor
from connex_tui.data.payments import PaymentsService
from connex_tui.screens.customer_detail.balance_history import BalanceHistoryScreen
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.text_view import TextScreen
from tests.ui.conftest import frozen_clock, make_app
from tests.ui.helpers import Db, screen_lines, wait_for
from tests.ui.test_routing_tab import cell_texts, flashed, form_open, open_tab, saved


@pytest.fixture
async def db(db_path):
    d = Db(db_path)
    d.payments = PaymentsService(d.db, Actor("other", "admin"), frozen_clock)
    d.customer_id = await d.customers.create({"name": "Acme Telecom", "currency": "EUR",
                                              "tax_percent": "20", "debit_limit": "10"})
    yield d
    await d.close()


def header(app) -> str:
    return str(app.screen.query_one("#header", Static).render())


async def test_add_payment_updates_the_header_and_the_ledger(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "7", "payments-tab")
        assert "Balance 0.00 EUR" in header(app)
        assert "No payments: press a" in str(
            tab.query_one("#payments-pane .pane-empty", Static).render())
        before = tab.loaded
        await pilot.press("a")
        form = await form_open(pilot)
        assert app.focused is form.query_one("#input-amount")
        await pilot.press(*"120", "tab", "tab", "tab", *"Wire WT1 # noc1 checked")
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        assert "Balance 100.00 EUR" in header(app)
        assert cell_texts(tab.query_one("#payments")) == [
            ["2026-11-25", "Wire WT1", "120.00", "20.00", "100.00", "0.00", "completed"]]
        assert "completed 120.00 EUR, net 100.00" in str(
            tab.query_one("#payments-pane .pane-title", Static).render())
        assert "Payment 1 added" in flashed(app)
        await pilot.press("enter")  # every field, the private note too
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="detail")
        assert "noc1 checked" in str(app.screen.query_one("#text-body", Static).render())
    assert await db.rows("SELECT amount, tax, fee, status, description FROM payments") == [
        (120_000_000, 20_000_000, 0, "completed", "Wire WT1 # noc1 checked")]
    assert await db.rows("SELECT kind, amount, ref, note FROM ledger") == [
        ("payment", 100_000_000, "payment:1", "Wire WT1")]
    assert await db.scalar("SELECT balance FROM customers") == 100_000_000


async def test_bad_amount_is_shown_beside_the_field_and_nothing_is_written(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "7", "payments-tab")
        await pilot.press("a")
        form = await form_open(pilot)
        await pilot.press(*"1,000", "ctrl+s")
        await wait_for(pilot, lambda: "fix" in str(form.query_one("#form-message").render()),
                       what="errors")
        assert str(form.query_one("#error-amount").render()) == (
            "✗ must be a plain number like 12.50")
        assert form.query_one("#input-amount", Input).value == "1,000"
    assert await db.scalar("SELECT count(*) FROM payments") == 0
    assert await db.scalar("SELECT count(*) FROM ledger") == 0


async def test_cancel_asks_then_reverses_and_history_shows_it(db_path, db):
    await db.payments.add(db.customer_id, {"amount": "12", "description": "Card"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "7", "payments-tab")
        assert "Balance 10.00 EUR" in header(app)
        before = tab.loaded
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: tab.loaded > before, what="reloaded")
        await wait_for(pilot, lambda: "Balance 0.00 EUR" in header(app), what="header")
        assert cell_texts(tab.query_one("#payments"))[0][-1] == "cancelled"
        await pilot.press("c")  # only a pending payment completes
        assert any("only a pending payment" in m for m in flashed(app))
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BalanceHistoryScreen)
                       and app.screen.loaded, what="history")
        rows = cell_texts(app.screen.query_one("#history"))
        assert [r[1:4] for r in rows] == [["payment", "-10.00", "0.00"],
                                         ["payment", "10.00", "10.00"]]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.query("#payments-tab"), what="back")
    assert await db.rows("SELECT amount FROM ledger ORDER BY id") == [(10_000_000,),
                                                                     (-10_000_000,)]
    assert await db.rows("SELECT status, version FROM payments") == [("cancelled", 2)]


async def test_viewer_is_told_and_nothing_opens(db_path, db):
    await db.payments.add(db.customer_id, {"amount": "5", "status": "pending"})
    app = make_app(db_path, role="viewer")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "7", "payments-tab")
        for key in ("a", "c", "x"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
        assert any("read-only" in m for m in flashed(app))
    assert await db.rows("SELECT status FROM payments") == [("pending",)]
    assert await db.payments.balance(db.customer_id) is not None
    assert (await db.payments.balance(db.customer_id)).balance == Decimal(0)


async def test_stale_edit_keeps_the_input_and_the_list_credit_follows(db_path, db):
    pid = await db.payments.add(db.customer_id, {"amount": "6", "status": "pending"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "7", "payments-tab")
        await pilot.press("e")
        form = await form_open(pilot)
        assert form.query_one("#input-amount", Input).disabled  # the amount is fixed
        await db.payments.update(pid, 1, {"amount": "6", "status": "pending",
                                          "description": "theirs"})
        form.query_one("#input-fee", Input).value = "1.25"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "someone else" in str(
            form.query_one("#form-message").render()), what="stale")
        assert form.query_one("#input-fee", Input).value == "1.25"
        await pilot.press("escape")
        await pilot.pause()
        if isinstance(app.screen, ConfirmScreen):  # discard the edit
            await pilot.press("y")
        await wait_for(pilot, lambda: not isinstance(app.screen, type(form)), what="closed")
        await db.payments.set_status(pid, 2, "completed")  # someone completes it meanwhile
        await pilot.press("escape")  # back to the list: its Credit is read again
        await wait_for(pilot, lambda: any("5.00 EUR" in line for line in
                                          screen_lines(app)), what="credit")
    assert await db.rows("SELECT description, fee, status FROM payments") == [
        ("theirs", 0, "completed")]
