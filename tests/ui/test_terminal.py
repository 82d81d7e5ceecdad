"""The real program on a pseudo-terminal: mouse off, NO_COLOR, exit on hang-up."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

from tests.ui.conftest import sqlite_url

ANSI = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]")


def run_on_pty(db_path, env_extra: dict, until: bytes, then=signal.SIGHUP):
    pid, fd = pty.fork()
    if pid == 0:  # child: the program as an operator starts it
        os.environ.update({"TERM": "xterm-256color", **env_extra})
        os.execv(sys.executable, [sys.executable, "-m", "connex_tui", "--database-url",
                                  sqlite_url(db_path)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    out = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and until not in ANSI.sub(b"", out):
        if select.select([fd], [], [], 0.1)[0]:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    time.sleep(0.2)
    sent = time.monotonic()
    os.kill(pid, then)
    status = None
    while time.monotonic() - sent < 5:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if select.select([fd], [], [], 0.05)[0]:
            with contextlib.suppress(OSError):
                out += os.read(fd, 65536)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError("the app did not exit within 5 s of the hang-up")
    os.close(fd)
    return out, status, time.monotonic() - sent


def test_hang_up_exits_and_mouse_tracking_is_off(db_path):
    out, status, took = run_on_pty(db_path, {}, until=b"0 customers")
    assert b"0 customers" in ANSI.sub(b"", out)
    assert os.WIFEXITED(status) or os.WIFSIGNALED(status)
    assert took < 5
    assert b"\x1b[?1000h" not in out and b"\x1b[?1003h" not in out  # no mouse tracking


def test_no_color_sends_no_colour_codes(db_path):
    out, _, _ = run_on_pty(db_path, {"NO_COLOR": "1"}, until=b"0 customers")
    colours = re.findall(rb"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25];[0-9;]+)m", out)
    assert colours == []


def test_hang_up_with_nobody_reading_still_exits(db_path):
    """As over a dead SSH link: nobody reads the terminal (the app's writes block), then
    SIGHUP. The app must still be gone within seconds."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update({"TERM": "xterm-256color"})
        os.execv(sys.executable, [sys.executable, "-m", "connex_tui", "--database-url",
                                  sqlite_url(db_path)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    time.sleep(2)
    for _ in range(6):  # repaints pile up in a terminal buffer nobody drains
        os.write(fd, b"a")
        time.sleep(0.3)
        os.write(fd, b"\x1b")
        time.sleep(0.3)
    os.kill(pid, signal.SIGHUP)
    sent = time.monotonic()
    try:
        while time.monotonic() - sent < 6:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError("still running 6 s after the hang-up")
    finally:
        os.close(fd)
