"""Stats tab: the period moves with p, < > and t, and the figures on screen follow, as the
service reads them from the rollups (demo data, frozen clock 2026-11-25 12:00 UTC)."""

from __future__ import annotations

from datetime import date

from connex_tui.data.access import Actor
from connex_tui.data.stats import StatsService
from connex_tui.screens.customer_detail.stats_tab import StatsTab
from connex_tui.screens.help import help_rows
from tests.ui.conftest import frozen_clock, make_app
from tests.ui.helpers import Db, open_customer_tab, screen_lines, wait_for


async def acme_stats(pilot) -> StatsTab:
    return await open_customer_tab(pilot, "Acme", "2", StatsTab)


async def press(pilot, tab: StatsTab, key: str) -> None:
    n = tab.loads
    await pilot.press(key)
    await wait_for(pilot, lambda: tab.loads > n, what=f"stats after {key}")
    await pilot.pause()


def shown(app) -> str:
    return "\n".join(screen_lines(app))


async def test_period_keys_change_the_figures(demo_path):
    db = Db(demo_path)
    svc = StatsService(db.db, Actor("t", "viewer"), frozen_clock)
    try:
        acme, _, _ = await svc.find_customer("Acme Telecom")
        want = {(kind, day): (await svc.summary(acme, svc.period(kind, day))).attempts
                for kind, day in (("live", None), ("day", None),
                                  ("day", date(2026, 11, 24)), ("week", None),
                                  ("month", None))}
    finally:
        await db.close()
    assert want[("day", None)] != want[("day", date(2026, 11, 24))]

    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await acme_stats(pilot)
        text = shown(app)
        assert "Live · last 24 h (UTC)" in text
        assert f"Attempts {want[('live', None)]:,} " in text
        await press(pilot, tab, "p")
        text = shown(app)
        assert "Day 2026-11-25 (UTC)" in text and f"Attempts {want[('day', None)]:,} " in text
        await press(pilot, tab, "less_than_sign")
        text = shown(app)
        assert "Day 2026-11-24 (UTC)" in text
        assert f"Attempts {want[('day', date(2026, 11, 24))]:,} " in text
        await press(pilot, tab, "t")
        assert "Day 2026-11-25 (UTC)" in shown(app)
        n = tab.loads
        await pilot.press("greater_than_sign")  # tomorrow has not begun: nothing moves
        await pilot.pause()
        assert tab.loads == n and "Day 2026-11-25 (UTC)" in shown(app)
        assert any("not begun" in str(m.message) for m in app._notifications)
        await press(pilot, tab, "p")
        text = shown(app)
        assert "Week 48, 2026-11-23 to 11-29 (UTC)" in text
        assert f"Attempts {want[('week', None)]:,} " in text
        await press(pilot, tab, "p")
        assert f"Attempts {want[('month', None)]:,} " in shown(app)
        await press(pilot, tab, "less_than_sign")  # October: before the demo's history
        text = shown(app)
        assert "Month 2026-10 (UTC)" in text and "Attempts 0 " in text
        assert "No calls in this period" in text
        await press(pilot, tab, "p")
        assert "Live · last 24 h (UTC)" in shown(app)
        keys = dict(help_rows(app.screen))  # ? lists the tab's keys, < > as typed
        assert (keys["p"], keys["<"], keys[">"], keys["t"]) == (
            "Live, day, week, month", "Earlier period", "Later period", "Today's period")


async def test_the_tab_scrolls_at_80x24(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await acme_stats(pilot)
        assert "Top destinations" not in shown(app)
        assert app.focused is tab.query_one("#stats-body")  # arrows and pgdn scroll it
        await pilot.press("end")
        await wait_for(pilot, lambda: "Top destinations" in shown(app), what="scrolled")
        assert "p Period" in screen_lines(app)[-1]


async def test_live_reloads_on_its_timer(demo_path, monkeypatch):
    from connex_tui.screens.customer_detail import stats_tab

    monkeypatch.setattr(stats_tab, "LIVE_EVERY", 0.05)
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await acme_stats(pilot)
        n = tab.loads
        await wait_for(pilot, lambda: tab.loads >= n + 2, what="two more loads")
        await press(pilot, tab, "p")  # a day does not tick
        n = tab.loads
        await pilot.pause(0.3)
        assert tab.loads == n
