""""Simulate call…" from the command palette: the customer is found as the switch finds it."""

from __future__ import annotations

from textual.widgets import Input, Static

from connex_tui.screens.customer_detail.calls_tab import CallsTab
from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.screens.customer_list import CustomerListScreen
from connex_tui.screens.dialogs.simulate import ResultScreen, SimulateScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import Db, list_ready, type_text, wait_for

ACME_IP = "198.51.100.122"


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def block_text(screen, selector: str) -> str:
    """The label/value rows of the result's summary or trace, one line each."""
    return "\n".join(" ".join(str(s.render()) for s in pair.query(Static))
                     for pair in screen.query(f"{selector} .pair"))


async def palette_simulate(pilot) -> SimulateScreen:
    await list_ready(pilot)
    await pilot.press("ctrl+p")
    await type_text(pilot, "simulate call")
    await pilot.pause(0.3)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SimulateScreen), what="dialog")
    return pilot.app.screen


async def run_call(pilot, **fields) -> ResultScreen:
    """Fill fields in dialog order by name (enter moves on), then ctrl+s."""
    order = ("number", "cli", "ip", "sip_user", "sip_password", "switch_ip")
    for name in order:
        if name in fields:
            await type_text(pilot, fields[name])
        if name == max(fields, key=order.index):
            break
        await pilot.press("enter")
    await pilot.press("ctrl+s")
    # composed, not only pushed: a busy machine can show the test the screen before its body
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen)
                   and pilot.app.screen.query("#headline"), what="result")
    return pilot.app.screen


async def test_palette_finds_the_customer_by_ip_and_opens_it(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await palette_simulate(pilot)
        assert dialog.query_one("#input-ip", Input).value == ""  # no customer to preset
        assert "finds the customer" in text_of(dialog, "#field-ip .help")
        result = await run_call(pilot, number="4930123456", cli="447700900123", ip=ACME_IP)
        assert "Acme Telecom" in block_text(result, "#summary")
        assert "o open customer" in text_of(result, "#result-keys")
        call_id = result.call_id
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and app.screen.loaded > 0, what="customer")
        assert app.screen.detail.name == "Acme Telecom"
        assert app.screen.active_tab == "calls"
        tab = app.screen.query_one(CallsTab)
        await wait_for(pilot, lambda: tab.rows and tab.rows[0].call_id == call_id,
                       what="SIM row")


async def test_palette_unknown_sip_user_is_rejected_and_offers_no_customer(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await palette_simulate(pilot)
        result = await run_call(pilot, number="4930123456", cli="447700900123",
                                sip_user="nobody-here", sip_password="whatever-secret")
        assert "rejected: 404 Unknown User" in text_of(result, "#headline")
        assert "open customer" not in text_of(result, "#result-keys")
        await pilot.press("o")  # nothing to open: stays
        await pilot.pause()
        assert app.screen is result
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerListScreen), what="list")


async def test_viewer_may_simulate_but_nothing_is_stored(demo_path):
    db = Db(demo_path)
    count = "SELECT count(*) FROM cdrs WHERE simulated"
    seeded = await db.scalar(count)  # the demo has a few simulations of its own
    app = make_app(demo_path, role="viewer")
    async with app.run_test(size=(80, 24)) as pilot:
        await palette_simulate(pilot)
        result = await run_call(pilot, number="4930123456", cli="447700900123", ip=ACME_IP)
        assert result.call_id is None
        assert text_of(result, "#result-title").startswith("Simulation (not stored)")
    try:
        assert await db.scalar(count) == seeded
    finally:
        await db.close()


async def test_keys_typed_ahead_land_in_their_fields(demo_path):
    """A burst of keys (type-ahead over a slow link): enter moves on before the next key,
    and ctrl+s runs with every key typed before it."""
    from textual import events

    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await palette_simulate(pilot)
        for ch in f"4930123456\r447700900123\r{ACME_IP}\x13":
            key = {"\r": "enter", "\x13": "ctrl+s", ".": "full_stop"}.get(ch, ch)
            app.post_message(events.Key(key, ch if ch.isprintable() else None))
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), what="result")
        r = app.screen.result
        assert (r.number_in, r.cli_in, r.customer) == ("4930123456", "447700900123",
                                                       "Acme Telecom")
