"""80x24 snapshots of the Packages tab (a demo customer with a package) and the package
catalogue (demo data, frozen clock)."""

from __future__ import annotations

import sqlite3

from tests.ui.conftest import make_app
from tests.ui.helpers import list_ready, open_customer, wait_for

SIZE = (80, 24)


def with_package(path) -> str:
    """The first demo customer (by name) that has a package."""
    with sqlite3.connect(path) as con:
        return con.execute("SELECT c.name FROM customers c JOIN customer_packages p ON "
                           "p.customer_id = c.id WHERE c.archived_at IS NULL "
                           "ORDER BY c.name LIMIT 1").fetchone()[0]


def test_packages_tab(snap_compare, demo_path):
    name = with_package(demo_path)

    async def ready(pilot):
        await open_customer(pilot, name)
        await pilot.press("0", "right_square_bracket")
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#packages-tab").loaded > 0,
                       what="packages tab")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=SIZE, run_before=ready)


def test_catalogue(snap_compare, demo_path):
    async def ready(pilot):
        await list_ready(pilot)
        await pilot.press("P")
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#catalogue-tab").loaded > 0,
                       what="catalogue")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=SIZE, run_before=ready)
