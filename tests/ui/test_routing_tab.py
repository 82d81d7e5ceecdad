"""Routing tab journeys, keys only: ingress routes, CLI rules, the rate card view.
The database is checked afterwards."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static, TextArea

from connex_tui.data.access import Actor
from connex_tui.data.cli_rules import CliRulesService
from connex_tui.data.rate_cards import RatesService
from connex_tui.data.routes import RoutesService
from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.screens.rate_card import RateCardScreen
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
    d.rules = CliRulesService(d.db, OTHER, frozen_clock)
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
            ["1", r"^44(\d+)$", r"0\1", "441234", ""]]
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
    await db.rules.create_cli_rule(db.customer_id, {"cli": "^44"})
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
    await db.rules.create_cli_rule(db.customer_id, {"cli": "^44[/]x[b]"})
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


# -- walkthrough at 80x24: focus, type-ahead, hints ---------------------------------------
def burst(app, *keys: str) -> None:
    """Keys typed faster than the app handles them (type-ahead over a slow link)."""
    from textual import events

    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


@pytest.mark.parametrize(("digit", "tab_id", "panes"), [
    ("3", "routing-tab", ("routes", "cli-rules")), ("4", "auth-tab", ("ip-auth", "sip-users"))])
async def test_tab_cycles_between_the_two_panes_never_the_tab_bar(db_path, db, digit, tab_id,
                                                                   panes):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, digit, tab_id)
        first, second = (tab.query_one(f"#{p}") for p in panes)
        for key, expected in (("tab", second), ("tab", first), ("shift+tab", second),
                              ("shift+tab", first), ("shift+tab", second)):
            await pilot.press(key)
            assert app.focused is expected, key
        await pilot.press("ctrl+d")  # the pane is empty: nothing to delete, no archiving
        await pilot.pause()
        assert isinstance(app.screen, CustomerDetailScreen)
        assert any("Nothing selected" in m for m in flashed(app))


async def test_main_tab_starts_in_the_contacts_then_tab_to_history(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and app.screen.loaded > 0, what="customer screen")
        assert app.focused is app.screen.query_one("#contacts")
        await pilot.press("tab")
        assert app.focused is app.screen.query_one("#audit")
        await pilot.press("tab")
        assert app.focused is app.screen.query_one("#contacts")


@pytest.mark.parametrize("key", ["a", "e"])
async def test_keys_right_after_a_do_not_act_on_the_screen_behind(db_path, db, key):
    await db.routes.create_route(db.customer_id, {"rate_card": "ACME-STD",
                                                  "tech_prefix": "77"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "3", "routing-tab")
        screen = app.screen
        burst(app, key, "5", "ctrl+d", "left_square_bracket")
        await form_open(pilot)
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert screen.active_tab == "routing"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="form closed")
        assert screen.active_tab == "routing"
    assert await db.scalar("SELECT count(*) FROM ingress_routes") == 1


async def test_cli_rules_are_numbered_from_one_in_evaluation_order(db_path, db):
    async with db.db.engine.begin() as conn:  # stored positions with gaps (older data)
        from sqlalchemy import text

        await conn.execute(text(
            "INSERT INTO cli_rules (customer_id, cli, rewrite_cli, p_asserted_id, forced, "
            "position, version, created_at, updated_at) VALUES (:c, :cli, '', '', 0, :p, 1, "
            "'2026-11-01 00:00:00', '2026-11-01 00:00:00')"),
            [{"c": db.customer_id, "cli": "^49", "p": 9}, {"c": db.customer_id, "cli": "^44",
                                                         "p": 5}])
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        assert [row[:2] for row in cell_texts(tab.query_one("#cli-rules"))] == [
            ["1", "^44"], ["2", "^49"]]


async def test_cli_rules_pane_says_when_it_is_a_whitelist(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        title = tab.query_one("#cli-rules-pane .pane-title", Static)
        assert "whitelist" not in str(title.render())
        await pilot.press("tab", "a")
        form = await form_open(pilot)
        assert "rejected" in str(form.query_one("#field-cli .help", Static).render())
        before = tab.loaded
        await pilot.press(*"^44")
        await pilot.press("ctrl+s")
        await saved(pilot, tab, before)
        assert "a CLI matching no rule is rejected" in str(title.render())
        await db.rules.create_cli_rule(db.customer_id, {"forced": True,
                                                         "rewrite_cli": "4420"})
        before = tab.loaded
        await pilot.press("r")
        await wait_for(pilot, lambda: tab.loaded > before, what="reloaded")
        assert "a CLI matching no rule gets the forced one" in str(title.render())


async def test_route_form_offers_customer_cards_in_the_customer_currency(db_path, db):
    await db.rates.create_card({"name": "AAA-CAD", "currency": "CAD",
                                "direction": "customer"})
    await db.rates.create_card({"name": "ZZ-USD", "currency": "USD",
                                "direction": "customer"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        before = tab.loaded
        await pilot.press("a")
        form = await form_open(pilot)
        select = form.query_one("#input-rate_card")
        assert select.value == "ACME-STD"
        await pilot.press("enter")  # open the select: what can be chosen
        from textual.widgets._select import SelectOverlay

        overlay = select.query_one(SelectOverlay)
        assert [str(overlay.get_option_at_index(i).prompt)
                for i in range(overlay.option_count)] == ["ACME-STD", "ZZ-USD"]
        await pilot.press("escape", "ctrl+s")  # saved without choosing a card
        await saved(pilot, tab, before)
    assert await db.rows("SELECT r.name FROM ingress_routes i JOIN rate_cards r "
                         "ON r.id = i.rate_card_id") == [("ACME-STD",)]


async def test_strategy_box_shows_three_rows_at_80x24(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "3", "routing-tab")
        await pilot.press("a")
        form = await form_open(pilot)
        area = form.query_one("#input-strategy", TextArea)
        area.focus()
        await pilot.press(*"44 priority", "enter", *"33 lcr", "enter", *"* lcr")
        await pilot.pause()
        assert area.text == "44 priority\n33 lcr\n* lcr"
        assert area.size.height >= 4  # the three rows and room for a fourth
        assert area.scroll_offset.y == 0


async def test_no_card_in_the_customer_currency_says_so(db_path, db):
    async with db.db.engine.begin() as conn:  # the only customer card is in USD
        from sqlalchemy import text

        await conn.execute(text("UPDATE customers SET currency = 'EUR'"))
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        await pilot.press("a")
        await wait_for(pilot, lambda: any("No customer rate card in EUR" in m
                                          for m in flashed(app)), what="flash")
        await pilot.pause()
        assert app.screen is tab.screen  # no form, and the cover is gone
