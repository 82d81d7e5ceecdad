"""Snapshots of the Calls tab, the Simulate dialog and its result on demo data (frozen
clock; the SIM call id's random part is pinned so that the id is the same every run).

Review a changed snapshot in snapshot_report.html before accepting it with
`pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from connex_tui.screens.customer_detail.calls_tab import CallsTab
from connex_tui.screens.dialogs.simulate import ResultScreen, SimulateScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import open_customer, type_text, wait_for

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]


def make_calls_app(path):
    app = make_app(path)
    app.services.calls.call_ids = lambda at: f"SIM-{at:%Y%m%d%H%M%S}-5ca1ab"
    return app


async def acme_calls(pilot) -> CallsTab:
    await open_customer(pilot, "Acme")
    await pilot.press("5")
    tab = pilot.app.screen.query_one(CallsTab)
    await wait_for(pilot, lambda: tab.loads > 0, what="calls")
    return tab


async def dialog(pilot, number: str, cli: str) -> SimulateScreen:
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SimulateScreen), what="dialog")
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.query_one("#input-ip").value, what="IP preset")
    await type_text(pilot, number)
    await pilot.press("enter")
    await type_text(pilot, cli)
    return screen


async def result(pilot, number: str, cli: str) -> None:
    await dialog(pilot, number, cli)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen), what="result")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_calls_tab(snap_compare, demo_path, size):
    async def simulated_once(pilot):
        tab = await acme_calls(pilot)
        await result(pilot, "33123456789", "447700900123")
        loads = tab.loads
        await pilot.press("escape")
        await wait_for(pilot, lambda: tab.loads > loads, what="reload")
        await pilot.pause()

    assert snap_compare(make_calls_app(demo_path), terminal_size=size, run_before=simulated_once)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_simulate_result_allowed(snap_compare, demo_path, size):
    async def allowed(pilot):
        await acme_calls(pilot)
        await result(pilot, "4930123456", "447700900123")

    assert snap_compare(make_calls_app(demo_path), terminal_size=size, run_before=allowed)


def test_simulate_result_rejected(snap_compare, demo_path):
    async def rejected(pilot):
        await acme_calls(pilot)
        await result(pilot, "4990012345", "447700900123")

    assert snap_compare(make_calls_app(demo_path), terminal_size=(80, 24), run_before=rejected)


def test_simulate_dialog_errors(snap_compare, demo_path):
    async def bad(pilot):
        await acme_calls(pilot)
        screen = await dialog(pilot, "", "447700900123")
        await pilot.press("enter")
        await type_text(pilot, ".1")  # the preset IP becomes 198.51.100.122.1
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "fix" in str(
            screen.query_one("#form-message").render()), what="errors")
        await pilot.pause()

    assert snap_compare(make_calls_app(demo_path), terminal_size=(80, 24), run_before=bad)
