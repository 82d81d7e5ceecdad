"""`connex-tui simulate`: one call (text or --json) and --batch, run in-process on a small
SQLite world (tests/data/sim_world.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from connex_tui.cli import main
from connex_tui.data.db import Database
from connex_tui.data.models import Cdr
from tests.data import sim_world

PAST = sim_world.PAST


@pytest.fixture
def url(sqlite_url) -> str:
    async def build():
        db = Database(sqlite_url)
        try:
            await sim_world.build(db)
        finally:
            await db.dispose()

    asyncio.run(build())
    return sqlite_url


def sim(url: str, *args: str) -> int:
    return main(["simulate", "--database-url", url, *args])


def stored(url: str) -> list[tuple[str, str]]:
    async def go():
        db = Database(url)
        try:
            async with db.sessions() as s:
                return [tuple(r) for r in await s.execute(
                    select(Cdr.call_id, Cdr.dialled).order_by(Cdr.id))]
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_text_output_is_the_result_block_and_the_call_is_stored(url, capsys):
    assert sim(url, "--number", "442071234567", "--cli", "441234567",
               "--ip", "192.0.2.9") == 0
    out = capsys.readouterr().out
    assert out.startswith("ALLOW  would connect via 2 providers at 0.0300 USD/min\n")
    assert "4420 London" in out and "Trace" in out and "  1.  Authenticate" in out
    (call_id, dialled), = stored(url)
    assert f"Stored as {call_id}" in out and dialled == "442071234567"


def test_json_output_has_the_stable_keys(url, capsys):
    assert sim(url, "--number", "+44 20 7123 4567", "--cli", "441234567",
               "--ip", "192.0.2.9", "--switch-ip", "198.51.100.10", "--json",
               "--at", "2025-03-14T12:30:00Z") == 0
    obj = json.loads(capsys.readouterr().out)
    for key in ("decision", "sip_code", "reason", "customer", "route", "number_out",
                "cli_out", "pai", "prefix", "destination", "rate", "connect_fee",
                "increment", "max_duration", "providers", "trace", "call_id"):
        assert key in obj, key
    assert (obj["decision"], obj["sip_code"], obj["customer"], obj["prefix"]) == (
        "allow", 200, "Alice", "4420")
    assert obj["rate"] == "0.0080" and obj["increment"] == "1/1"
    assert [p["card"] for p in obj["providers"]] == ["UK-A", "UK-B"]
    assert set(obj["providers"][0]) >= {"name", "card", "rate", "margin"}
    assert obj["call_id"] == stored(url)[0][0]


HOSTILE = "Evil\x1b[2J\x9b31m\u202eCorp\x1b]52;c;aGk=\x07"


def rename_alice(url: str, name: str) -> None:
    from sqlalchemy import update

    from connex_tui.data.models import Customer

    async def go():
        db = Database(url)
        try:
            async with db.sessions() as s, s.begin():
                await s.execute(update(Customer).where(Customer.name == "Alice")
                                .values(name=name))
        finally:
            await db.dispose()

    asyncio.run(go())


def raw_controls(text: str) -> set[str]:
    return {ch for ch in text if ord(ch) < 32 and ch != "\n" or 0x7f <= ord(ch) <= 0x9f
            or ch == "\u202e"}


def test_a_hostile_name_never_reaches_the_terminal_raw(url, capsys, tmp_path):
    rename_alice(url, HOSTILE)
    assert sim(url, "--number", "442071234567", "--cli", "441234567", "--ip", "192.0.2.9",
               "--no-store") == 0
    out = capsys.readouterr().out
    assert not raw_controls(out)
    assert "Customer      Evil\\x1b[2J\\x9b31m\\u202eCorp\\x1b]52;c;aGk=\\x07" in out
    assert sim(url, "--number", "442071234567", "--cli", "441234567", "--ip", "192.0.2.9",
               "--no-store", "--json") == 0
    out = capsys.readouterr().out
    assert not raw_controls(out)
    assert json.loads(out)["customer"] == HOSTILE  # a program still reads the real name
    path = tmp_path / "calls.csv"
    path.write_text("number,ip\n442071234567,192.0.2.9\n", encoding="utf-8")
    assert sim(url, "--batch", str(path)) == 0
    out = capsys.readouterr().out
    assert not raw_controls(out) and json.loads(out)["customer"] == HOSTILE


def test_an_error_line_shows_a_hostile_argument_escaped(url, capsys):
    assert sim(url, "--number", "4420", "--ip", "192.0.2.9", "--at",
               "\x1b]52;c;aGk=\x07\u202e") == 2
    err = capsys.readouterr().err
    assert not raw_controls(err) and err.startswith("connex-tui simulate: --at")
    assert sim(url, "--batch", "/nonexistent/\x1b[2J.csv") == 2
    err = capsys.readouterr().err
    assert not raw_controls(err) and "\\x1b[2J.csv" in err


def test_a_rejection_exits_zero_too(url, capsys):
    assert sim(url, "--number", "442071234567", "--cli", "1", "--ip", "203.0.113.1",
               "--json") == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["decision"], obj["sip_code"], obj["reason"]) == (
        "reject", 403, "IP Not Authorised")


def test_sip_user_at_time_and_no_store(url, capsys):
    assert sim(url, "--number", "442071234567", "--cli", "441234567",
               "--ip", "198.51.100.7", "--user", "alice1", "--password", sim_world.PASSWORD,
               "--at", (PAST.replace(tzinfo=None) - timedelta(days=1)).isoformat(),
               "--json", "--no-store") == 0
    obj = json.loads(capsys.readouterr().out)
    # before the London row took effect the 44 row rates the call
    assert (obj["auth"], obj["prefix"], obj["rate"]) == ("SIP user alice1", "44", "0.0100")
    assert obj["call_id"] is None and stored(url) == []
    assert sim(url, "--number", "44207", "--user", "alice1", "--password", "wrong",
               "--ip", "198.51.100.7", "--json", "--no-store") == 0
    assert json.loads(capsys.readouterr().out)["reason"] == "Forbidden"


def test_password_dash_reads_it_from_stdin(url, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(sim_world.PASSWORD + "\n"))
    assert sim(url, "--number", "442071234567", "--user", "alice1", "--password", "-",
               "--ip", "198.51.100.7", "--json", "--no-store") == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["decision"], obj["auth"]) == ("allow", "SIP user alice1")


def test_a_viewer_simulates_but_stores_nothing(url, capsys):
    assert main(["--readonly", "simulate", "--database-url", url, "--number",
                 "442071234567", "--cli", "441234567", "--ip", "192.0.2.9", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "allow"
    assert main(["--readonly", "simulate", "--database-url", url, "--number",
                 "442071234567", "--ip", "192.0.2.9"]) == 0
    assert "Not stored (read-only" in capsys.readouterr().out
    assert stored(url) == []


@pytest.mark.parametrize("args, message", [
    ((), "--number is required"),
    (("--number", "4420", "--cli", "1"), "give --ip or --user"),
    (("--number", "44x", "--ip", "192.0.2.9"), "--number: only digits"),
    (("--number", "4420", "--ip", "192.0.2"), "--ip: not an IP address"),
    (("--number", "4420", "--ip", "192.0.2.9", "--at", "yesterday"), "--at: not an ISO"),
    (("--number", "4420", "--ip", "192.0.2.9", "--password", "pw"), "goes with --user"),
    (("--number", "4420", "--batch", "x.csv"), "--number does not go with --batch"),
    (("--number", "4420", "--ip", "192.0.2.9", "--store"), "--store is for --batch"),
    (("--batch", "/nonexistent/calls.csv"), "cannot read"),
])
def test_bad_arguments_exit_2(url, capsys, args, message):
    assert sim(url, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert stored(url) == []


def test_unknown_option_is_an_argparse_error(url, capsys):
    with pytest.raises(SystemExit) as exc:
        sim(url, "--number", "4420", "--colour", "red")
    assert exc.value.code == 2


def test_batch_writes_one_json_object_per_line(url, capsys, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(
        "number,cli,ip,user,password,at\n"
        "442071234567,441234567,192.0.2.9,,,\n"
        "447912345678,441234567,192.0.2.9,,,\n"
        "44x,1,192.0.2.9,,,\n"
        "442071234567,441234567,,alice1,wrong,\n"
        f"442071234567,441234567,192.0.2.9,,,{PAST.date().isoformat()}\n"
        "442071234567,1\n", encoding="utf-8")
    assert sim(url, "--batch", str(path), "--at", "2025-03-14T12:30:00Z") == 0
    lines = capsys.readouterr().out.splitlines()
    objs = [json.loads(line) for line in lines]
    assert [o["line"] for o in objs] == [2, 3, 4, 5, 6, 7]
    assert [o.get("prefix") for o in objs[:2]] == ["4420", "447"]
    assert objs[0]["decision"] == "allow" and objs[0]["call_id"] is None
    assert objs[2] == {"line": 4, "error": "number: only digits (and * # of a tech prefix)"}
    assert objs[3]["reason"] == "Forbidden"
    assert objs[4]["prefix"] == "44"  # at midnight of PAST's day the London row was not in force
    assert "error" in objs[5]
    assert stored(url) == []  # a batch stores nothing unless --store


def test_batch_store_and_header_checks(url, capsys, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("\ufeffNumber,IP\n442071234567,192.0.2.9\n", encoding="utf-8")
    assert sim(url, "--batch", str(path), "--store") == 0
    (obj,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [obj["call_id"]] == [c for c, _ in stored(url)]
    path.write_text("dialled,ip\n4420,192.0.2.9\n", encoding="utf-8")
    assert sim(url, "--batch", str(path)) == 2
    assert "`number`" in capsys.readouterr().err
    path.write_text("number,ip,colour\n4420,192.0.2.9,red\n", encoding="utf-8")
    assert sim(url, "--batch", str(path)) == 2
    assert "unknown column 'colour'" in capsys.readouterr().err


def test_batch_loads_the_configuration_once(url, tmp_path, capsys, monkeypatch):
    from connex_tui.data import snapshot

    loads = []
    real = snapshot.SnapshotCache._load

    async def counting(self, conn, generation):
        loads.append(generation)
        return await real(self, conn, generation)

    monkeypatch.setattr(snapshot.SnapshotCache, "_load", counting)
    path = tmp_path / "calls.csv"
    path.write_text("number,ip\n" + "442071234567,192.0.2.9\n" * 50, encoding="utf-8")
    assert sim(url, "--batch", str(path)) == 0
    assert len(capsys.readouterr().out.splitlines()) == 50
    assert len(loads) == 1



def test_every_kind_of_bad_batch_line_is_reported_and_the_batch_goes_on(url, capsys,
                                                                        tmp_path):
    good = b"442071234567,441234567,192.0.2.9,\n"
    path = tmp_path / "calls.csv"
    path.write_bytes(
        b"number,cli,ip,at\n" + good
        + b"442071234567,1,192.0.2.300,\n"                       # 3 bad IP
        + b"442071234567,1,192.0.2.9,9999-12-31T23:59:59-14:00\n"  # 4 date overflow
        + b"442071234567,1,192.0.2.9,0001-01-01T00:00:00Z\n"      # 5 date underflow
        + b"442071234567,1\x1b[2J,192.0.2.9,\n"                  # 6 ESC in the CLI
        + "442071234567,1\u202e,192.0.2.9,\n".encode()            # 7 bidi override
        + b"442071234567,\xff\xfe,192.0.2.9,\n"                  # 8 not UTF-8
        + b"442071234567," + b"1" * 10_000 + b",192.0.2.9,\n"     # 9 overlong field
        + b"442071234567,1\n"                                     # 10 too few fields
        + b"442071234567,1,192.0.2.9,,extra\n"                    # 11 too many
        + b'442071234567,"1,192.0.2.9,\n'                         # 12 open quote
        + b"\x00,\x00,\x00,\n"                                    # 13 NULs
        + good)                                                   # 14
    assert sim(url, "--batch", str(path), "--at", "2025-03-14T12:30:00Z") == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    objs = [json.loads(line) for line in captured.out.splitlines()]
    assert [o["line"] for o in objs] == list(range(2, 15))
    assert objs[0]["decision"] == objs[-1]["decision"] == "allow"
    errors = {o["line"]: o["error"] for o in objs if "error" in o}
    assert errors == {
        3: "ip: not an IP address (e.g. 192.0.2.10 or 2001:db8::1)",
        4: "at: must be between 1970-01-01 and 2199-12-31",
        5: "at: must be between 1970-01-01 and 2199-12-31",
        6: "cli: control characters are not allowed",
        7: "cli: control characters are not allowed",
        8: "not UTF-8 text",
        9: "longer than 4096 bytes",
        10: "4 fields expected, found 2",
        11: "4 fields expected, found 5",
        12: errors[12],
        13: "number: control characters are not allowed; cli: control characters are not "
            "allowed; ip: control characters are not allowed",
    }
    assert errors[12].startswith("not valid CSV")
    assert "\x1b" not in captured.out and "\u202e" not in captured.out


def test_a_batch_that_never_ends_a_line_stops_with_one_line(url, capsys, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(b"number,ip\n442071234567,192.0.2.9\n" + b"4" * (2 << 20))
    assert sim(url, "--batch", str(path)) == 2
    captured = capsys.readouterr()
    assert [json.loads(x)["line"] for x in captured.out.splitlines()] == [2]
    assert captured.err == (f"connex-tui simulate: {path}: line 3: longer than 4096 bytes: "
                            "not a list of calls\n")


@pytest.mark.parametrize("option", ["--cli", "--number", "--ip", "--user", "--password",
                                    "--at", "--switch-ip"])
def test_undecodable_arguments_are_one_line_exit_2(url, capsys, option):
    import os

    bad = os.fsdecode(b"a\xff")  # what Python makes of a non-UTF-8 argv byte
    args = {"--number": "442071234567", "--ip": "192.0.2.9", option: bad}
    if option in ("--user", "--password"):
        args = {"--user": "alice1", "--password": "x" * 12, **args}
    assert sim(url, *[x for kv in args.items() for x in kv]) == 2
    err = capsys.readouterr().err
    assert err == f"connex-tui simulate: {option}: not valid UTF-8 text\n"
    assert stored(url) == []


def test_date_overflow_in_at_is_one_line_exit_2(url, capsys):
    for when in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"):
        assert sim(url, "--number", "4420", "--ip", "192.0.2.9", "--at", when) == 2
        assert capsys.readouterr().err == \
            "connex-tui simulate: --at: must be between 1970-01-01 and 2199-12-31\n"
        assert sim(url, "--batch", "/nonexistent.csv", "--at", when) == 2
        assert "--at: must be between" in capsys.readouterr().err


@pytest.mark.parametrize("line", [
    "4420,441,10.0.0.7\n", '"4420","44,1",10.0.0.7\r\n', "4420,,\n", ",\n", "\n", " \n",
    "44\x0020,441\n", '44"20,441\n', '"4420,441\n', "44\r20,441\n", "a\u2028b,c\n",
    "4420,441,10.0.0.7,x\n"])
def test_a_batch_line_splits_as_the_csv_module_reads_it(line):
    # unquoted lines skip the csv module (a fifth of a line's reading): same fields or error
    import csv

    from connex_tui.feeds.simulate_batch import _record
    try:
        expected = next(csv.reader([line.rstrip("\r\n")], strict=True), [])
        if len(expected) not in (0, 3):
            expected = f"3 fields expected, found {len(expected)}"
    except csv.Error as exc:
        expected = f"not valid CSV: {exc}"
    assert _record(line.encode(), 3) == expected
