"""Snapshots of the Routing and Auth tabs, the route form and the rate card view on demo
data (frozen clock). Silverline Networks has two routes, two CLI rules, an IP entry and
two SIP users in the demo data.

Review a changed snapshot in snapshot_report.html before accepting it with
`pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.screens.rate_card import RateCardScreen
from connex_tui.widgets.form import FormScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import list_ready, wait_for

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]


async def silverline_tab(pilot, digit: str, tab_id: str):
    await list_ready(pilot)
    await pilot.press("slash", *"Silverline Networks")
    await wait_for(pilot, lambda: pilot.app.screen.total == 1, what="search")
    await pilot.press("enter", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CustomerDetailScreen)
                   and pilot.app.screen.loaded > 0, what="customer")
    await pilot.press(digit)
    tab = pilot.app.screen.query_one(f"#{tab_id}")
    await wait_for(pilot, lambda: tab.loaded > 0, what=tab_id)
    await pilot.pause()
    return tab


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_routing_tab(snap_compare, demo_path, size):
    async def ready(pilot):
        await silverline_tab(pilot, "3", "routing-tab")

    assert snap_compare(make_app(demo_path), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_auth_tab(snap_compare, demo_path, size):
    async def ready(pilot):
        await silverline_tab(pilot, "4", "auth-tab")
        await pilot.press("tab")  # the SIP users pane: its keys (p) in the footer

    assert snap_compare(make_app(demo_path), terminal_size=size, run_before=ready)


def test_route_form(snap_compare, demo_path):
    async def ready(pilot):
        await silverline_tab(pilot, "3", "routing-tab")
        await pilot.press("j", "e")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FormScreen), what="form")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=(80, 24), run_before=ready)


def test_rate_card_view(snap_compare, demo_path):
    async def ready(pilot):
        await silverline_tab(pilot, "3", "routing-tab")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RateCardScreen)
                       and pilot.app.screen.loaded > 0, what="card")
        view = pilot.app.screen
        await wait_for(pilot, lambda: str(view.query_one("#card-info").render()),
                       what="card details")
        await pilot.press("slash", "4", "4")
        await wait_for(pilot, lambda: str(view.query_one("#card-count").render()).endswith(
            "starting 44"), what="filtered")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=(80, 24), run_before=ready)
