"""Customer list speed on 100,000 customers (30 days of CDRs for 200 of them).

Prints each figure beside its target. The database is built once into bench/.cache/
(`connex-tui demo seed --customers 100000 --cdr-customers 200`), then reused.

    .venv/bin/python bench/customer_list.py [--customers N] [--rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
NOW = "2026-11-25T12:00:00+00:00"
ANSI = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]|\x1b[()][0-9A-B]|\x1b\][^\x07]*\x07")


def build(path: Path, customers: int, rebuild: bool) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    if rebuild and path.exists():
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"building {path.name}: {customers:,} customers (once; reused next time)")
        t = time.monotonic()
        subprocess.run([sys.executable, "-m", "connex_tui", "demo", "seed", "--customers",
                        str(customers), "--cdr-customers", "200", "--days", "30", "--now", NOW,
                        "--database-url", url], check=True)
        print(f"  built in {time.monotonic() - t:.0f} s")
    return url


PAINTED = re.compile(rb"[0-9+] customers")  # the count line is filled with the table rows
HEADER = re.compile(rb"Debit limit")  # the customer screen's header strip


# The reference for start-up: a bare Textual app that paints a 100-row DataTable (what the
# list shows), started and watched on a pty the same way as the real program.
BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer

class Bare(App):
    def compose(self):
        yield DataTable()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("Name", "Status", "Credit", "Chan", "Last call", "ASR", "ACD")
        table.add_rows([(f"Bare {i:05d}", "Active", "1.00 USD", "0/10", "8 h", "50.0%",
                         "1:00") for i in range(100)])

Bare().run()
"""
BARE_PAINTED = re.compile(rb"Bare 00000")


def pty_session(url: str, opens: int = 0, *, argv: list[str] | None = None,
                painted: re.Pattern = PAINTED) -> tuple[float, list[float], int]:
    """Spawn the real program (or `argv`) on an 80x24 pty. Returns seconds until the list
    is painted, seconds from Enter to the customer screen's header on the terminal for
    `opens` customers, and the process's peak RSS in KiB."""
    argv = argv or [sys.executable, "-m", "connex_tui", "--database-url", url]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"})
        os.execv(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def wait_for(pattern: re.Pattern, t0: float) -> float:
        seen = b""
        while time.perf_counter() < t0 + 20:
            if select.select([fd], [], [], 0.02)[0]:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
                if pattern.search(ANSI.sub(b"", seen)):
                    return time.perf_counter() - t0
        return float("nan")

    def drain(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            if select.select([fd], [], [], 0.02)[0]:
                os.read(fd, 65536)

    started = wait_for(painted, time.perf_counter())
    drain(0.5)
    open_times = []
    for _ in range(opens):
        os.write(fd, b"j")
        drain(0.2)
        t0 = time.perf_counter()
        os.write(fd, b"\r")
        open_times.append(wait_for(HEADER, t0))
        drain(0.2)
        os.write(fd, b"\x1b")
        drain(0.6)
    os.kill(pid, signal.SIGHUP)  # the app leaves on hang-up, as over a dropped SSH link
    os.close(fd)  # and nobody reads the terminal any more
    _, _, usage = os.wait4(pid, 0)
    return started, open_times, usage.ru_maxrss


async def until(cond, timeout: float = 10.0) -> None:
    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError
        await asyncio.sleep(0.001)


async def search_keystrokes(pilot, screen, words) -> list[float]:
    """Each letter typed into the list's search, until the table shows its result (s)."""
    out = []
    search = screen.query_one("#search")
    for word in words:
        search.focus()
        for ch in word:
            before = screen.render_count
            t0 = time.perf_counter()
            await pilot.press(ch)
            await until(lambda b=before: screen.render_count > b and not screen._loading)
            out.append(screen.rendered_at - t0)
        search.value = ""
        await until(lambda: not screen._loading and screen._shown[1] == "")
    return out


async def interactive(url: str) -> dict[str, list[float]]:
    from textual.widgets import Select

    from connex_tui.app import ConnexApp
    from connex_tui.config import Config
    from connex_tui.screens.customer_list import CustomerListScreen

    app = ConnexApp(Config(database_url=url, operator="bench", role="admin"))
    out: dict[str, list[float]] = {"search": [], "filter": []}
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: isinstance(app.screen, CustomerListScreen)
                    and app.screen.render_count > 0)
        screen = app.screen
        out["search"] = await search_keystrokes(
            pilot, screen, ("acme", "192.0.2", "noc", "voip", "4420", "telecom", "zz"))
        status = screen.query_one("#status", Select)
        for value in ("active", "inactive", "pending_approval", "penalty", "archived", "all") * 3:
            before = screen.render_count
            t0 = time.perf_counter()
            status.value = value
            await until(lambda b=before: screen.render_count > b and not screen._loading)
            out["filter"].append(screen.rendered_at - t0)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def row(label: str, value: float, target: float, unit: str) -> None:
    ok = "ok" if value <= target else "MISSED"
    fmt = (lambda v: f"{v * 1000:7.1f} ms") if unit == "ms" else (
        (lambda v: f"{v:7.2f} s ") if unit == "s" else (lambda v: f"{v:7.1f} MB"))
    print(f"  {label:<44} {fmt(value)}   target <= {fmt(target).strip():>9}   {ok}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    db = CACHE / f"customers-{args.customers}.db"
    url = build(db, args.customers, args.rebuild)
    starts, bare_starts, opens, rss = [], [], [], []
    bare = [sys.executable, "-c", BARE_APP]
    for i in range(5):  # alternately, so both see the same machine
        bare_starts.append(pty_session(url, argv=bare, painted=BARE_PAINTED)[0])
        elapsed, open_times, maxrss = pty_session(url, opens=4 if i else 0)
        starts.append(elapsed)
        opens.extend(open_times)
        rss.append(maxrss / 1024)
    figures = asyncio.run(interactive(url))
    print(f"\ncustomer list on {args.customers:,} customers ({db.name})")
    row("process start to list painted (median of 5)", statistics.median(starts), 1.0, "s")
    start, reference = statistics.median(starts), statistics.median(bare_starts)
    print(f"  {'start / bare Textual app, 100-row DataTable':<44} {start / reference:7.2f} x "
          f"  target <= {'2.00 x':>9}   {'ok' if start <= 2 * reference else 'MISSED'}")
    print(f"    (reference: {reference:.2f} s from exec to its table painted, median of 5)")
    row(f"search keystroke to table, median (n={len(figures['search'])})",
        statistics.median(figures["search"]), 0.050, "ms")
    row("search keystroke to table, p95", p95(figures["search"]), 0.100, "ms")
    row(f"status filter to table, median (n={len(figures['filter'])})",
        statistics.median(figures["filter"]), 0.050, "ms")
    row("status filter to table, p95", p95(figures["filter"]), 0.050, "ms")
    row(f"open a customer (Enter to header on the pty), median (n={len(opens)})",
        statistics.median(opens), 0.200, "ms")
    row("open a customer, p95", p95(opens), 0.200, "ms")
    row("peak RSS of the app process", max(rss), 200, "MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
