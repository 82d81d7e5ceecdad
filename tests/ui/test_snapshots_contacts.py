"""Snapshot of the Main tab with its Contacts section at 80x24 (demo data, frozen clock):
Silverline Networks has contacts in the demo data.

Review a changed snapshot as text before accepting it with `pytest --snapshot-update`.
"""

from __future__ import annotations

from tests.ui.conftest import make_app
from tests.ui.test_snapshots_routing import silverline_tab


def test_main_tab_with_contacts(snap_compare, demo_path):
    async def ready(pilot):
        tab = await silverline_tab(pilot, "1", "contacts-section")
        assert pilot.app.focused is tab.query_one("#contacts")

    assert snap_compare(make_app(demo_path), terminal_size=(80, 24), run_before=ready)


def test_password_form(snap_compare, demo_path):
    async def ready(pilot):
        from connex_tui.widgets.form import FormScreen
        from tests.ui.helpers import wait_for

        await silverline_tab(pilot, "1", "contacts-section")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FormScreen), what="form")
        await pilot.pause()

    assert snap_compare(make_app(demo_path), terminal_size=(80, 24), run_before=ready)
