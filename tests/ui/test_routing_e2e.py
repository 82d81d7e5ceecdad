"""End to end, keys only: on a fresh customer whose card has rows and a parent provider card,
add an IP entry (Auth), a route with a dial string and a whitelist CLI rule (Routing), then
simulate (Calls) a call that passes and one that each of the three blocks. What the
keystrokes wrote and the SIM CDRs are checked in the database afterwards."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from connex_tui.data.access import Actor
from connex_tui.data.providers import ProvidersService
from connex_tui.data.rate_cards import RatesService
from connex_tui.screens.customer_detail.calls_tab import CallsTab
from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.screens.dialogs.simulate import ResultScreen, SimulateScreen
from tests.ui.conftest import frozen_clock, make_app
from tests.ui.helpers import Db, type_text, wait_for
from tests.ui.test_calls_tab import block_text, text_of
from tests.ui.test_routing_tab import cell_texts, form_open, open_tab, saved

IP = "198.51.100.7"
OTHER_IP = "198.51.100.8"
UK_NUMBER = "4420"
DE_NUMBER = "4930"
UK_CLI = "447"
FR_CLI = "336"


@pytest.fixture
async def db(db_path):
    """A customer with credit and nothing else; a customer card with UK and German rows
    whose parent is a provider card that covers both (so only the route, the IP entry and
    the CLI rule can stop a call)."""
    d = Db(db_path)
    rates = RatesService(d.db, Actor("other", "admin"), frozen_clock)
    await ProvidersService(d.db, Actor("other", "admin"), frozen_clock).create_provider({"name": "Carrier A", "host": "203.0.113.10"})
    buy = await rates.create_card({"name": "CARRIER-A", "currency": "USD",
                                   "direction": "provider", "provider": "Carrier A"})
    sell = await rates.create_card({"name": "RETAIL", "currency": "USD",
                                    "direction": "customer", "parents": "CARRIER-A"})
    for card, uk, de in ((buy, "0.0060", "0.0080"), (sell, "0.0125", "0.0150")):
        await rates.add_row(card, {"prefix": "44", "destination": "UK", "rate": uk})
        await rates.add_row(card, {"prefix": "49", "destination": "Germany", "rate": de})
    d.customer_id = await d.customers.create({"name": "Fresh Telecom", "status": "active",
                                              "currency": "USD", "debit_limit": "50"})
    yield d
    await d.close()


async def add_by_form(pilot, tab, text: str, *, first: tuple[str, ...] = ()) -> None:
    """`a` in the focused pane; in the form the `first` keys, then the text typed, then
    ctrl+s; waits for the form to close and the tab to reload."""
    before = tab.loaded
    await pilot.press("a")
    await form_open(pilot)
    await pilot.press(*first)
    await type_text(pilot, text)
    await pilot.press("ctrl+s")
    await saved(pilot, tab, before)


async def run_call(pilot, **fields: str | tuple[str, ...]) -> tuple[str, str]:
    """In the Simulate dialog (focus on the number): change the fields given (number, cli,
    ip; a text replaces the value, a tuple is keys that edit it), keep the others; run;
    return the headline and providers shown, then `s` back to the inputs. Every key costs
    a Pilot round trip (~80 ms), so the values are short and only the changes are typed."""
    app = pilot.app
    for i, name in enumerate(("number", "cli", "ip")):
        if i:
            await pilot.press("enter")
        if isinstance(fields.get(name), tuple):
            await pilot.press(*fields[name])
        elif name in fields:
            await pilot.press("ctrl+a", "ctrl+k")
            await type_text(pilot, fields[name])
        if name == list(fields)[-1]:
            break
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen)
                   and app.screen.query("#headline"), what="result")  # composed, not only pushed
    shown = text_of(app.screen, "#headline"), block_text(app.screen, "#providers")
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, SimulateScreen)
                   and app.focused is app.screen.query_one("#input-number"), what="inputs")
    return shown


async def test_keyboard_setup_then_one_call_passes_and_each_entry_blocks_one(db_path, db):
    app = make_app(db_path)
    flashes: list[str] = []  # every status line, kept: a toast lasts 3 s, a busy machine is slower
    show = app.flash
    app.flash = lambda message, **kw: (flashes.append(str(message)), show(message, **kw))[1]
    async with app.run_test(size=(80, 24)) as pilot:
        auth = await open_tab(pilot, "4", "auth-tab")
        await add_by_form(pilot, auth, IP)
        assert cell_texts(auth.query_one("#ip-auth"))[0][0] == IP

        await pilot.press("3")
        routing = app.screen.query_one("#routing-tab")
        await wait_for(pilot, lambda: routing.loaded > 0, what="routing tab")
        # rate card: the only customer card, preselected; tech prefix empty; dial string
        await add_by_form(pilot, routing, "^44", first=("tab", "tab"))
        assert cell_texts(routing.query_one("#routes")) == [
            ["(none)", "RETAIL", "∞", "∞", "^44", "yes"]]
        await pilot.press("tab")  # the CLI pane
        await add_by_form(pilot, routing, r"^44\d+")
        assert cell_texts(routing.query_one("#cli-rules"))[0][1] == r"^44\d+"
        assert any("Route without tech prefix added" in f for f in flashes)

        await pilot.press("5")
        calls = app.screen.query_one(CallsTab)
        await wait_for(pilot, lambda: calls.loads > 0, what="calls tab")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SimulateScreen), what="dialog")
        dialog = app.screen
        await wait_for(pilot, lambda: dialog.query_one("#input-ip", Input).value == IP,
                       what="IP preset to the new entry")

        # each call differs from the passing one in one respect
        headline, providers = await run_call(pilot, number=UK_NUMBER, cli=UK_CLI)  # IP preset
        assert "would connect via 1 provider at 0.0125 USD/min" in headline
        assert providers.splitlines()[-1].split() == [  # cost and margin per minute
            "1.", "Carrier", "A", "CARRIER-A", "0.0060", "0.0000", "0.0065"]
        headline, providers = await run_call(pilot, cli=FR_CLI)
        assert "rejected: 403 CLI Restriction In Effect" in headline
        assert providers.strip() == "none"
        headline, _ = await run_call(pilot, number=DE_NUMBER, cli=UK_CLI)
        assert "rejected: 503 Blocked by Dial Plan" in headline
        headline, _ = await run_call(pilot, number=UK_NUMBER, ip=("end", "backspace", "8"))
        assert "rejected: 403 IP Not Authorised" in headline
        loads = calls.loads
        await pilot.press("escape")  # Latest Calls lists the four, newest first
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and calls.loads > loads and not calls._loading, what="calls reloaded")
        assert [(r.dialled, r.sip_code) for r in calls.rows] == [
            (UK_NUMBER, 403), (DE_NUMBER, 503), (UK_NUMBER, 403), (UK_NUMBER, 200)]
        assert all(r.simulated and r.call_id.startswith("SIM-") for r in calls.rows)

    cid = db.customer_id
    assert await db.rows("SELECT customer_id, host, direction FROM ip_auth") == [
        (cid, IP, "ingress")]
    assert await db.rows("SELECT i.customer_id, c.name, i.tech_prefix, i.dial_string, "
                         "i.enabled FROM ingress_routes i JOIN rate_cards c "
                         "ON c.id = i.rate_card_id") == [(cid, "RETAIL", "", "^44", True)]
    assert await db.rows("SELECT customer_id, cli, rewrite_cli, forced FROM cli_rules") == [
        (cid, r"^44\d+", "", False)]
    sims = await db.rows("SELECT customer_id, dialled, cli_in, source_ip, sip_code, "
                         "sip_reason FROM cdrs WHERE simulated ORDER BY id")
    assert sims == [
        (cid, UK_NUMBER, UK_CLI, IP, 200, "OK"),
        (cid, UK_NUMBER, FR_CLI, IP, 403, "CLI Restriction In Effect"),
        (cid, DE_NUMBER, UK_CLI, IP, 503, "Blocked by Dial Plan"),
        (cid, UK_NUMBER, UK_CLI, OTHER_IP, 403, "IP Not Authorised"),
    ]
