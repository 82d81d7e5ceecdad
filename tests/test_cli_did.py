"""`connex-tui did list|add|assign` on a SQLite file: what it prints, what the database holds
after it, and bad input (one line per problem, exit 2, nothing written)."""

from __future__ import annotations

import asyncio
import json

import pytest

from connex_tui.cli import main
from connex_tui.data.access import Actor
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database, upgrade
from connex_tui.data.dids import DidsService


@pytest.fixture
def url(tmp_path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'did.db'}"

    async def build():
        db = Database(url)
        try:
            await upgrade(db)
            await CustomerService(db, Actor("t", "admin")).create(
                {"name": "Acme Telecom", "currency": "EUR"})
        finally:
            await db.dispose()

    asyncio.run(build())
    return url


def did(url: str, *args: str) -> int:
    return main(["--database-url", url, "did", *args])


def stored(url: str) -> list[tuple[str, str, str]]:
    async def read():
        db = Database(url)
        try:
            rows = await DidsService(db, Actor("t")).search(limit=100)
        finally:
            await db.dispose()
        return [(r.number, r.customer, str(r.monthly_retail)) for r in rows]

    return asyncio.run(read())


def test_add_assign_list(url, capsys):
    assert did(url, "add", "+44 20 7946 0000", "0012025550123", "--retail", "2.5",
               "--cost", "1", "--destination", "sip:100@192.0.2.1") == 0
    assert capsys.readouterr().out == "2 DID(s) added\n"
    assert did(url, "assign", "+1 202-555-0123", "--customer", "acme TELECOM") == 0
    assert capsys.readouterr().out == "+12025550123 assigned to Acme Telecom\n"
    assert stored(url) == [("12025550123", "Acme Telecom", "2.500000"),
                           ("442079460000", "", "2.500000")]
    assert did(url, "list", "--customer", "Acme Telecom", "--json") == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "number": "12025550123", "customer": "Acme Telecom", "currency": "EUR",
        "destination": "sip:100@192.0.2.1", "destination2": "", "destination3": "",
        "monthly_cost": "1.00", "monthly_retail": "2.50", "margin": "1.50",
        "max_duration": 7200, "enabled": True, "provider_card": None, "customer_card": None}
    assert did(url, "list", "--unassigned") == 0
    head, row = capsys.readouterr().out.splitlines()
    assert head.split()[:3] == ["NUMBER", "CUSTOMER", "DESTINATION"]
    assert row.split() == ["+442079460000", "-", "sip:100@192.0.2.1", "2.50", "1.00",
                           "1.50", "yes"]
    assert did(url, "assign", "+12025550123", "--unassign") == 0
    assert capsys.readouterr().out == "+12025550123 unassigned\n"


def test_numbers_as_arguments_are_named_by_themselves(url, capsys):
    assert did(url, "add", "+1 202 555 0123", "+1 999", "0012025550123") == 2
    assert capsys.readouterr().err.splitlines() == [
        "connex-tui did: +1 999: number: +1999 is not a valid number for its country",
        "connex-tui did: 0012025550123: number: +12025550123 is also given as +1 202 555 0123",
        "connex-tui did: nothing added: 2 problem(s)"]
    assert stored(url) == []


def test_csv_all_or_nothing_one_line_per_bad_row(url, tmp_path, capsys):
    path = tmp_path / "dids.csv"
    path.write_text("number,monthly_retail,customer,destination\n"
                    "+12025550150,1.5,Acme Telecom,ext:acme telecom/100\n"
                    "bad,1,,\n"
                    "+12025550151,1e3,,\n"
                    "+12025550152,1,Nobody,\n"
                    "+12025550150,1,,\n")
    assert did(url, "add", "--from-file", str(path)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "connex-tui did: line 3: number: a phone number in international form, like +44 20 "
        "7946 0000",
        "connex-tui did: line 4: monthly_retail: must be a plain number like 12.50",
        "connex-tui did: line 5: customer: no customer named Nobody",
        "connex-tui did: line 6: number: +12025550150 is also on line 2",
        "connex-tui did: nothing added: 4 problem(s)"]
    assert stored(url) == []
    path.write_text("number,monthly_retail,customer,destination\n"
                    "+12025550150,1.5,Acme Telecom,ext:acme telecom/100\n"
                    "+12025550151,0,,\n")
    assert did(url, "add", "--from-file", str(path)) == 0
    assert stored(url) == [("12025550150", "Acme Telecom", "1.500000"),
                           ("12025550151", "", "0.000000")]


@pytest.mark.parametrize(("args", "message"), [
    (("add",), "give numbers or --from-file CSV (one of them)"),
    (("add", "--from-file", "/nonexistent.csv"), "/nonexistent.csv: No such file or directory"),
    (("assign", "123", "--unassign"), "123: +123 is not a valid number for its country"),
    (("assign", "+12025550123", "--customer", "Acme Telecom"),
     "+12025550123 is not a DID of ours"),
    (("list", "--customer", "Nobody"), "no customer named Nobody"),
    (("list", "--customer", "a\x1b[2J"), "--customer: not a customer name"),
])
def test_bad_arguments_one_line_exit_2(url, capsys, args, message):
    assert did(url, *args) == 2
    assert capsys.readouterr().err == f"connex-tui did: {message}\n"


def test_file_bounds_and_header(url, tmp_path, capsys):
    path = tmp_path / "big.csv"
    path.write_bytes(b"number\n" + b"1" * 5000 + b"\n")
    assert did(url, "add", "--from-file", str(path)) == 2
    assert "line 2: longer than 2000 bytes" in capsys.readouterr().err
    path.write_text("number,price\n+12025550150,1\n")
    assert did(url, "add", "--from-file", str(path)) == 2
    assert "line 1: the header names columns of" in capsys.readouterr().err
    assert main(["--database-url", url, "--readonly", "did", "add", "+12025550150"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert stored(url) == []
