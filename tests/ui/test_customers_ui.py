"""Operators' journeys on the Customers screen, keys only; the database is checked after."""

from __future__ import annotations

from decimal import Decimal

import pytest
from textual.widgets import Input, Select, Static

from connex_tui.data.ledger import post
from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.form import FormScreen
from tests.ui.conftest import FROZEN, make_app
from tests.ui.helpers import (
    Db,
    list_ready,
    rendered_after,
    screen_lines,
    table_cells,
    table_names,
    type_text,
    wait_for,
)


@pytest.fixture
async def db(db_path):
    d = Db(db_path)
    yield d
    await d.close()


async def add_customers(db: Db, *names_status):
    ids = []
    for name, status, currency in names_status:
        ids.append(await db.customers.create({"name": name, "status": status,
                                              "currency": currency}))
    return ids


async def test_add_customer_with_keys_only(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        before = screen.render_count
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        await type_text(pilot, "Blue Ocean VoIP")
        await pilot.press("tab", "tab")  # status -> currency
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "eur")
        await pilot.press("tab")
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "-5.25")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="form closed")
        await rendered_after(pilot, screen, before)
        assert table_names(screen) == ["Blue Ocean VoIP"]
        assert table_cells(screen) == ["! Blue Ocean VoIP"]  # whole at 80; no auth nor route
    rows = await db.rows("SELECT name, currency, debit_limit, status FROM customers")
    assert rows == [("Blue Ocean VoIP", "EUR", -5_250_000, "active")]
    audit = await db.rows("SELECT operator, action FROM audit_log")
    assert audit == [("tester", "create")]


async def test_bad_input_is_shown_next_to_the_field_and_nothing_is_written(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        form = app.screen
        await pilot.press("tab", "tab", "tab")  # name left empty -> debit limit
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "1e5")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "fix" in str(form.query_one("#form-message").render()),
                       what="error summary")
        assert str(form.query_one("#error-name", Static).render()) == "✗ required"
        assert "plain number" in str(form.query_one("#error-debit_limit", Static).render())
        assert form.query_one("#input-debit_limit", Input).value == "1e5"  # input kept
        assert app.focused is form.query_one("#input-name")
        # correct it and save
        await type_text(pilot, "Fixed Telecom")
        form.query_one("#input-debit_limit", Input).value = "100"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="saved")
    assert await db.rows("SELECT name, debit_limit FROM customers") == [
        ("Fixed Telecom", 100_000_000)]


async def test_cancel_writes_nothing(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        await type_text(pilot, "Never Saved")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="closed")
    assert await db.scalar("SELECT count(*) FROM customers") == 0


async def test_edit_customer_and_currency_is_read_only(db_path, db):
    (cid,) = await add_customers(db, ("Acme Telecom", "active", "USD"))
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        before = screen.render_count
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        form = app.screen
        assert form.query_one("#input-currency", Input).disabled
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "Acme Telecom Ltd")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="saved")
        await rendered_after(pilot, screen, before)
        assert table_names(screen) == ["Acme Telecom Ltd"]
    assert await db.rows("SELECT name, currency, version FROM customers") == [
        ("Acme Telecom Ltd", "USD", 2)]
    changes = await db.scalar("SELECT changes FROM audit_log WHERE action='update'")
    assert '"name": ["Acme Telecom", "Acme Telecom Ltd"]' in changes


async def test_stale_save_says_changed_by_someone_else_and_keeps_input(db_path, db):
    (cid,) = await add_customers(db, ("Acme Telecom", "active", "USD"))
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        form = app.screen
        # another operator saves first
        other = await db.customers.get(cid)
        await db.customers.update(cid, other.version, {**other.form_values(),
                                                       "notes_private": "theirs"})
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "Mine")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "someone else" in str(
            form.query_one("#form-message").render()), what="stale message")
        assert app.screen is form
        assert form.query_one("#input-name", Input).value == "Mine"
    assert await db.rows("SELECT name, notes_private FROM customers") == [
        ("Acme Telecom", "theirs")]


async def test_status_filter(db_path, db):
    await add_customers(db, ("Alpha", "active", "USD"), ("Bravo", "inactive", "EUR"),
                        ("Charlie", "pending_approval", "GBP"), ("Delta", "penalty", "USD"))
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        assert table_names(screen) == ["Alpha", "Bravo", "Charlie", "Delta"]
        before = screen.render_count
        await pilot.press("f")
        await pilot.press("down", "down", "enter")  # All -> Active -> Inactive
        await rendered_after(pilot, screen, before)
        assert screen.query_one("#status", Select).value == "inactive"
        assert table_names(screen) == ["Bravo"]
        assert "1 customer" in str(screen.query_one("#count").render())


async def test_search_as_you_type_over_contact_email(db_path, db):
    ids = await add_customers(db, ("Alpha Voice", "active", "USD"), ("Bravo Net", "active", "USD"))
    from sqlalchemy import insert

    from connex_tui.data import search
    from connex_tui.data.models import Contact

    async with db.db.sessions() as s, s.begin():
        await s.execute(insert(Contact).values(
            customer_id=ids[1], name="Noc", email="noc@bravo.example", version=1,
            created_at=FROZEN, updated_at=FROZEN))
        await search.reindex(s, ids)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "noc@bravo")
        await wait_for(pilot, lambda: table_names(screen) == ["Bravo Net"], what="search result")
        assert "1 match" in str(screen.query_one("#count").render())
        await pilot.press("escape")  # clears the search
        await wait_for(pilot, lambda: len(table_names(screen)) == 2, what="cleared")


async def test_delete_archives_a_customer_with_money_history(db_path, db):
    (cid,) = await add_customers(db, ("Paying Co", "active", "USD"))
    async with db.db.sessions() as s, s.begin():
        await post(s, cid, "payment", Decimal("10"), at=FROZEN)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        before = screen.render_count
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "ARCHIVED" in str(app.screen.query_one("#message").render())
        await pilot.press("y")
        await rendered_after(pilot, screen, before)
        assert table_names(screen) == []
        before = screen.render_count
        screen.query_one("#status", Select).value = "archived"
        await rendered_after(pilot, screen, before)
        assert table_names(screen) == ["Paying Co"]
    assert await db.scalar("SELECT archived_at IS NOT NULL FROM customers") == 1
    assert await db.scalar("SELECT count(*) FROM ledger") == 1
    assert await db.scalar("SELECT action FROM audit_log ORDER BY id DESC") == "archive"


async def test_delete_erases_a_customer_without_money_history(db_path, db):
    await add_customers(db, ("Empty Co", "active", "USD"), ("Keep Co", "active", "USD"))
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        before = screen.render_count
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "ERASED" in str(app.screen.query_one("#message").render())
        await pilot.press("y")
        await rendered_after(pilot, screen, before)
        assert table_names(screen) == ["Keep Co"]
    assert await db.rows("SELECT name FROM customers") == [("Keep Co",)]
    assert await db.scalar("SELECT count(*) FROM audit_log WHERE action='erase'") == 1


async def test_delete_can_be_declined(db_path, db):
    await add_customers(db, ("Empty Co", "active", "USD"))
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), what="closed")
    assert await db.scalar("SELECT count(*) FROM customers") == 1


async def test_open_customer_tabs_edit_and_back(db_path, db):
    await add_customers(db, ("Acme Telecom", "active", "USD"))
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and app.screen.loaded, what="detail")
        detail = app.screen
        assert "Customers › Acme Telecom › Main" in str(detail.query_one("#crumb").render())
        header = str(detail.query_one("#header").render())
        assert "Active" in header and "Balance 0.00 USD" in header and "Channels 0/∞" in header
        await pilot.press("right_square_bracket")
        assert detail.active_tab == "stats"
        await pilot.press("0")
        assert detail.active_tab == "did"
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert detail.active_tab == "payments"
        assert "› Payments" in str(detail.query_one("#crumb").render())
        await wait_for(pilot, lambda: detail.query_one("#payments-tab").loaded,
                       what="payments")
        assert "No payments: press a" in str(
            detail.query_one("#payments-pane .pane-empty").render())
        await pilot.press("1", "e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        app.screen.query_one("#input-status", Select).value = "inactive"
        loaded = detail.loaded
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: detail.loaded > loaded, what="reload")
        assert "Inactive" in str(detail.query_one("#header").render())
        await pilot.press("escape")
        await list_ready(pilot)
    assert await db.scalar("SELECT status FROM customers") == "inactive"


async def test_help_lists_the_screen_bindings(db_path):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("question_mark")
        from connex_tui.screens.help import HelpScreen

        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        shown = "\n".join(screen_lines(app))
        for what in ("Search", "Filter", "Add", "Edit", "Delete", "Refresh", "Quit"):
            assert f" {what} " in shown
        await pilot.press("escape")
        await list_ready(pilot)


async def test_palette_goes_to_customer(db_path, db):
    await add_customers(db, ("Alpha", "active", "USD"), ("Zulu Carrier", "active", "USD"))
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("ctrl+p")
        await type_text(pilot, "zulu")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and app.screen.loaded, what="detail")
        assert app.screen.detail.name == "Zulu Carrier"


async def test_viewer_cannot_write(db_path, db):
    app = make_app(db_path, role="viewer")
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        await type_text(pilot, "Nope")
        await pilot.press("ctrl+s")
        form = app.screen
        await wait_for(pilot, lambda: "read-only" in str(
            form.query_one("#form-message").render()), what="refusal")
    assert await db.scalar("SELECT count(*) FROM customers") == 0


async def test_quit_asks_first(db_path):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await pilot.pause()
    assert app.return_code == 0


async def test_enter_moves_to_the_next_field_and_escape_asks_before_discarding(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        form = app.screen
        await type_text(pilot, "Half Typed")
        await pilot.press("enter")
        assert app.screen is form and app.focused is form.query_one("#input-status")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="discard?")
        await pilot.press("n")  # keep editing: the input is still there
        await wait_for(pilot, lambda: app.screen is form, what="back in the form")
        assert form.query_one("#input-name", Input).value == "Half Typed"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="discard?")
        await pilot.press("y")
        await list_ready(pilot)
    assert await db.scalar("SELECT count(*) FROM customers") == 0


async def test_search_finds_a_did_typed_with_plus_and_spaces(db_path, db):
    ids = await add_customers(db, ("Alpha Voice", "active", "USD"), ("Bravo Net", "active", "USD"))
    from sqlalchemy import insert

    from connex_tui.data import search
    from connex_tui.data.models import Did

    async with db.db.sessions() as s, s.begin():
        await s.execute(insert(Did).values(number="442079460000", customer_id=ids[0],
                                           version=1, created_at=FROZEN, updated_at=FROZEN))
        await search.reindex(s, ids)
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        await pilot.press("slash")
        await type_text(pilot, "+44 2079")
        await wait_for(pilot, lambda: table_names(screen) == ["Alpha Voice"], what="DID hit")
        await pilot.press("down")  # from the search box into the table
        assert app.focused is screen.table
        await pilot.press("escape")  # clears the search from the table too
        await wait_for(pilot, lambda: len(table_names(screen)) == 2, what="cleared")


async def test_new_customer_gets_the_cursor(db_path, db):
    await add_customers(db, *[(f"Carrier {i:02d}", "active", "USD") for i in range(30)])
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        await type_text(pilot, "Carrier 25b")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.selected_row() is not None
                       and screen.selected_row().name == "Carrier 25b", what="cursor on new")


async def test_audit_entry_opens_in_full(db_path, db):
    (cid,) = await add_customers(db, ("Acme Telecom", "active", "USD"))
    d = await db.customers.get(cid)
    await db.customers.update(cid, d.version, {**d.form_values(), "status": "penalty",
                                               "notes_private": "x" * 60})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and app.screen.loaded, what="detail")
        app.screen.query_one("#audit").focus()  # below the contacts: scrolled into view
        await pilot.pause()
        shown = "\n".join(screen_lines(app))
        assert "changed status active → penalty, private note none" in shown
        assert "created customer Acme Telecom" in shown  # sentences, not field dumps
        await pilot.press("enter")  # newest first: the update
        from connex_tui.widgets.text_view import TextScreen

        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="entry")
        body = str(app.screen.query_one("#text-body").render())
        assert "status: active → penalty" in body
        assert "x" * 60 in body  # not cut
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen), what="back")


async def test_ctrl_s_typed_ahead_saves_every_key_before_it(db_path, db):
    """Over a slow link keys arrive in a burst: ctrl+s (a priority key) must not save the
    name cut short."""
    from textual import events

    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
        for ch in "Blue Ocean VoIP\x13":
            key = {" ": "space", "\x13": "ctrl+s"}.get(ch, ch)
            app.post_message(events.Key(key, ch if ch.isprintable() else None))
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="saved")
    rows = await db.rows("SELECT name FROM customers")
    assert rows == [("Blue Ocean VoIP",)]
