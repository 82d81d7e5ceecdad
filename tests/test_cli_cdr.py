"""`connex-tui cdr export` and `cdr recalc`, in-process on the CDR world of
tests/data/cdr_world.py (SQLite)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os

import pytest

from connex_tui.cli import main
from connex_tui.data import ledger
from connex_tui.data.db import Database
from connex_tui.engine.cdr_fields import EXPORT_FIELDS
from tests.data import cdr_world

DAY = cdr_world.DAY.date().isoformat()


@pytest.fixture
def url(sqlite_url) -> str:
    async def build():
        db = Database(sqlite_url)
        try:
            ids = await cdr_world.world(db)
            # a hostile number from a switch: a formula, and a control character
            await cdr_world.write(db, [cdr_world.call(
                ids, 777, at=cdr_world.DAY.replace(hour=23), seconds=1,
                dialled="=HYPERLINK(1)\x1b")])
        finally:
            await db.dispose()

    asyncio.run(build())
    return sqlite_url


def cdr(url, *args) -> int:
    return main(["cdr", *args, "--database-url", url])


def test_csv_export_has_the_fields_exact_money_and_no_formulas(url, capsys):
    assert cdr(url, "export", "--customer", "ALICE", "--from", DAY, "--to", DAY) == 0
    out = capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == EXPORT_FIELDS
    assert len(rows) == 1 + 12 + 4 + 1  # no simulated call
    first = dict(zip(EXPORT_FIELDS, rows[1], strict=True))
    assert first == {
        "call_id": "c00000", "start": "2025-03-13T09:00:00Z", "answer": "2025-03-13T09:00:03Z",
        "end": "2025-03-13T09:00:12.100000Z", "duration_ms": "9100", "billed_s": "10",
        "dialled": "4412345678", "cli_in": "441000", "cli_out": "441000", "prefix": "44",
        "destination": "UK", "rate": "0.5", "connect_fee": "0", "charge": "1",
        "provider": "Acme", "provider_cost": "0.5", "sip_code": "200", "sip_reason": "OK",
        "release_reason": "callee_bye", "pdd_ms": "900", "source_ip": "192.0.2.10",
        "free_s": "0"}
    busy = dict(zip(EXPORT_FIELDS, rows[13], strict=True))
    assert (busy["answer"], busy["charge"], busy["sip_code"]) == ("", "0", "486")
    assert rows[-1][6] == "'=HYPERLINK(1)\x1b"  # neutralised for a spreadsheet


def test_jsonl_export_to_a_file(url, tmp_path, capsys):
    target = tmp_path / "out.jsonl"
    assert cdr(url, "export", "--customer", "Alice", "--from", DAY, "--to", DAY,
               "--format", "jsonl", "--output", str(target)) == 0
    assert "17 CDRs of Alice written to" in capsys.readouterr().err
    lines = target.read_text().splitlines()
    assert len(lines) == 17
    first = json.loads(lines[0])
    assert list(first) == list(EXPORT_FIELDS)
    assert (first["charge"], first["rate"], first["duration_ms"], first["pdd_ms"]) == (
        "1", "0.5", 9100, 900)
    assert json.loads(lines[12])["answer"] is None
    assert "\x1b" not in lines[-1] and json.loads(lines[-1])["dialled"] == "=HYPERLINK(1)\x1b"


@pytest.mark.parametrize("args, message", [
    (["--from", "2025-3-13", "--to", DAY], "YYYY-MM-DD"),
    (["--from", DAY, "--to", "2025-02-30"], "day is out of range"),
    # the day after 9999-12-31 overflowed (a traceback); year 1 is no day of any call
    (["--from", "9999-12-31", "--to", "9999-12-31"], "between 1970-01-01 and 2199-12-31"),
    (["--from", "0001-01-01", "--to", DAY], "between 1970-01-01 and 2199-12-31"),
])
@pytest.mark.parametrize("command", [["export"], ["recalc", "--rerate", "--dry-run"]])
def test_bad_dates_are_refused(url, capsys, args, message, command):
    with pytest.raises(SystemExit) as exc:
        cdr(url, *command, "--customer", "Alice", *args)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_unknown_customer_and_reversed_range(url, tmp_path, capsys):
    target = tmp_path / "x.csv"
    assert cdr(url, "export", "--customer", "Nobody", "--from", DAY, "--to", DAY,
               "--output", str(target)) == 2
    assert "no customer named 'Nobody'" in capsys.readouterr().err and not target.exists()
    assert cdr(url, "export", "--customer", "Alice", "--from", DAY, "--to",
               "2025-03-01") == 2
    assert "--to is before --from" in capsys.readouterr().err


def balances(url):
    async def go():
        db = Database(url)
        try:
            async with db.sessions() as s:
                from sqlalchemy import select

                from connex_tui.data.models import Customer
                cid = await s.scalar(select(Customer.id).where(Customer.name == "Alice"))
                cached = await s.scalar(select(Customer.balance).where(Customer.id == cid))
                return cached, await ledger.ledger_balance(s, cid)
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_recalc_dry_run_then_run_then_again(url, capsys):
    before = balances(url)
    assert cdr(url, "recalc", "--customer", "Alice", "--from", DAY, "--to", DAY,
               "--rerate", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "Recalc Alice, 2025-03-13..2025-03-13 UTC: rerate only" in out
    assert "Calls affected  13 (13 change)" in out
    assert "Old total       13.0000 USD" in out
    assert balances(url) == before
    # not a terminal and no --yes: refused, nothing written
    assert cdr(url, "recalc", "--customer", "Alice", "--from", DAY, "--to", DAY,
               "--rerate") == 2
    assert "give --yes" in capsys.readouterr().err and balances(url) == before
    assert cdr(url, "recalc", "--customer", "Alice", "--from", DAY, "--to", DAY,
               "--rerate", "--yes") == 0
    out = capsys.readouterr().out
    assert "recalc #2 done: 13 CDRs corrected" not in out  # runs are numbered from 1
    assert "recalc #1 done: 13 CDRs corrected" in out
    after = balances(url)
    assert after[0] == after[1] and after[0] > before[0]
    assert cdr(url, "recalc", "--customer", "Alice", "--from", DAY, "--to", DAY,
               "--rerate", "--yes") == 0
    assert "0 CDRs corrected" in capsys.readouterr().out
    assert balances(url) == after


def test_recalc_arguments_and_roles(url, tmp_path, capsys):
    assert cdr(url, "recalc", "--customer", "Alice", "--from", DAY, "--to", DAY,
               "--min-duration", "30") == 2
    assert "go together" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the message said "0 or more" of 99999999
        cdr(url, "recalc", "--customer", "Alice", "--from", DAY, "--to", DAY,
            "--min-duration", "30", "--new-duration", "99999999")
    assert "--new-duration: whole seconds, 0 to 86,400" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cdr(url, "recalc", "--customer", "Alice", "--from", DAY, "--to", DAY,
            "--min-duration", "30", "--new-duration", "6", "--rerate")
    capsys.readouterr()
    config = tmp_path / "op.yaml"
    config.write_text("role: operator\noperator: olga\n")
    before = balances(url)
    assert main(["--config", str(config), "cdr", "recalc", "--customer", "Alice", "--from",
                 DAY, "--to", DAY, "--rerate", "--yes", "--database-url", url]) == 2
    assert "recalc needs the admin role; olga is operator" in capsys.readouterr().err
    assert balances(url) == before
    assert cdr(url, "recalc", "--customer", "Alice", "--from", DAY, "--to", DAY,
               "--min-duration", "30", "--new-duration", "6", "--yes") == 0
    out = capsys.readouterr().out
    assert "Calls affected  7 (7 change)" in out
    assert "New total       0.0070 USD" in out  # 7 x 6 s at 0.010/min


def test_export_into_a_fifo_nobody_reads_is_refused_not_hung(url, tmp_path, capsys,
                                                             monkeypatch):
    """`--output FIFO` with no reader blocked in open() for ever (kill -9 only)."""
    from connex_tui.feeds import export_file

    monkeypatch.setattr(export_file, "FIFO_WAIT", 0.2)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert cdr(url, "export", "--customer", "Alice", "--from", DAY, "--to", DAY,
               "--output", str(fifo)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"connex-tui cdr: cannot write {fifo}: no process reads this FIFO"]


def test_a_customer_name_no_customer_can_have_is_refused_short(url, capsys):
    assert cdr(url, "export", "--customer", "A" * 100_000, "--from", DAY, "--to", DAY) == 2
    err = capsys.readouterr().err
    assert err == "connex-tui cdr: --customer: not a customer name\n"
