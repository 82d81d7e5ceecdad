"""A job that runs inside the console on a thread of its own, with its own event loop (and,
in the job, its own database engine): its queries and I/O never sit between a key and the
screen. The traffic simulator and the alert evaluator are such jobs."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class LoopThread:
    name = "job"

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=lambda: asyncio.run(self._main()),
                                            name=self.name, daemon=True)
            self._thread.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """Ask the job to stop and wait for its thread (at most `timeout` seconds each)."""
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
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self.run(self._stop)

    async def run(self, stop: asyncio.Event) -> None:
        """Override: the job, on the thread's loop, until `stop` is set."""
        raise NotImplementedError
