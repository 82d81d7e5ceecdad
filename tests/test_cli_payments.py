"""`connex-tui payments add|list|cancel` and `balance`: exact money, JSON keys exactly,
bad input exits 2 with one line and writes nothing."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from connex_tui.cli import main
from connex_tui.data.access import Actor
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database
from connex_tui.data.models import LedgerEntry, Payment


@pytest.fixture
def url(sqlite_url) -> str:
    async def build():
        db = Database(sqlite_url)
        try:
            await CustomerService(db, Actor("t", "admin")).create(
                {"name": "Acme Telecom", "currency": "EUR", "tax_percent": "20",
                 "debit_limit": "50"})
        finally:
            await db.dispose()

    asyncio.run(build())
    return sqlite_url


def run(url: str, *args: str) -> int:
    return main([*args[:1], "--database-url", url, *args[1:]]) if args[0] == "balance" \
        else main(["payments", "--database-url", url, *args])


def rows(url: str) -> tuple[int, int]:
    async def count():
        db = Database(url)
        try:
            async with db.sessions() as s:
                return (await s.scalar(select(func.count()).select_from(Payment)),
                        await s.scalar(select(func.count()).select_from(LedgerEntry)))
        finally:
            await db.dispose()

    return asyncio.run(count())


def test_add_list_cancel_balance(url, capsys):
    assert run(url, "add", "--customer", "acme telecom", "--amount", "120", "--fee", "2.5",
               "--description", "Wire WT1 # checked by noc1") == 0
    out = capsys.readouterr().out
    assert out == ("payment 1 added: 120.00 EUR completed, net 100.00 EUR credited; "
                   "balance 100.00 EUR\n")
    assert run(url, "add", "--customer", "Acme Telecom", "--amount", "0.000001",
               "--status", "pending") == 0
    capsys.readouterr()
    assert run(url, "list", "--customer", "Acme Telecom", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [list(p) for p in listed] == [["id", "at", "description", "note", "amount", "tax",
                                         "net", "fee", "status"]] * 2
    first = listed[1]
    assert {k: v for k, v in first.items() if k != "at"} == {
        "id": 1, "description": "Wire WT1", "note": "checked by noc1",
        "amount": "120.000000", "tax": "20.000000", "net": "100.000000", "fee": "2.500000",
        "status": "completed"}
    assert listed[0]["status"] == "pending" and listed[0]["amount"] == "0.000001"
    assert run(url, "balance", "--customer", "ACME TELECOM", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "currency": "EUR", "balance": "100.000000", "debit_limit": "50.000000",
        "available": "150.000000", "ledger_sum": "100.000000"}
    assert run(url, "cancel", "1") == 0
    assert capsys.readouterr().out == ("payment 1 cancelled: net 100.00 EUR debited back; "
                                       "balance 0.00 EUR\n")
    assert rows(url) == (2, 2)
    assert run(url, "list", "--customer", "Acme Telecom") == 0
    text = capsys.readouterr().out
    assert "Wire WT1" in text and "checked by noc1" not in text and "cancelled" in text
    assert run(url, "balance", "--customer", "Acme Telecom") == 0
    assert "Ledger sum   0.00 EUR" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (("--amount", "0"), "--amount: must be above 0"),
    (("--amount", "-5"), "--amount: must be above 0"),
    (("--amount", "1e3"), "--amount: must be a plain number like 12.50"),
    (("--amount", "1,000"), "--amount: must be a plain number like 12.50"),
    (("--amount", "abc"), "--amount: must be a plain number like 12.50"),
    (("--amount", "1.0000001"), "--amount: at most 6 decimals"),
    (("--amount", "99999999999999"), "--amount: too large"),
    (("--amount", "2000000000"), "--amount: at most 1,000,000,000"),
    ((), "--amount: required: an amount above 0"),
    (("--amount", "5", "--fee", "-1"), "--fee: must be 0 or more"),
    (("--amount", "5", "--status", "cancelled"), "--status: a new payment is completed or "
                                                  "pending"),
    (("--amount", "5", "--description", "a\x1bb"), "--description: control characters"),
])
def test_bad_add_exits_2_with_one_line_and_writes_nothing(url, capsys, args, message):
    assert run(url, "add", "--customer", "Acme Telecom", *args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"connex-tui payments add: {message}")
    assert captured.err.count("\n") == 1
    assert rows(url) == (0, 0)


@pytest.mark.parametrize("args, message", [
    (("add", "--amount", "5"), "payments add: --customer NAME is required"),
    (("add", "--customer", "Nobody", "--amount", "5"),
     "payments add: no customer named 'Nobody'"),
    (("list", "--customer", "Nobody"), "payments list: no customer named 'Nobody'"),
    (("cancel", "7"), "payments cancel: payment 7 not found"),
    (("cancel", "x1"), "payments cancel: 'x1' is not a payment id"),
    (("balance", "--customer", "a\nb"), "balance: --customer: not a customer name"),
])
def test_bad_arguments(url, capsys, args, message):
    assert run(url, *args) == 2
    err = capsys.readouterr().err
    assert err == f"connex-tui {message}\n"


def test_cancel_twice_and_viewer(url, capsys):
    assert run(url, "add", "--customer", "Acme Telecom", "--amount", "10") == 0
    assert run(url, "cancel", "1") == 0
    assert run(url, "cancel", "1") == 2
    assert capsys.readouterr().err == ("connex-tui payments cancel: payment 1: the payment "
                                       "is cancelled already\n")
    assert main(["--readonly", "payments", "--database-url", url, "add", "--customer",
                 "Acme Telecom", "--amount", "10"]) == 2
    assert "read-only" in capsys.readouterr().err
    assert rows(url) == (1, 2)
