"""80x24 snapshots of the Alerts tab (demo data, frozen clock): a customer in penalty with
its fired alert and event, and the alert form."""

from __future__ import annotations

from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.widgets.form import FormScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import list_ready, wait_for

SIZE = (80, 24)


async def alerts_tab(pilot):
    await list_ready(pilot)
    await pilot.press("slash", *"Silverline Connect")
    await wait_for(pilot, lambda: pilot.app.screen.total == 1, what="search")
    await pilot.press("enter", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CustomerDetailScreen)
                   and pilot.app.screen.loaded > 0, what="customer")
    await pilot.press("8")
    tab = pilot.app.screen.query_one("#alerts-tab")
    await wait_for(pilot, lambda: tab.loaded > 0, what="alerts tab")
    await pilot.pause()
    return tab


def test_alerts_tab(snap_compare, demo_path):
    async def ready(pilot):
        await alerts_tab(pilot)

    assert snap_compare(make_app(demo_path), terminal_size=SIZE, run_before=ready)


def test_alert_form(snap_compare, demo_path):
    async def ready(pilot):
        await alerts_tab(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FormScreen), what="form")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=SIZE, run_before=ready)
