"""80x24 snapshots of the screens and dialogs the other snapshot files leave out: help,
the confirm dialog, the IP auth / SIP user / CLI rule forms, the
Simulate input and the command palette (demo data, frozen clock).

Review a changed snapshot in snapshot_report.html before accepting it with
`pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest

from connex_tui.screens.dialogs.simulate import SimulateScreen
from connex_tui.screens.help import HelpScreen
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.form import FormScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import list_ready, wait_for
from tests.ui.test_snapshots_calls import acme_calls
from tests.ui.test_snapshots_routing import silverline_tab

SIZE = (80, 24)


def snap(snap_compare, demo_path, ready) -> bool:
    return snap_compare(make_app(demo_path), terminal_size=SIZE, run_before=ready)


def test_help(snap_compare, demo_path):
    async def ready(pilot):
        await list_ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")
        await pilot.pause()

    assert snap(snap_compare, demo_path, ready)


def test_confirm_quit(snap_compare, demo_path):
    async def ready(pilot):
        await list_ready(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen),
                       what="confirm")
        await pilot.pause()

    assert snap(snap_compare, demo_path, ready)


# (tab digit, tab id, pane: 0 first / 1 second) of each form opened with `a`
FORMS = {"ip_auth": ("4", "auth-tab", 0), "sip_user": ("4", "auth-tab", 1),
         "cli_rule": ("3", "routing-tab", 1)}


@pytest.mark.parametrize("form", list(FORMS))
def test_add_form(snap_compare, demo_path, form):
    digit, tab_id, pane = FORMS[form]

    async def ready(pilot):
        await silverline_tab(pilot, digit, tab_id)
        if pane:
            await pilot.press("tab")
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, FormScreen), what="form")
        await pilot.pause()

    assert snap(snap_compare, demo_path, ready)


def test_simulate_input(snap_compare, demo_path):
    async def ready(pilot):
        await acme_calls(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SimulateScreen),
                       what="dialog")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.query_one("#input-ip").value, what="IP preset")
        await pilot.pause()

    assert snap(snap_compare, demo_path, ready)


def test_palette(snap_compare, demo_path):
    async def ready(pilot):
        from textual.command import CommandPalette

        await list_ready(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CommandPalette),
                       what="palette")
        await pilot.press(*"granite")
        await pilot.pause(0.5)
        await pilot.pause()

    assert snap(snap_compare, demo_path, ready)
