"""Where every export is written: standard output, or a file that is either written whole or
not at all (the `rates`/`config`/`cdr export` commands and the CDR tab's CSV export)."""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

FIFO_WAIT = 5.0  # seconds a FIFO is given to get a reader before the export is refused


@contextmanager
def open_export(path: str | None, *, private: bool = False):
    """A text stream for an export: stdout, or FILE written so that a failed export
    never leaves half a file and nothing but a regular file is ever replaced.

    A new path or a regular file (also behind a symlink, which stays and has its target
    rewritten) gets a temporary file beside it renamed over it once complete, keeping the
    old file's mode. A FIFO, a terminal or a device (/dev/stdout, /dev/null) is written
    into as it is, in place, like a shell redirect. `private` (secrets): the file is
    created, or left, mode 0600."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    try:
        st = os.stat(path)  # follows a symlink: what matters is what it points at
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        fd = _open_fifo(path) if stat.S_ISFIFO(st.st_mode) else os.open(path, os.O_WRONLY)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        return
    target = Path(os.path.realpath(path))  # a symlink's target (the link itself stays)
    mode = 0o600 if private else (stat.S_IMODE(st.st_mode) if st else 0o666 & ~_umask())
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


def _open_fifo(path: str) -> int:
    """A FIFO opened for writing once something reads it: a plain open() would wait for a
    reader for ever (`--output pipe` with nobody at the other end hung until kill -9)."""
    deadline = time.monotonic() + FIFO_WAIT
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            if time.monotonic() >= deadline:
                raise OSError(errno.ENXIO, "no process reads this FIFO", path) from None
            time.sleep(0.05)
            continue
        os.set_blocking(fd, True)
        return fd


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
