"""The generic form, keys only: errors that go once fixed, enter and space on a switch, an
emptied tax %, focus visible under NO_COLOR, a form reused from one opening to the next."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static, Switch

from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.form import FormScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import Db, list_ready, type_text, wait_for


@pytest.fixture
async def db(db_path):
    d = Db(db_path)
    yield d
    await d.close()


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def open_add(pilot) -> FormScreen:
    await pilot.press("a")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, FormScreen)
                   and pilot.app.focused is not None, what="form")
    return pilot.app.screen


async def test_an_error_goes_when_its_field_is_edited_and_enter_leaves_a_switch(db_path, db):
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        form = await open_add(pilot)
        # name left empty, tax % emptied: both refused, nothing written
        form.query_one("#input-tax_percent", Input).value = ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "2 fields to fix" in text_of(form, "#form-message"),
                       what="errors")
        assert text_of(form, "#error-name") == "✗ required"
        assert text_of(form, "#error-tax_percent") == "✗ required: 0 for no tax"
        assert app.focused is form.query_one("#input-name")
        # typing into the name takes its error away at once; the other one stays
        await type_text(pilot, "Blue")
        await wait_for(pilot, lambda: text_of(form, "#error-name") == "", what="error gone")
        assert not form.query_one("#field-name").has_class("-invalid")
        assert text_of(form, "#form-message") == "1 field to fix"
        form.query_one("#input-tax_percent", Input).value = "20"
        await wait_for(pilot, lambda: text_of(form, "#error-tax_percent") == "",
                       what="tax error gone")
        assert form.query_one("#form-message").has_class("-blank")
        # enter on a switch moves on and leaves it as it was; space toggles it
        switch = form.query_one("#input-portal_access", Switch)
        switch.focus()
        await pilot.press("enter")
        assert switch.value is False
        assert app.focused is form.query_one("#input-website")
        await pilot.press("up")  # back to the switch, even in a list that scrolls
        assert app.focused is switch
        await pilot.press("space")
        assert switch.value is True
        assert str(form.query_one("#field-portal_access .switch-state").render()) == " yes"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="saved")
    assert await db.rows("SELECT name, tax_percent, portal_access FROM customers") == [
        ("Blue", 20_000_000, True)]


async def test_a_reopened_form_is_the_same_screen_reset_to_the_new_values(db_path, db):
    await db.customers.create({"name": "Acme Telecom", "status": "active", "currency": "EUR"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        form = await open_add(pilot)
        await type_text(pilot, "Typed Then Dropped")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="saved")
        first = form
        form = await open_add(pilot)
        assert form is first  # built once, reset on reopen
        assert form.query_one("#input-name", Input).value == ""
        assert app.focused is form.query_one("#input-name")
        form.query_one("#input-debit_limit", Input).value = "lots"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: text_of(form, "#error-debit_limit") != "", what="error")
        await pilot.press("escape")  # typed input: asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="closed")
        # the edit form is the same screen too, showing the customer and no stale error
        await pilot.press("e")
        await wait_for(pilot, lambda: app.screen is first and app.focused is not None,
                       what="edit form")
        assert "Edit customer: " in text_of(form, "#form-title")
        assert form.query_one("#input-debit_limit", Input).value == "0"
        assert text_of(form, "#error-debit_limit") == ""
        assert form.query_one("#form-message").has_class("-blank")
        assert form.query_one("#input-currency", Input).disabled
        await pilot.press("escape")  # nothing typed: closes at once
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="closed")
    assert sorted(r[0] for r in await db.rows("SELECT name FROM customers")) == [
        "Acme Telecom", "Typed Then Dropped"]


async def test_under_no_color_the_focused_field_is_marked_without_colour(db_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        form = await open_add(pilot)

        def underlined(selector: str) -> list[str]:
            strip = form.query_one(selector).render_line(0)
            return [seg.text for seg in strip if seg.style and seg.style.underline]

        await pilot.pause()
        assert app.no_color
        # the empty focused name shows an underlined cursor and an underlined label
        assert underlined("#input-name") == [" "]
        assert "Customer name" in "".join(underlined("#field-name .label"))
        await pilot.press("tab")
        assert underlined("#field-name .label") == []
        assert underlined("#input-name") == []


async def test_simulate_is_the_form_in_run_mode_enter_on_the_last_field_runs(demo_path):
    from connex_tui.screens.dialogs.simulate import ResultScreen, SimulateScreen
    from tests.ui.test_simulate import ACME_IP, palette_simulate

    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await palette_simulate(pilot)
        assert isinstance(dialog, FormScreen)  # one form implementation
        assert str(dialog.query_one("#save").label) == "Run ^s"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: text_of(dialog, "#error-number") == "✗ required",
                       what="errors")
        await type_text(pilot, "4930123456")
        await wait_for(pilot, lambda: text_of(dialog, "#error-number") == "", what="fixed")
        await pilot.press("enter")
        await type_text(pilot, "447700900123")
        await pilot.press("enter")
        await type_text(pilot, ACME_IP)
        await wait_for(pilot, lambda: text_of(dialog, "#error-ip") == "", what="ip fixed")
        assert dialog.query_one("#form-message").has_class("-blank")
        await pilot.press("enter", "enter", "enter")  # SIP user, password, switch IP
        assert app.focused is dialog.query_one("#input-switch_ip")
        await pilot.press("enter")  # the last field: runs
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), what="result")
        assert dialog.last is not None and dialog.last[1].customer == "Acme Telecom"
        await pilot.press("s")  # back to the inputs, kept
        await wait_for(pilot, lambda: app.screen is dialog, what="inputs")
        assert dialog.query_one("#input-number", Input).value == "4930123456"
        await pilot.press("escape")  # closes without asking
        await wait_for(pilot, lambda: not isinstance(app.screen, SimulateScreen), what="closed")


async def test_a_slow_regex_is_warned_under_its_field_and_saved_only_once_confirmed(db_path,
                                                                                  db):
    from connex_tui.data.access import Actor
    from connex_tui.data.rate_cards import RatesService
    from tests.ui.conftest import frozen_clock
    from tests.ui.test_routing_tab import open_tab

    await db.customers.create({"name": "Acme Telecom", "status": "active", "currency": "USD"})
    await RatesService(db.db, Actor("other", "admin"), frozen_clock).create_card(
        {"name": "ACME-STD", "currency": "USD", "direction": "customer"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_tab(pilot, "3", "routing-tab")
        await pilot.press("tab", "a")  # a CLI rule
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen)
                       and app.focused is app.screen.query_one("#input-cli"), what="form")
        form = app.screen
        form.query_one("#input-cli", Input).value = "^(1|11)+5$"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "needs the slow regex engine" in text_of(form, "#error-cli")
        assert text_of(form, "#error-cli").startswith("⚠ /^(1|11)+5$/")
        await pilot.press("n")  # back to the form: nothing written
        await wait_for(pilot, lambda: app.screen is form, what="form again")
        assert await db.scalar("SELECT count(*) FROM cli_rules") == 0
        await pilot.press("ctrl+s", "y")
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen | ConfirmScreen)
                       and tab.loaded > 1, what="saved")
        # a route whose dial string has a slow line: warned the same way; a cheap one is not
        await pilot.press("shift+tab", "a")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen)
                       and app.screen.query("#input-dial_string"), what="route form")
        route = app.screen
        route.query_one("#input-dial_string").load_text("^44\n(\\d+)+$")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        assert "/(\\d+)+$/ needs the slow regex engine" in text_of(route, "#error-dial_string")
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is route, what="route form again")
        route.query_one("#input-dial_string").load_text("^44")  # editing takes it away
        await wait_for(pilot, lambda: text_of(route, "#error-dial_string") == "", what="gone")
        await pilot.press("ctrl+s")  # no warning: saved at once
        await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="saved")
    assert await db.rows("SELECT cli FROM cli_rules") == [("^(1|11)+5$",)]
    assert await db.rows("SELECT dial_string FROM ingress_routes") == [("^44",)]
