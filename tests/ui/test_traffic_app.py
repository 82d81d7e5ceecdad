"""The console with the switch simulator inside (make run): calls appear in the dialogs
table while the list stays usable, and leaving hangs every one of them up as a CDR. The
demo's clock is frozen in the past, the simulator's is real: its seeded calls are stale."""

from __future__ import annotations

from connex_tui.app import ConnexApp
from connex_tui.config import Config
from tests.ui.conftest import frozen_clock, sqlite_url
from tests.ui.helpers import Db, list_ready, wait_for


async def test_traffic_runs_in_the_console_and_stops_with_it(demo_path):
    cfg = Config(database_url=sqlite_url(demo_path), operator="tester", role="admin",
                 traffic=True, traffic_cps=60)
    app = ConnexApp(cfg, clock=frozen_clock)
    db = Db(demo_path)
    seeded = await db.scalar("SELECT count(*) FROM dialogs")
    last_cdr = await db.scalar("SELECT max(id) FROM cdrs")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await list_ready(pilot)
            await wait_for(pilot, lambda: app.traffic.switch is not None
                           and app.traffic.switch.summary.attempts >= 20, timeout=15,
                           what="traffic attempts")
            await pilot.press("down")  # the list still answers keys
            await wait_for(pilot, lambda: screen.query_one("DataTable").cursor_row == 1,
                           what="cursor moved")
            assert await db.scalar("SELECT count(*) FROM dialogs") > 0
        summary = app.traffic.switch.summary
        # the demo's seeded calls (hours old by the real clock) were ended as stale, the
        # simulator's own were hung up on leaving: nothing is left up
        assert summary.reaped == seeded > 0
        assert await db.scalar("SELECT count(*) FROM dialogs") == 0
        assert await db.scalar("SELECT count(*) FROM cdrs WHERE id > :last",
                               last=last_cdr) == summary.attempts + seeded
        assert summary.cdrs == summary.attempts
        assert summary.hung_up_at_stop > 0
    finally:
        await db.close()


async def test_the_console_runs_no_traffic_unless_asked(demo_path):
    cfg = Config(database_url=sqlite_url(demo_path), operator="tester", role="admin")
    app = ConnexApp(cfg, clock=frozen_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.pause()
        assert app.traffic is None
