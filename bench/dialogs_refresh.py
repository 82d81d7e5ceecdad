"""Live calls refresh with 2,000 live calls: the event-loop time of one refresh.

One refresh of the Live calls screen (every customer's calls, 120x40) is: read the live
calls and the per-customer totals, diff them against the table, update the cells that
changed (every duration ticks each second), repaint. Between refreshes the switch (here:
another connection) ends 20 calls, starts 20 and answers 20, as at 20 CPS.

Measured as CPU time of the event loop's thread (the database's own thread, aiosqlite's,
is not the loop). The reference, in the same run: a bare Textual DataTable of the same
2,000 rows updating one cell per row (the durations alone) and repainting.
Target: a refresh <= 50 ms of the event loop.

    .venv/bin/python bench/dialogs_refresh.py [--calls 2000] [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.text import Text
from sqlalchemy import delete, insert, update
from textual.screen import Screen
from textual.widgets import DataTable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connex_tui.app import ConnexApp  # noqa: E402
from connex_tui.config import Config  # noqa: E402
from connex_tui.data.db import Database, upgrade  # noqa: E402
from connex_tui.data.models import Customer, Dialog, Provider  # noqa: E402
from connex_tui.screens.live_calls import LiveCallsScreen  # noqa: E402

TARGET_MS = 50.0
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CHURN = 20  # calls ended, started and answered between two refreshes


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def dialog(i: int, customers: int, providers: list[int]) -> dict:
    started = START - timedelta(seconds=5 + (i * 7) % 900)
    answered = started + timedelta(seconds=4) if i % 4 else None
    return {"call_id": f"bench-{i:07d}", "customer_id": 1 + i % customers,
            "provider_id": providers[i % len(providers)], "dialled": f"4930{i:09d}",
            "cli": f"4477009{i:05d}", "source_ip": f"198.51.{i % 256}.{i // 256 % 256}",
            "state": "answered" if answered else "ringing", "started_at": started,
            "answered_at": answered}


async def build(url: str, calls: int) -> None:
    db = Database(url)
    await upgrade(db)
    stamp = {"version": 1, "created_at": START, "updated_at": START}
    customers = 60
    async with db.sessions() as s, s.begin():
        await s.execute(insert(Customer), [
            {"id": i, "name": f"Bench Carrier {i:03d}", "name_key": f"bench carrier {i:03d}",
             "currency": "USD", **stamp} for i in range(1, customers + 1)])
        await s.execute(insert(Provider), [
            {"id": i, "name": f"Upstream {i}", **stamp} for i in range(1, 6)])
        await s.execute(insert(Dialog), [dialog(i, customers, [1, 2, 3, 4, 5])
                                         for i in range(calls)])
    await db.dispose()


async def churn(db: Database, step: int, calls: int) -> None:
    """What the switch does in a second: some calls end, some start, some are answered."""
    first = step * CHURN
    async with db.sessions() as s, s.begin():
        await s.execute(delete(Dialog).where(Dialog.call_id.in_(
            [f"bench-{i:07d}" for i in range(first, first + CHURN)])))
        await s.execute(insert(Dialog), [dialog(calls + i, 60, [1, 2, 3, 4, 5])
                                         for i in range(first, first + CHURN)])
        await s.execute(update(Dialog).where(Dialog.state == "ringing", Dialog.call_id.in_(
            [f"bench-{i:07d}" for i in range(first + CHURN, first + 3 * CHURN)]))
            .values(state="answered", answered_at=START + timedelta(seconds=step)))


class Bare(Screen):
    def compose(self):
        yield DataTable(id="bare")


async def measure(calls: int, rounds: int, path: Path, size: tuple[int, int]):
    url = f"sqlite+aiosqlite:///{path}"
    await build(url, calls)
    clock = Clock()
    app = ConnexApp(Config(database_url=url, operator="bench", role="admin"), clock=clock)
    switch = Database(url)
    ours: list[float] = []
    bare: list[float] = []
    parts: list[tuple[float, float, float]] = []
    async with app.run_test(size=size) as pilot:
        while not app.screen_stack or type(app.screen).__name__ != "CustomerListScreen":
            await pilot.pause(0.05)
        await pilot.press("L")
        while not isinstance(app.screen, LiveCallsScreen):
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, LiveCallsScreen)
        panel = screen.panel
        while panel.polls == 0:
            await pilot.pause(0.05)
        panel._arm = lambda: None  # the bench drives the refreshes itself
        if panel._timer is not None:
            panel._timer.stop()
        while panel._fetching:
            await pilot.pause(0.05)
        assert panel.table.row_count == calls, panel.table.row_count
        for step in range(rounds):
            await churn(switch, step, calls)
            clock.now += timedelta(seconds=1)
            await pilot.pause()
            t0 = time.thread_time()
            panel.rows = list(await app.services.dialogs.live(None))  # what _poll reads
            t1 = time.thread_time()
            panel._show(clock())
            t2 = time.thread_time()
            await pilot.pause()
            t3 = time.thread_time()
            ours.append((t3 - t0) * 1000)
            parts.append(((t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000))

        # Reference: a bare DataTable with the same rows, one cell per row updated.
        await app.push_screen(Bare())
        table = app.screen.query_one(DataTable)
        for label in ("Customer", "State", "Dur.", "Number", "CLI", "Provider", "Source IP"):
            table.add_column(label, key=label)
        for r in panel.shown:
            table.add_row(*(Text(str(v)) for v in (r.customer, r.state, "0:00", r.dialled,
                                                   r.cli, r.provider, r.source_ip)),
                          key=r.call_id)
        await pilot.pause()
        keys = [r.call_id for r in panel.shown]
        for step in range(rounds):
            await pilot.pause()
            t = time.thread_time()
            with app.batch_update():
                for key in keys:
                    table.update_cell(key, "Dur.", Text(f"{step}:{step:02d}"))
            await pilot.pause()
            bare.append((time.thread_time() - t) * 1000)
    await switch.dispose()
    return ours, bare, parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    for size in ((80, 24), (120, 40)):
        with tempfile.TemporaryDirectory() as tmp:
            ours, bare, parts = asyncio.run(measure(args.calls, args.rounds,
                                                    Path(tmp) / "bench.db", size))
        med, ref = statistics.median(ours), statistics.median(bare)
        p95 = sorted(ours)[max(0, round(0.95 * len(ours)) - 1)]
        read, show, paint = (statistics.median(p[i] for p in parts) for i in range(3))
        print(f"Live calls refresh at {size[0]}x{size[1]}, {args.calls:,} live calls, {CHURN} "
              f"ended/started/answered per refresh (event-loop CPU ms, median of "
              f"{args.rounds}):")
        print(f"  refresh: {med:6.1f} ms (p95 {p95:.1f})  target <= {TARGET_MS:.0f} ms  "
              f"{'OK' if med <= TARGET_MS else 'OVER'}   [read {read:.1f} + diff/cells "
              f"{show:.1f} + repaint {paint:.1f}]")
        print(f"  reference, bare DataTable: {args.calls:,} cells updated + repaint: "
              f"{ref:6.1f} ms")
        print(f"  ratio refresh / reference: {med / ref:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
