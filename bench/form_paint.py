"""Key to form painted: add/edit customer, add/edit route, add/edit IP auth.

The reference, measured in the same process and the same minutes (this machine's speed drifts
3-5x from hour to hour): a bare Textual app whose key pushes a ModalScreen with 13 labelled
Inputs, composed and painted from scratch. Target: each form <= 0.5x the reference.

A paint is the first frame of the new screen that the compositor hands to the display (turned
into terminal text here too, as on a real terminal). Forms are built once per app and reset
on the next open, so the first opening (the build) is shown apart from the reopenings.

    .venv/bin/python bench/form_paint.py [--repeats N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.app import App, ComposeResult  # noqa: E402
from textual.binding import Binding  # noqa: E402
from textual.containers import Vertical  # noqa: E402
from textual.screen import ModalScreen, Screen  # noqa: E402
from textual.widgets import Input, Label, Static  # noqa: E402

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TARGET = 0.5


class BareForm(ModalScreen[None]):
    DEFAULT_CSS = """
    BareForm { align: center middle; }
    BareForm > Vertical { width: 76; height: auto; max-height: 100%; border: round $primary;
        background: $surface; }
    BareForm Label { width: 22; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical():
            for i in range(13):
                yield Label(f"Field {i + 1}")
                yield Input(placeholder=f"value {i + 1}")


class BareApp(App):
    BINDINGS = [Binding("a", "open", "Open")]

    def compose(self) -> ComposeResult:
        yield Static("bare list")

    def action_open(self) -> None:
        self.push_screen(BareForm())


def watch_paints(app: App) -> list[tuple[float, Screen]]:
    """(time, screen) of every frame the compositor hands to the display."""
    paints: list[tuple[float, Screen]] = []
    display = app._display

    def timed(screen, update) -> None:
        if update is not None:
            if hasattr(update, "render_segments"):
                update.render_segments(app.console)  # the terminal text, as if written
            paints.append((time.perf_counter(), screen))
        display(screen, update)

    app._display = timed  # type: ignore[method-assign]
    return paints


async def until(cond, timeout: float = 20.0) -> None:
    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError
        await asyncio.sleep(0.0005)


async def key_to_paint(pilot, paints, key: str, kind: type) -> float:
    """Seconds from the key to the first frame of a new `kind` screen; it is then closed."""
    app = pilot.app
    await pilot.pause()
    t0 = time.perf_counter()
    await pilot.press(key)
    await until(lambda: any(t > t0 and isinstance(s, kind) for t, s in paints))
    took = next(t for t, s in paints if t > t0 and isinstance(s, kind)) - t0
    await until(lambda: isinstance(app.screen, kind) and app.screen.is_mounted)
    await pilot.pause()
    await pilot.press("escape")
    await until(lambda: not isinstance(app.screen, kind))
    await pilot.pause()
    return took


async def reference(repeats: int) -> list[float]:
    app = BareApp()
    paints = watch_paints(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        return [await key_to_paint(pilot, paints, "a", BareForm) for _ in range(repeats)]


async def seed(path: Path) -> str:
    from connex_tui.data.db import Database, upgrade
    from connex_tui.feeds.demo import DemoOptions
    from connex_tui.feeds.demo import seed as demo_seed

    url = f"sqlite+aiosqlite:///{path}"
    db = Database(url)
    try:
        await upgrade(db)
        await demo_seed(db, DemoOptions(customers=6, days=1, seed=7, now=NOW))
    finally:
        await db.dispose()
    return url


async def forms(url: str, repeats: int) -> dict[str, list[float]]:
    from connex_tui.app import ConnexApp
    from connex_tui.config import Config
    from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
    from connex_tui.screens.customer_list import CustomerListScreen
    from connex_tui.widgets.form import FormScreen

    app = ConnexApp(Config(database_url=url, operator="bench", role="admin"),
                    clock=lambda: NOW)
    paints = watch_paints(app)
    out: dict[str, list[float]] = {}

    async def measure(name: str, key: str) -> None:
        out[name] = [await key_to_paint(pilot, paints, key, FormScreen)
                     for _ in range(repeats + 1)]  # the first one builds the form

    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: isinstance(app.screen, CustomerListScreen)
                    and app.screen.render_count > 0)
        await measure("add customer", "a")
        await measure("edit customer", "e")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, CustomerDetailScreen)
                    and app.screen.loaded > 0)
        for digit, tab_id, what in (("3", "routing-tab", "route"), ("4", "auth-tab", "IP auth")):
            await pilot.press(digit)
            await until(lambda t=tab_id: app.screen.query_one(f"#{t}").loaded > 0)
            await pilot.pause()
            await measure(f"add {what}", "a")
            await measure(f"edit {what}", "e")
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = asyncio.run(seed(Path(tmp) / "bench.db"))
        # the reference before and after the forms: the median of both runs is the drift-fair one
        ref_runs = asyncio.run(reference(args.repeats))
        measured = asyncio.run(forms(url, args.repeats))
        ref_runs += asyncio.run(reference(args.repeats))
    ref = statistics.median(ref_runs)
    print("Key to form painted, 80x24 (median of "
          f"{args.repeats}; ratio to the bare 13-Input ModalScreen)")
    print(f"  {'bare ModalScreen, 13 labelled Inputs':<34} {ms(ref)}   reference")
    print(f"  {'figure':<34} {'median':>10}   {'target':>9}   {'ratio':>5}          first open")
    missed = 0
    for name, times in measured.items():
        first, again = times[0], statistics.median(times[1:])
        ratio = again / ref
        ok = "ok" if ratio <= TARGET else "MISSED"
        missed += ratio > TARGET
        print(f"  {name:<34} {ms(again)}   <= {TARGET:.1f}x   {ratio:5.2f}x  {ok:<6}  "
              f"{ms(first)} ({first / ref:.2f}x)")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
