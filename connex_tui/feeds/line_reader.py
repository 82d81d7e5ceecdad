"""Lines of a file from outside, read with a bound: `rates import CARD /dev/zero` must not
grow until MemoryError, nor a batch of calls hang on one endless line.

A line is read with `readline(limit)`, so no more than `max_line` bytes are ever held for
it; a longer line is handed over as None (its rest skipped, up to `max_skip` bytes) and
the caller says what that means: the end of a rate file, one bad call of a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

CHUNK = 1 << 16  # bytes read at a time while skipping the rest of an overlong line


class LineTooLong(ValueError):
    """A line went on past `max_skip` bytes: this is no line-based file."""

    def __init__(self, line: int, max_line: int):
        super().__init__(f"line {line}: longer than {max_line} bytes")
        self.line = line


def read_lines(stream: BinaryIO, *, max_line: int, max_skip: int = 1 << 20,
               on_bytes: Callable[[int], None] | None = None
               ) -> Iterator[tuple[int, bytes | None]]:
    """(line number from 1, the line's bytes with its newline) or (n, None) for a line of
    more than `max_line` bytes, newline included. LineTooLong once a line passes `max_skip` bytes."""
    n = 0
    while True:
        raw = stream.readline(max_line + 1)
        if not raw:
            return
        n += 1
        if on_bytes is not None:
            on_bytes(len(raw))
        if len(raw) <= max_line:  # the newline counts
            yield n, raw
            continue
        skipped = len(raw)
        while not raw.endswith(b"\n"):
            raw = stream.readline(CHUNK)
            if not raw:
                break
            skipped += len(raw)
            if on_bytes is not None:
                on_bytes(len(raw))
            if skipped > max_skip:
                raise LineTooLong(n, max_line)
        yield n, None


class OutOfBounds(ValueError):
    """A file from outside broke one of its bounds (a line too long, too many lines or
    bytes, not UTF-8) at `line`: nothing after it can be trusted."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def bounded_text(stream: BinaryIO, *, max_line: int, max_lines: int, max_bytes: int,
                 row: str, file: str, on_bytes: Callable[[int], None] | None = None
                 ) -> Iterator[tuple[int, str]]:
    """(line number, UTF-8 text with its newline) of a binary stream, a leading BOM
    dropped. A line over `max_line` bytes, more than `max_lines` lines or `max_bytes` bytes
    (checked while reading, so /dev/zero or a FIFO cannot exhaust memory), or bytes that
    are not UTF-8 raise OutOfBounds; `row` and `file` name what was expected in its
    message ("not <row>", "the limit for <file>")."""
    total = 0
    try:
        for n, raw in read_lines(stream, max_line=max_line, max_skip=0):
            if raw is None:
                raise OutOfBounds(n, f"longer than {max_line} bytes: not {row}")
            total += len(raw)
            if n > max_lines or total > max_bytes:
                raise OutOfBounds(n, f"the file goes on past {max_lines:,} lines or "
                                     f"{max_bytes >> 20} MiB (the limit for {file})")
            if on_bytes is not None:
                on_bytes(len(raw))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise OutOfBounds(n, "not UTF-8 text") from None
            yield n, (text.removeprefix("\ufeff") if n == 1 else text)
    except LineTooLong as exc:
        raise OutOfBounds(exc.line, f"longer than {max_line} bytes: not {row}") from None
