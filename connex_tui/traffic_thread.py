"""The switch simulator inside the console (config `traffic`, `--traffic`, `make run`).

It runs on a thread of its own with its own event loop and database engine: its decisions
and writes (a few hundred a second at 200 CPS, mostly Python in SQLAlchemy and the CDR
writer) never sit between a key and the screen in the console's loop. It reaches the rest of
the console only through the dialogs table, like a switch in another process would, and
through the one-line messages it hands to `notify`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from connex_tui.config import Config
from connex_tui.data.access import Actor, StorageError
from connex_tui.feeds.loop_thread import LoopThread


class TrafficThread(LoopThread):
    name = "traffic"

    def __init__(self, config: Config, notify: Callable[[str], None]):
        super().__init__()
        self.config = config
        self.notify = notify  # called from the traffic thread: must be thread-safe
        self.switch = None  # the Switch, once it runs (its summary is read for tests)

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop it; the calls it holds are hung up and written first (within `timeout`
        seconds; past it they stay in the dialogs table, where an operator may end them)."""
        await super().stop(timeout)

    async def run(self, stop: asyncio.Event) -> None:
        from connex_tui.data.calls import CallsService
        from connex_tui.data.db import Database
        from connex_tui.data.dialogs import DialogsService
        from connex_tui.feeds.traffic import Switch, TrafficError, TrafficOptions

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
            await self.switch.run(stop=stop)
        except TrafficError as exc:
            self.notify(f"Traffic off: {exc}")
        except StorageError as exc:
            self.notify(f"Traffic stopped: {exc}")
        finally:
            await db.dispose()
