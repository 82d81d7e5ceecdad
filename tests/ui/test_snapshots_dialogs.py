"""Snapshots of the Dialogs tab and the Live calls screen on demo data (frozen clock, so
the ticking durations are the same every run).

Review a changed snapshot as text (`python3 /work/wt/_tools/svgtext.py FILE.svg`) before
accepting it with `pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from connex_tui.screens.live_calls import LiveCallsScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import list_ready, wait_for
from tests.ui.test_dialogs_ui import open_dialogs

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_dialogs_tab(snap_compare, demo_path, size):
    async def shown(pilot):
        await open_dialogs(pilot, "Keystone")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=size, run_before=shown)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_live_calls_screen(snap_compare, demo_path, size):
    async def shown(pilot):
        await list_ready(pilot)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, LiveCallsScreen)
                       and pilot.app.screen.panel.polls > 0, what="live calls")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=size, run_before=shown)
