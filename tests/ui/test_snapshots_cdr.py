"""Snapshots of the CDR tab and its recalc preview on demo data (frozen clock).

Review a changed snapshot as text (`python3 /work/wt/_tools/svgtext.py FILE.svg`) before
accepting it with `pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from connex_tui.widgets.confirm import ConfirmScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import wait_for
from tests.ui.test_cdr_tab import acme_cdrs

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_cdr_tab(snap_compare, demo_path, size):
    async def shown(pilot):
        tab = await acme_cdrs(pilot)
        await wait_for(pilot, lambda: "No recalc" in str(tab.query_one("#cdr-last").render()),
                       what="history line")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=size, run_before=shown)


def test_recalc_preview(snap_compare, demo_path):
    async def preview(pilot):
        await acme_cdrs(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: pilot.app.screen.query("#input-first"), what="form")
        await pilot.press("ctrl+s")  # rerate only, today
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen),
                       what="preview")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=(80, 24), run_before=preview)
