"""Snapshots of the Stats tab on demo data with a frozen clock: Live at 80x24 (the tab
scrolls) and the month at 120x40 (codes beside destinations).

Review a changed snapshot as text (/work/wt/_tools/svgtext.py or snapshot_report.html)
before accepting it with `pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from tests.ui.conftest import make_app
from tests.ui.test_stats_tab import acme_stats, press


@pytest.mark.parametrize(("size", "keys"), [((80, 24), ()), ((120, 40), ("p", "p", "p"))],
                         ids=["80x24", "120x40"])
def test_stats_tab(snap_compare, demo_path, size, keys):
    async def ready(pilot):
        tab = await acme_stats(pilot)
        for key in keys:
            await press(pilot, tab, key)
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=size, run_before=ready)
