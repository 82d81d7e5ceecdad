"""Fixtures shared by every test suite: keep this small and generic.

- every test runs with its own XDG directories and without the operator's CONNEX_* settings,
  so nobody's real ~/.config/connex-tui/config.yaml or database is ever read or written;
- `sqlite_template` is a SQLite file migrated once per session, and `sqlite_url` a private
  copy of it per test (copying is far quicker than running the migrations again).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from connex_tui.data.db import Database, upgrade

# CI runs the examples a fixed seed gives, so a run cannot fail on an example no run before
# found (locally the search stays random: `HYPOTHESIS_PROFILE=explore` to search harder).
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI") else "default"))

KEEP_ENV = ("CONNEX_TEST_PG_URL",)


@pytest.fixture(autouse=True)
def _isolate_user_env(monkeypatch, tmp_path_factory):
    home = tmp_path_factory.getbasetemp() / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    for key in list(os.environ):
        if key.startswith("CONNEX_") and key not in KEEP_ENV:
            monkeypatch.delenv(key)


def sqlite_url_for(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database at the schema head, made once per session (sync: own event loop)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    asyncio.run(_migrate(sqlite_url_for(path)))
    return path


@pytest.fixture(name="sqlite_url")
def sqlite_url_fixture(tmp_path, sqlite_template) -> str:
    """URL of a fresh, migrated SQLite file private to this test."""
    path = tmp_path / "connex.db"
    for suffix in ("", "-wal"):  # the engine is disposed: normally no -wal is left
        src = sqlite_template.with_name(sqlite_template.name + suffix)
        if src.exists():
            shutil.copyfile(src, path.with_name(path.name + suffix))
    return sqlite_url_for(path)


class _Inbox:
    """What the loopback SMTP server received: (envelope from, recipients, message)."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], object]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        from email import message_from_bytes
        from email.policy import default

        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port, plain (smtp_tls: none).
    Yields (host, port, inbox); inbox.messages fills as mail arrives."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd's start-up check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, inbox
    finally:
        controller.stop()
