"""The switch simulator inside the console (config `traffic`, `--traffic`, `make run`).

It runs on a thread of its own with its own event loop and database engine: its decisions
and writes (a few hundred a second at 200 CPS, mostly Python in SQLAlchemy and the CDR
writer) never sit between a key and the screen in the console's loop. It reaches the rest of
the console only through the dialogs table, like a switch in another process would, and
through the one-line messages it hands to `notify`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from connex_tui.config import Config
from connex_tui.data.access import Actor, StorageError


class TrafficThread:
    def __init__(self, config: Config, notify: Callable[[str], None]):
        self.config = config
        self.notify = notify  # called from the traffic thread: must be thread-safe
        self.switch = None  # the Switch, once it runs (its summary is read for tests)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=lambda: asyncio.run(self._main()),
                                            name="traffic", daemon=True)
            self._thread.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop it; the calls it holds are hung up and written first (within `timeout`
        seconds; past it they stay in the dialogs table, where an operator may end them)."""
        thread = self._thread
        if thread is None:
            return
        await asyncio.to_thread(self._ready.wait, timeout)
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # its loop has ended already
                self._loop.call_soon_threadsafe(self._stop.set)
        await asyncio.to_thread(thread.join, timeout)
        self._thread = None

    async def _main(self) -> None:
        from connex_tui.data.calls import CallsService
        from connex_tui.data.db import Database
        from connex_tui.data.dialogs import DialogsService
        from connex_tui.feeds.traffic import Switch, TrafficError, TrafficOptions

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        warned: list[str] = []

        def failed(exc: StorageError) -> None:
            if not warned:  # once: the switch retries every tick
                warned.append(str(exc))
                self.notify(f"Traffic: {exc} (retrying)")

        db = Database.for_config(self.config)
        try:
            actor = Actor("switch", "operator")  # the switch writes calls, not the operator
            dialogs = DialogsService(db, actor)
            self.switch = Switch(dialogs, CallsService(db, actor, cache=dialogs.cache),
                                 TrafficOptions(cps=self.config.traffic_cps), on_error=failed)
            await self.switch.run(stop=self._stop)
        except TrafficError as exc:
            self.notify(f"Traffic off: {exc}")
        except StorageError as exc:
            self.notify(f"Traffic stopped: {exc}")
        finally:
            await db.dispose()
