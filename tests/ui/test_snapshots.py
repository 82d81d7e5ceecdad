"""Snapshots of the list and the customer screen on demo data with a frozen clock.

Review a changed snapshot in snapshot_report.html before accepting it with
`pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import list_ready, wait_for

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_customer_list(snap_compare, demo_path, size):
    async def ready(pilot):
        await list_ready(pilot)
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_customer_detail(snap_compare, demo_path, size):
    async def open_third(pilot):
        screen = await list_ready(pilot)
        await pilot.press("j", "j", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CustomerDetailScreen)
                       and pilot.app.screen.loaded > 0, what="detail")
        assert screen is not pilot.app.screen
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=size, run_before=open_third)


def test_customer_form(snap_compare, demo_path):
    async def open_form(pilot):
        from connex_tui.widgets.form import FormScreen

        await list_ready(pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FormScreen), what="form")
        pilot.app.screen.query_one("#input-debit_limit").value = "1e5"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "fix" in str(
            pilot.app.screen.query_one("#form-message").render()), what="errors")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=(80, 24), run_before=open_form)
