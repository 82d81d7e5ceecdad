"""The command line when the database fails: one line on stderr, the right exit code, nothing
written, never a traceback (SQLite: the commands run their own event loop)."""

from __future__ import annotations

import re
import sqlite3

import pytest

from connex_tui.cli import main
from tests.feeds.test_config_yaml import example

# the wait is measured, and a busy machine adds a little to it
BUSY = re.compile(r"connex-tui: the database is busy: another writer holds the lock "
                  r"\(waited 0\.\d s\); try again\n")


def path_of(url: str) -> str:
    return url.split(":///", 1)[1]


def count(url: str, table: str) -> int:
    with sqlite3.connect(path_of(url)) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def locked(sqlite_url, monkeypatch):
    """A migrated database whose write lock another writer holds; commands wait 0.2 s."""
    monkeypatch.setenv("CONNEX_BUSY_TIMEOUT", "0.2")
    with sqlite3.connect(path_of(sqlite_url)) as conn:
        conn.execute("INSERT INTO rate_cards (name, currency, direction, precision, rounding, "
                     "version, created_at, updated_at) VALUES ('Retail', 'USD', 'customer', "
                     "4, 'up', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')")
    holder = sqlite3.connect(path_of(sqlite_url), timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    yield sqlite_url
    holder.rollback()
    holder.close()


def test_config_apply_while_another_writer_holds_the_lock(locked, tmp_path, capsys):
    doc = tmp_path / "routing.yaml"
    doc.write_text(example())
    assert main(["--database-url", locked, "config", "apply", str(doc)]) == 1
    captured = capsys.readouterr()
    assert BUSY.fullmatch(captured.err)
    assert count(locked, "providers") == 0 and count(locked, "customers") == 0


def test_rates_import_while_another_writer_holds_the_lock(locked, tmp_path, capsys):
    csv = tmp_path / "r.csv"
    csv.write_text("prefix,destination,rate,connect_fee,increment\n44,UK,0.01,0,60/60\n")
    assert main(["--database-url", locked, "rates", "import", "Retail", str(csv)]) == 1
    assert BUSY.fullmatch(capsys.readouterr().err)
    assert count(locked, "rate_rows") == 0


@pytest.mark.parametrize("command", [
    ["config", "export"],
    ["rates", "export", "Retail"],
    ["simulate", "--number", "4420", "--ip", "192.0.2.1"],
])
def test_readonly_on_a_missing_database_creates_nothing(tmp_path, capsys, command):
    path = tmp_path / "data" / "connex.db"
    code = main(["--readonly", "--database-url", f"sqlite+aiosqlite:///{path}", *command])
    assert (code, capsys.readouterr().err) == (2, f"connex-tui: no database at {path}\n")
    assert not path.parent.exists()


@pytest.mark.parametrize("command", [
    ["simulate", "--number", "4420", "--ip", "192.0.2.1"],
    ["config", "export"],
])
def test_readonly_on_an_old_schema_says_to_upgrade_and_migrates_nothing(tmp_path, capsys,
                                                                        command):
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    sqlite3.connect(path).close()  # a file that was never migrated
    assert main(["--readonly", "--database-url", url, *command]) == 2
    assert capsys.readouterr().err == (
        f"connex-tui: the database at {path} has no connex-tui schema: run `connex-tui db "
        "upgrade` (as operator or admin), then start again\n")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_exports_never_create_a_database_for_any_role(tmp_path, capsys):
    path = tmp_path / "typo.db"
    assert main(["--database-url", f"sqlite+aiosqlite:///{path}", "config", "export"]) == 2
    assert capsys.readouterr().err == f"connex-tui: no database at {path}\n"
    assert not path.exists()


def test_an_unreachable_server_is_one_line(capsys):
    url = "postgresql+asyncpg://ops:s3cret@127.0.0.1:1/connex"
    assert main(["--database-url", url, "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("connex-tui: the database at 127.0.0.1:1/connex is unreachable: ")
    assert err.count("\n") == 1 and "s3cret" not in err


def test_busy_timeout_is_checked(capsys, monkeypatch, sqlite_url):
    monkeypatch.setenv("CONNEX_BUSY_TIMEOUT", "nan")
    assert main(["--database-url", sqlite_url, "config", "export"]) == 2
    assert capsys.readouterr().err == (
        "connex-tui: config error: environment CONNEX_BUSY_TIMEOUT: key 'busy_timeout' must "
        "be between 0 and 600 seconds\n")
