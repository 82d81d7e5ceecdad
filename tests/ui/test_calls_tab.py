"""Calls tab on demo data, keys only: simulate (allowed and rejected), search, reopen."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from textual.widgets import Input, Static

from connex_tui.screens.customer_detail.calls_tab import CallsTab
from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.screens.dialogs.simulate import ResultScreen, SimulateScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import Db, list_ready, type_text, wait_for

ACME_IP = "198.51.100.122"  # Acme Telecom's ingress IP in the demo data (seed 7)


@pytest.fixture
async def db(demo_path):
    d = Db(demo_path)
    yield d
    await d.close()


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def block_text(screen, selector: str) -> str:
    """The label/value rows of the result's summary or trace, one line each."""
    return "\n".join(" ".join(str(s.render()) for s in pair.query(Static))
                     for pair in screen.query(f"{selector} .pair"))


async def open_calls(pilot, name: str = "Acme Telecom") -> CallsTab:
    """From the list: search the name, open it, press 5 (Calls)."""
    await list_ready(pilot)
    await pilot.press("slash")
    await type_text(pilot, name)
    await pilot.press("enter", "enter")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                   and app.screen.loaded > 0, what="customer screen")
    await pilot.press("5")
    await wait_for(pilot, lambda: app.screen.query_one(CallsTab).loads > 0, what="calls")
    return app.screen.query_one(CallsTab)


async def simulate(pilot, number: str, cli: str) -> ResultScreen:
    """In the open Simulate dialog: replace number and CLI, run with ctrl+s."""
    app = pilot.app
    await pilot.press("ctrl+a", "ctrl+k")  # the number field has the focus
    await type_text(pilot, number)
    await pilot.press("enter", "ctrl+a", "ctrl+k")
    await type_text(pilot, cli)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), what="result")
    return app.screen


def table_column(tab: CallsTab, label: str) -> list[str]:
    t = tab.table
    col = [c.label.plain for c in t.ordered_columns].index(label)
    return [str(t.get_row_at(i)[col]) for i in range(t.row_count)]


SIMS = "SELECT dialled, sip_code, customer_id, detail IS NOT NULL FROM cdrs WHERE simulated"


async def test_simulate_allowed_then_rejected_both_listed_and_stored(demo_path, db):
    seeded = await db.rows(SIMS)  # the demo has a few simulations of its own
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_calls(pilot)
        assert tab.rows and not any(r.simulated for r in tab.rows)  # demo CDRs only
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SimulateScreen), what="dialog")
        dialog = app.screen
        await wait_for(pilot, lambda: dialog.query_one("#input-ip", Input).value == ACME_IP,
                       what="IP preset")

        result = await simulate(pilot, "4930123456", "447700900123")
        headline = text_of(result, "#headline")
        assert headline.startswith("✓ ALLOW")
        assert "would connect via" in headline and "0.0072 USD/min" in headline
        providers = block_text(result, "#providers")
        names = [p.name for p in result.result.providers]
        assert names and all(n[:18] in providers for n in names)
        assert "Germany Fixed" in block_text(result, "#summary")
        trace = block_text(result, "#trace")
        assert len(result.result.trace) >= 8 and all(line in trace
                                                     for line in result.result.trace)

        await pilot.press("s")  # back to the inputs, kept; change the number, run again
        await wait_for(pilot, lambda: app.screen is dialog, what="dialog again")
        result = await simulate(pilot, "33123456789", "447700900123")
        headline = text_of(result, "#headline")
        assert headline.startswith("✗ REJECT")
        assert "rejected: 503 Blocked by Dial Plan" in headline
        assert block_text(result, "#providers").strip() == "none"

        loads = tab.loads
        await pilot.press("escape")  # closes the result and the dialog
        await wait_for(pilot, lambda: tab.loads > loads, what="calls reloaded")
        assert isinstance(app.screen, CustomerDetailScreen)
        top = tab.rows[:2]
        assert [r.dialled for r in top] == ["33123456789", "4930123456"]
        assert all(r.simulated and r.call_id.startswith("SIM-") for r in top)
        assert table_column(tab, "Call id")[0].startswith("SIM-")
        assert table_column(tab, "SIP")[:2] == ["503 Blocked…", "200 OK"]
    rows = await db.rows(SIMS + " ORDER BY id")
    assert rows == seeded + [("4930123456", 200, 1, 1), ("33123456789", 503, 1, 1)]


async def test_search_filters_and_enter_reopens_a_simulation(demo_path, db):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_calls(pilot)
        shown = len(tab.rows)
        some_cdr = tab.rows[3]

        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SimulateScreen), what="dialog")
        await wait_for(pilot, lambda: app.screen.query_one("#input-ip", Input).value,
                       what="IP preset")
        await simulate(pilot, "4930555", "447700900999")
        loads = tab.loads
        await pilot.press("escape")
        await wait_for(pilot, lambda: tab.loads > loads, what="reload")

        loads = tab.loads
        await pilot.press("slash")
        await type_text(pilot, some_cdr.dialled)
        await wait_for(pilot, lambda: tab.loads > loads and not tab._loading, what="search")
        assert [r.call_id for r in tab.rows] == [some_cdr.call_id]
        assert "1 match" in text_of(tab, "#calls-count")

        loads = tab.loads
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "SIM-")
        await wait_for(pilot, lambda: tab.loads > loads and not tab._loading
                       and tab.query_text == "SIM-", what="search SIM")
        assert [r.dialled for r in tab.rows] == ["4930555"]

        await pilot.press("enter", "enter")  # leave the search box, open the row
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), what="reopened")
        assert app.screen.call_id == tab.rows[0].call_id
        assert "would connect via" in text_of(app.screen, "#headline")
        assert "447700900999" in text_of(app.screen, "#result-title")

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen), what="back")
        loads = tab.loads
        await pilot.press("escape")  # esc clears the search, stays on the customer
        await wait_for(pilot, lambda: tab.loads > loads and not tab._loading, what="cleared")
        assert isinstance(app.screen, CustomerDetailScreen)
        assert len(tab.rows) == min(shown + 1, 100)


async def test_enter_on_a_real_cdr_shows_its_fields(demo_path):
    from connex_tui.widgets.text_view import TextScreen

    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await open_calls(pilot)
        first = tab.rows[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="CDR")
        body = str(app.screen.query_one("#text-body", Static).render())
        assert first.dialled in body and f"{first.sip_code} {first.sip_reason}" in body


async def test_empty_number_is_shown_beside_the_field_and_nothing_is_stored(demo_path, db):
    seeded = len(await db.rows(SIMS))
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_calls(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SimulateScreen), what="dialog")
        dialog = app.screen
        await wait_for(pilot, lambda: dialog.query_one("#input-ip", Input).value, what="IP")
        await pilot.press("tab", "tab")  # number left empty -> IP
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "10.0.0.300")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "fix" in text_of(dialog, "#form-message"),
                       what="errors")
        assert text_of(dialog, "#error-number") == "✗ required"
        assert text_of(dialog, "#error-ip").startswith("✗ not an IP address")
        assert app.focused is dialog.query_one("#input-number")
        assert app.screen is dialog  # no result: nothing ran
    assert len(await db.rows(SIMS)) == seeded


async def test_cdr_text_with_brackets_is_shown_as_typed(demo_path, db):
    """A switch's CDR fields are not markup: '[/]' must neither crash nor vanish."""
    async with db.db.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE cdrs SET cli_in = '[/]44', cli_out = '[b]x', destination = '[red]Odd' "
            "WHERE call_id = (SELECT call_id FROM cdrs WHERE customer_id = 1 "
            "AND NOT simulated ORDER BY started_at DESC LIMIT 1)"))
    app = make_app(demo_path)
    async with app.run_test(size=(160, 40)) as pilot:  # wide enough for every column
        await open_calls(pilot)
        await pilot.pause()
        screen = app.export_screenshot()  # rendered: markup would drop or crash on these
        assert "[red]Odd" in screen and "[/]44" in screen


def test_a_wider_terminal_shows_more_columns_and_more_of_each_number():
    from connex_tui.screens.customer_detail.calls_tab import COLUMNS, column_widths

    at80, at120, at160 = column_widths(80), column_widths(120), column_widths(160)

    def shown(widths, total):  # whole columns that fit from the left (cell padding 2)
        used, n = 2, 0
        for w in widths:
            used += w + 2
            if used > total:
                break
            n += 1
        return n

    assert shown(at80, 80) == 6 and shown(at120, 120) == 8 and shown(at160, 160) == len(COLUMNS)
    assert at120[1] > at80[1] and at160[1] > at80[1]  # Number grows with the terminal
    for widths, total in ((at80, 80), (at120, 120), (at160, 160)):  # and fills it
        n = shown(widths, total)
        assert total - 4 <= 2 + sum(w + 2 for w in widths[:n]) <= total
