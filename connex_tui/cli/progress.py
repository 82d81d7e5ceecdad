"""A one-line progress bar on stderr for long commands."""

from __future__ import annotations

import sys
import time


class Progress:
    """A one-line progress bar on stderr (plain text when stderr is not a terminal)."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._shown = -1
        self._finished = False

    def __call__(self, done: int, total: int) -> None:
        if self._finished:  # a stage may report its end twice (a dry run does): say it once
            return
        self._finished = done >= total
        pct = int(done * 100 / total) if total else 100
        now = time.monotonic()
        if self.tty:
            if now - self._last < 0.1 and done < total:
                return
            self._last = now
            width = 30
            filled = width * pct // 100
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {pct:3d}%")
            if done >= total:
                self.stream.write("\n")
        elif pct // 10 != self._shown // 10 or done >= total:
            self._shown = pct
            self.stream.write(f"{self.label}: {pct}%\n")
        self.stream.flush()
