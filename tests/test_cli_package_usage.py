"""`connex-tui packages usage`: free minutes used and left, as text and JSON, and bad
arguments (exit 2, one line), on a SQLite file whose calls went through the CDR writer."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import update

from connex_tui.cli import main
from connex_tui.data.access import Actor
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database
from connex_tui.data.models import Package
from tests.data.test_free_minutes import T, call, customer_with_package, write


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> str:
    """Acme with 10 free minutes a day to ^44, 90 s of it used on T's day; Bare without."""
    from connex_tui.data.db import upgrade

    path = tmp_path_factory.mktemp("cli-packages") / "usage.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def build():
        db = Database(url)
        try:
            await upgrade(db)
            admin = CustomerService(db, Actor("t", "admin"))
            cid = await customer_with_package(admin, db, name="Acme Telecom")
            await admin.create({"name": "Bare", "currency": "USD"})
            await write(db, [call(cid, 90)])
            async with db.sessions() as s, s.begin():  # a name from outside, unvalidated
                await s.execute(update(Package).values(name="UK\x1b[31m daily"))
        finally:
            await db.dispose()

    asyncio.run(build())
    return url


def usage(url: str, *args: str) -> int:
    return main(["packages", "usage", "--database-url", url, *args])


def test_json(url, capsys):
    assert usage(url, "--customer", "acme telecom", "--at", "2025-03-14T12:00",
                 "--json") == 0
    assert json.loads(capsys.readouterr().out) == [
        {"package": "UK\x1b[31m daily", "interval_start": "2025-03-14T00:00:00+00:00",
         "allowance_s": 600, "used_s": 90, "left_s": 510}]
    assert usage(url, "--customer", "bare", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


def test_text_escapes_the_package_name(url, capsys):
    assert usage(url, "--customer", "ACME TELECOM", "--at", T.isoformat()) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert out.splitlines()[2:] == [
        "  Package           Interval from (UTC)  Allowance  Used  Left",
        "  UK\\x1b[31m daily  2025-03-14 00:00         10:00  1:30  8:30"]
    assert usage(url, "--customer", "Acme Telecom", "--at", "2025-03-15") == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("10:00  0:00  10:00")


@pytest.mark.parametrize(("args", "message"), [
    ((), "--customer NAME is required"),
    (("--customer", "Nobody"), "no customer named 'Nobody'"),
    (("--customer", "Bare", "--at", "yesterday"), "--at: "),
    (("--customer", "Bare", "--at", "1e3"), "--at: "),
])
def test_bad_arguments_exit_2_with_one_line(url, capsys, args, message):
    assert usage(url, *args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"connex-tui packages usage: {message}")
