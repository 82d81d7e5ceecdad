"""Snapshots of the DID tab and the global DIDs screen at 80x24 on demo data.

Review a changed snapshot as text (`python3 /work/wt/_tools/svgtext.py FILE.svg`) before
accepting it with `pytest --snapshot-update`.
"""

from __future__ import annotations

from connex_tui.screens.customer_detail.did_tab import DidTab
from connex_tui.screens.dids import DidsScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import list_ready, open_customer, wait_for


def test_did_tab(snap_compare, demo_path):
    async def shown(pilot):
        await open_customer(pilot, "Silverline Networks")
        await pilot.press("0")
        tab = pilot.app.screen.query_one(DidTab)
        await wait_for(pilot, lambda: tab.loaded > 0, what="DID tab")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=(80, 24), run_before=shown)


def test_dids_screen(snap_compare, demo_path):
    async def shown(pilot):
        await list_ready(pilot)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DidsScreen)
                       and pilot.app.screen.loads > 0, what="DIDs screen")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=(80, 24), run_before=shown)
