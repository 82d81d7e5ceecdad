"""Routing tab journeys, keys only: ingress routes, CLI rules, the rate card view.
The database is checked afterwards."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static, TextArea

from connex_tui.data.access import Actor
from connex_tui.data.rates import RatesService
from connex_tui.data.routes import RoutesService
from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.screens.dialogs.rate_card_view import RateCardScreen
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.form import FormScreen
from tests.ui.conftest import frozen_clock, make_app
from tests.ui.helpers import Db, list_ready, wait_for

OTHER = Actor("other", "admin")


@pytest.fixture
async def db(db_path):
    d = Db(db_path)
    d.rates = RatesService(d.db, OTHER, frozen_clock)
    d.routes = RoutesService(d.db, OTHER, frozen_clock)
    d.customer_id = await d.customers.create({"name": "Acme Telecom", "status": "active",
                                              "currency": "USD"})
    await d.rates.create_card({"name": "ACME-STD", "currency": "USD",
                               "direction": "customer"})
    yield d
    await d.close()


async def open_tab(pilot, digit: str, tab_id: str):
    """From the list, open the (only) customer and go to a tab by its digit; returns
    the tab once it has loaded, with the focus in its first pane."""
    await list_ready(pilot)
    await pilot.press("enter")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                   and app.screen.loaded > 0, what="customer screen")
    await pilot.press(digit)
    await wait_for(pilot, lambda: app.screen.query_one(f"#{tab_id}").loaded > 0,
                   what=f"{tab_id} loaded")
    return app.screen.query_one(f"#{tab_id}")


async def form_open(pilot) -> FormScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FormScreen), what="form")
    return pilot.app.screen


async def saved(pilot, tab, before: int) -> None:
    await wait_for(pilot, lambda: not isinstance(pilot.app.screen, FormScreen)
                   and tab.loaded > before, what="form saved, tab reloaded")


def flashed(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def cell_texts(table) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_add_route_by_keyboard(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        assert app.focused is tab.query_one("#routes")
        assert "No ingress routes: press a" in str(
            tab.query_one("#routes-pane .pane-empty", Static).render())
        before = tab.loaded
        await pilot.press("a")
        form = await form_open(pilot)
        assert form.query_one("#input-rate_card").value == "ACME-STD"
        await pilot.press("tab", *"1111#", "tab", *"44", "enter", *"^33(1|2)")
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        rows = cell_texts(tab.query_one("#routes"))
        assert rows == [["1111#", "ACME-STD", "∞", "∞", "44…", "yes"]]
        assert "Route 1111# added" in flashed(app)
    assert await db.rows("SELECT tech_prefix, dial_string, enabled, max_duration, customer_id "
                         "FROM ingress_routes") == [
        ("1111#", "44\n^33(1|2)", True, 7200, db.customer_id)]


async def test_edit_route(db_path, db):
    rid = await db.routes.create_route(db.customer_id, {"rate_card": "ACME-STD",
                                                        "tech_prefix": "77"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        before = tab.loaded
        await pilot.press("e")
        form = await form_open(pilot)
        assert form.query_one("#input-tech_prefix", Input).value == "77"
        await pilot.press("tab", "tab", "tab", "tab")  # -> enabled -> channels
        assert app.focused is form.query_one("#input-channels")
        await pilot.press("ctrl+a", "ctrl+k", "3", "0")
        await pilot.press("shift+tab", "space")  # enabled: off
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        assert cell_texts(tab.query_one("#routes"))[0][2] == "30"
        assert cell_texts(tab.query_one("#routes"))[0][5] == "no"
    assert await db.rows("SELECT id, channels, enabled, version FROM ingress_routes") == [
        (rid, 30, False, 2)]


async def test_delete_route_asks_first(db_path, db):
    await db.routes.create_route(db.customer_id, {"rate_card": "ACME-STD",
                                                  "tech_prefix": "77"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "Delete Route 77?" in str(app.screen.query_one("#title", Static).render())
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen),
                       what="kept")
        assert await db.scalar("SELECT count(*) FROM ingress_routes") == 1
        before = tab.loaded
        await pilot.press("delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: tab.loaded > before, what="reloaded")
        assert tab.query_one("#routes").row_count == 0
        assert "Route 77 deleted" in flashed(app)
    assert await db.scalar("SELECT count(*) FROM ingress_routes") == 0


async def test_bad_route_input_is_shown_beside_the_field_and_nothing_is_written(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "3", "routing-tab")
        await pilot.press("a")
        form = await form_open(pilot)
        await pilot.press("tab", *"12a", "tab", *"^44(")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "fix" in str(form.query_one("#form-message").render()),
                       what="errors")
        assert "digits, * and #" in str(form.query_one("#error-tech_prefix").render())
        assert "line 1" in str(form.query_one("#error-dial_string").render())
        assert form.query_one("#input-tech_prefix", Input).value == "12a"  # input kept
        assert form.query_one("#input-dial_string", TextArea).text == "^44("
        assert app.focused is form.query_one("#input-tech_prefix")
    assert await db.scalar("SELECT count(*) FROM ingress_routes") == 0


async def test_stale_route_save_keeps_the_input(db_path, db):
    rid = await db.routes.create_route(db.customer_id, {"rate_card": "ACME-STD",
                                                        "tech_prefix": "77"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "3", "routing-tab")
        await pilot.press("e")
        form = await form_open(pilot)
        row = await db.routes.route(rid)  # someone else saves first
        await db.routes.update_route(rid, row.version, {**row.form_values(),
                                                        "channels": "5"})
        await pilot.press("tab", "end", "9")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "someone else" in str(
            form.query_one("#form-message").render()), what="stale message")
        assert app.screen is form
        assert form.query_one("#input-tech_prefix", Input).value == "779"
    assert await db.rows("SELECT tech_prefix, channels FROM ingress_routes") == [("77", 5)]


async def test_add_cli_rule_in_the_second_pane(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        await pilot.press("tab")
        assert app.focused is tab.query_one("#cli-rules")
        before = tab.loaded
        await pilot.press("a")
        await form_open(pilot)
        await pilot.press(*r"^44(\d+)$", "tab", *r"0\1", "tab", *"441234")
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        assert cell_texts(tab.query_one("#cli-rules")) == [
            ["0", r"^44(\d+)$", r"0\1", "441234", ""]]
        assert app.focused is tab.query_one("#cli-rules")
    assert await db.rows("SELECT cli, rewrite_cli, p_asserted_id, forced FROM cli_rules") == [
        (r"^44(\d+)$", r"0\1", "441234", False)]


async def test_bad_cli_rule_is_refused(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "3", "routing-tab")
        await pilot.press("tab", "a")
        form = await form_open(pilot)
        await pilot.press(*"^44(")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "fix" in str(form.query_one("#form-message").render()),
                       what="errors")
        assert str(form.query_one("#error-cli").render()).startswith("✗ ")
        assert app.focused is form.query_one("#input-cli")
    assert await db.scalar("SELECT count(*) FROM cli_rules") == 0


async def test_view_card_searches_by_prefix_and_pages(db_path, db):
    card = await db.rates.card_by_name("ACME-STD")
    async with db.db.engine.begin() as conn:  # 450 rows: more than two pages
        from sqlalchemy import text

        await conn.execute(text(
            "INSERT INTO rate_rows (card_id, prefix, destination, rate, connect_fee, mcd, "
            "pulse, blocked) VALUES (:c, :p, :d, 12000, 0, 60, 60, 0)"),
            [{"c": card.id, "p": f"44{i:03d}", "d": f"UK {i}"} for i in range(400)]
            + [{"c": card.id, "p": f"33{i:02d}", "d": f"France {i}"} for i in range(50)])
    await db.routes.create_route(db.customer_id, {"rate_card": "ACME-STD"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "3", "routing-tab")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, RateCardScreen)
                       and app.screen.loaded > 0, what="card view")
        view = app.screen
        table = view.table
        assert table.row_count == 200
        assert str(view.query_one("#card-count").render()) == "450 rows"
        assert cell_texts(table)[0][:3] == ["3300", "France 0", "0.0120"]
        await pilot.press("end")  # near the end of the page: the next one comes
        await wait_for(pilot, lambda: table.row_count == 400, what="second page")
        await pilot.press("end")
        await wait_for(pilot, lambda: table.row_count == 450, what="last page")
        assert [r.prefix for r in table.rows_shown] == sorted(r.prefix
                                                              for r in table.rows_shown)
        loaded = view.loaded
        await pilot.press("slash", "4", "4", "1", "2")
        await wait_for(pilot, lambda: view.loaded > loaded and view.prefix == "4412",
                       what="filtered")
        assert [r[0] for r in cell_texts(table)] == [f"44{i}" for i in range(120, 130)]
        assert str(view.query_one("#card-count").render()) == "10 rows starting 4412"
        await pilot.press("escape")  # search -> table
        assert app.focused is table
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen),
                       what="back")


async def test_enter_edits_a_cli_rule(db_path, db):
    await db.routes.create_cli_rule(db.customer_id, {"cli": "^44"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        before = tab.loaded
        await pilot.press("tab", "enter")
        form = await form_open(pilot)
        assert form.query_one("#input-cli", Input).value == "^44"
        await pilot.press("tab", *"0044")
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        assert "CLI rule ^44 saved" in flashed(app)
    assert await db.rows("SELECT cli, rewrite_cli, version FROM cli_rules") == [
        ("^44", "0044", 2)]


async def test_viewer_is_told_and_no_form_opens(db_path, db):
    await db.routes.create_route(db.customer_id, {"rate_card": "ACME-STD"})
    app = make_app(db_path, role="viewer")
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        await pilot.press("a", "e", "ctrl+d")
        await pilot.pause()
        assert isinstance(app.screen, CustomerDetailScreen)
        assert any("read-only" in m for m in flashed(app))
        assert tab.query_one("#routes").row_count == 1  # viewers still see the routes
    assert await db.scalar("SELECT count(*) FROM ingress_routes") == 1


async def test_a_pattern_that_looks_like_markup_is_shown_as_typed(db_path, db):
    await db.routes.create_cli_rule(db.customer_id, {"cli": "^44[/]x[b]"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        await pilot.press("tab", "delete")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert str(app.screen.query_one("#title", Static).render()) == \
            "Delete CLI rule ^44[/]x[b]?"
        before = tab.loaded
        await pilot.press("y")
        await wait_for(pilot, lambda: tab.loaded > before, what="deleted")
        assert "CLI rule ^44\\[/]x\\[b] deleted" in flashed(app)  # escaped markup
    assert await db.scalar("SELECT count(*) FROM cli_rules") == 0


async def test_card_names_that_look_like_markup_in_the_route_form(db_path, db):
    await db.rates.create_card({"name": "Std [/] B", "currency": "USD",
                                "direction": "customer"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        before = tab.loaded
        await pilot.press("a")
        await form_open(pilot)
        await pilot.press("enter", "down", "enter")  # open the select, take the 2nd card
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        assert cell_texts(tab.query_one("#routes"))[0][1] == "Std [/] B"
    assert await db.rows("SELECT r.name FROM ingress_routes i JOIN rate_cards r "
                         "ON r.id = i.rate_card_id") == [("Std [/] B",)]
