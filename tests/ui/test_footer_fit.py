"""No footer key of any screen is hidden at 80 columns: walk every screen, tab and pane,
and find each key the screen shows (show=True) on the footer line as it was painted."""

from __future__ import annotations

from connex_tui.screens.customer_detail.screen import TABS, CustomerDetailScreen
from connex_tui.screens.live_calls import LiveCallsScreen
from connex_tui.screens.rate_card import RateCardScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import list_ready, screen_lines, wait_for


def missing_keys(app) -> tuple[list[str], str]:
    """Footer items that should be there but are not on the bottom row of the screen."""
    footer = screen_lines(app)[-1]
    wanted: dict[str, list[str]] = {"command_palette": ["^p Palette"]}
    for _, b, _, _ in app.screen.active_bindings.values():
        if b.show:  # one item per action, under any of its keys (ctrl+d or delete)
            wanted.setdefault(b.action, []).append(f"{app.get_key_display(b)} {b.description}")
    return [" / ".join(items) for items in wanted.values()
            if not any(item in footer for item in items)], footer


async def check(pilot, where: str, seen: dict) -> None:
    await pilot.pause()
    await pilot.pause()
    missing, footer = missing_keys(pilot.app)
    assert not missing, f"{where}: {missing} not in {footer!r}"
    seen[where] = footer


async def test_every_footer_key_is_visible_at_80_columns(demo_path):
    app = make_app(demo_path)
    seen: dict[str, str] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        await check(pilot, "list", seen)
        screen.query_one("#status").value = "archived"
        await wait_for(pilot, lambda: screen.rows and screen.rows[0].archived, what="archived")
        await check(pilot, "list, Archived", seen)
        assert "u Restore" in seen["list, Archived"] and "? Help" in seen["list, Archived"]
        screen.query_one("#status").value = "all"
        await wait_for(pilot, lambda: screen.rows and not screen.rows[0].archived, what="all")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveCallsScreen)
                       and app.screen.panel.polls, what="live calls")
        await check(pilot, "live calls", seen)
        assert "^d End call" in seen["live calls"]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="list again")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and app.screen.loaded > 0, what="customer")
        detail = app.screen
        for i, (key, label) in enumerate(TABS):
            if i < 10:
                await pilot.press("1234567890"[i])
            else:
                await pilot.press("right_square_bracket")
            await wait_for(pilot, lambda k=key: detail.active_tab == k, what=label)
            await check(pilot, f"customer {label}", seen)
            if key in ("routing", "auth"):
                tab = detail.query_one(f"#{key}-tab")
                await wait_for(pilot, lambda t=tab: t.panes[0].rows is not None, what="rows")
                await pilot.press("tab")  # the second pane has keys of its own
                await wait_for(pilot, lambda t=tab: t.active_pane is t.panes[1],
                               what="second pane")
                await check(pilot, f"customer {label}, second pane", seen)
                await pilot.press("shift+tab")
        assert "p New password" in seen["customer Auth, second pane"]
        assert "p Period" in seen["customer Stats"]  # the tab has the focus and its keys
        assert "^d End call" in seen["customer Dialogs"]
        assert "c Recalc" in seen["customer CDR"]
        await pilot.press("3")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, RateCardScreen)
                       and app.screen.loaded, what="rate card")
        await check(pilot, "rate card", seen)
    assert all("? Help" in footer for footer in seen.values()), seen
