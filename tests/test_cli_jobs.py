"""`connex-tui jobs run`: what it prints, that a dry run writes nothing, that a rerun
charges nothing, and one-line refusals (exit 2)."""

from __future__ import annotations

import asyncio
import sqlite3

from connex_tui.cli import main
from connex_tui.data.access import Actor
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database
from connex_tui.data.packages import PackagesService


def setup(url: str) -> None:
    async def go():
        db = Database(url)
        try:
            actor = Actor("t", "admin")
            cid = await CustomerService(db, actor).create({"name": "Acme Telecom",
                                                          "currency": "USD"})
            pk = PackagesService(db, actor)
            pid = await pk.create_package({"name": "Fee", "currency": "USD", "retail": "25",
                                           "setup_retail": "10", "match_days": "1"})
            await pk.assign(cid, {"package_id": str(pid), "quantity": "2",
                                  "start": "2026-11-15"})
        finally:
            await db.dispose()

    asyncio.run(go())


def rows(url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///")) as con:
        return con.execute(sql).fetchall()


def jobs(url: str, *args: str) -> int:
    return main(["jobs", "run", "--database-url", url, *args])


def test_dry_run_then_run_then_rerun(sqlite_url, capsys):
    setup(sqlite_url)
    assert jobs(sqlite_url, "--at", "2026-12-01T06:00", "--dry-run") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Acme", "Telecom", "70.00", "USD", "Package", "Fee", "x2",
                              "2026-11-15", "+", "setup"]
    assert out[1].split()[2:] == ["50.00", "USD", "Package", "Fee", "x2", "2026-12-01"]
    assert out[2:] == ["would charge package: 120.00 USD",
                       "2 charge(s) due at 2026-12-01T06:00:00Z (dry run: nothing "
                       "written)"]
    assert rows(sqlite_url, "SELECT count(*) FROM package_runs") == [(0,)]
    assert rows(sqlite_url, "SELECT count(*) FROM ledger") == [(0,)]
    assert jobs(sqlite_url, "--at", "2026-12-01T06:00") == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "charged package: 120.00 USD", "2 charge(s) made at 2026-12-01T06:00:00Z"]
    assert rows(sqlite_url, "SELECT amount FROM ledger ORDER BY id") == [
        (-70_000_000,), (-50_000_000,)]
    assert jobs(sqlite_url, "--at", "2026-12-01T07:00") == 0
    assert capsys.readouterr().out == "nothing due at 2026-12-01T07:00:00Z\n"
    assert rows(sqlite_url, "SELECT balance FROM customers") == [(-120_000_000,)]


def test_refusals_are_one_line_exit_2(sqlite_url, capsys):
    setup(sqlite_url)
    for args in (["--at", "yesterday"], ["--at", "2026-13-01"], ["--at", ""]):
        assert jobs(sqlite_url, *args) == 2
        err = capsys.readouterr().err
        assert err.startswith("connex-tui jobs run: --at:") and err.count("\n") == 1
    assert main(["--readonly", "jobs", "run", "--database-url", sqlite_url]) == 2
    assert "viewer" in capsys.readouterr().err
    assert rows(sqlite_url, "SELECT count(*) FROM ledger") == [(0,)]
