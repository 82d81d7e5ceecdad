"""`connex-tui cdr import` end to end on SQLite and PostgreSQL: the billing examples of
docs/domain.md §8, rates in force at each call's start, duplicates, a kill mid-import then
a rerun, --skip-bad against refusal, time zones, hostile files."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from connex_tui.cli import main
from connex_tui.data.access import Actor
from connex_tui.data.cdr_import import CdrImportStore
from connex_tui.data.db import Database
from connex_tui.data.ledger import ledger_balance
from connex_tui.data.models import AuditEntry, Cdr, Customer, LedgerEntry, StatsRollup
from connex_tui.feeds.cdr_import import ImportOptions, import_cdrs, importer
from tests.data import import_world
from tests.data.conftest import TABLES

T0 = import_world.T0


@pytest.fixture
def world(db_url) -> tuple[str, dict[str, int]]:
    async def build():
        db = Database(db_url)
        try:
            if db.dialect == "postgresql":
                async with db.engine.begin() as conn:
                    await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
            return await import_world.build(db)
        finally:
            await db.dispose()

    return db_url, asyncio.run(build())


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def fs(call_id: str, number: str, billsec: int, *, start: datetime = T0, account="Dora",
       cause="NORMAL_CLEARING", answered: bool = True) -> str:
    answer = start + timedelta(seconds=4)
    end = answer + timedelta(seconds=billsec)
    return (f'"{account} desk","441234567","{number}","default","{stamp(start)}",'
            f'"{stamp(answer) if answered else ""}","{stamp(end)}","{billsec + 4}",'
            f'"{billsec if answered else 0}","{cause}","{call_id}","","{account}","PCMA",'
            '"PCMA"')


def run(url: str, tmp_path, capsys, lines: list[str], *args: str,
        fmt: str = "freeswitch") -> tuple[int, str, str]:
    path = tmp_path / f"cdrs-{fmt}.csv"
    path.write_text("".join(f"{line}\n" for line in lines))
    code = main(["--database-url", url, "cdr", "import", str(path), "--format", fmt, *args])
    out, err = capsys.readouterr()
    return code, out, err


def query(url: str, stmt):
    async def go():
        db = Database(url)
        try:
            async with db.sessions() as s:
                return (await s.execute(stmt)).all()
        finally:
            await db.dispose()

    return asyncio.run(go())


def cdrs(url: str) -> dict[str, tuple]:
    return {r[0]: tuple(r[1:]) for r in query(url, select(
        Cdr.call_id, Cdr.billed_s, Cdr.charge, Cdr.rate, Cdr.prefix, Cdr.sip_code,
        Cdr.customer_id, Cdr.started_at))}


def money_check(url: str, customer_id: int) -> tuple[Decimal, Decimal, Decimal]:
    """(sum of CDR charges, ledger sum, cached balance) of a customer."""
    async def go():
        db = Database(url)
        try:
            async with db.sessions() as s:
                charged = await s.scalar(select(func.coalesce(func.sum(Cdr.charge), 0))
                                         .where(Cdr.customer_id == customer_id))
                balance = await s.scalar(select(Customer.balance).where(
                    Customer.id == customer_id))
                return Decimal(charged), await ledger_balance(s, customer_id), balance
        finally:
            await db.dispose()

    return asyncio.run(go())


# -- docs/domain.md §8 -------------------------------------------------------------------
def test_billing_examples_by_increment(world, tmp_path, capsys):
    url, ids = world
    cases = {  # call id: (number, answered seconds, billed seconds, charge)
        "inc-30-6-a": ("4421", 1, 30, "0.0300"), "inc-30-6-b": ("4422", 31, 36, "0.0360"),
        "inc-30-6-c": ("4423", 37, 42, "0.0420"), "inc-60-6-a": ("4431", 10, 60, "0.0600"),
        "inc-60-6-b": ("4432", 61, 66, "0.0660"), "inc-60-60": ("4441", 61, 120, "0.1200"),
        "inc-1-1": ("4461", 61, 61, "0.0610"),
    }
    code, out, err = run(url, tmp_path, capsys, [
        fs(cid, number, secs) for cid, (number, secs, _, _) in cases.items()])
    assert code == 0, err
    stored = cdrs(url)
    for cid, (_, _, billed, charge) in cases.items():
        assert stored[cid][:2] == (billed, Decimal(charge)), cid
    total = sum(Decimal(c[3]) for c in cases.values())
    assert f"charge imported: {total} USD" in out
    assert "lines 7, imported 7, duplicates skipped 0, bad 0" in out
    assert money_check(url, ids["Dora"]) == (total, -total, -total)
    (action, table, changes), = query(url, select(AuditEntry.action, AuditEntry.table_name,
                                                  AuditEntry.changes))
    assert (action, table) == ("import", "cdrs") and '"imported"' in changes


def test_9_1_seconds_is_0_0009_and_a_hundred_are_0_0900(world, tmp_path, capsys):
    url, ids = world
    header = "call_id,start,answer,end,duration_ms,dialled,sip_code"

    def line(i: int) -> str:
        start = T0 + timedelta(minutes=i)
        return (f"c-{i},{start.isoformat()},{start.isoformat()},"
                f"{(start + timedelta(milliseconds=9100)).isoformat()},9100,4412345678,200")

    code, out, err = run(url, tmp_path, capsys, [header, line(0)], "--customer", "Dora",
                         fmt="generic")
    assert code == 0, err
    assert cdrs(url)["c-0"][:3] == (10, Decimal("0.0009"), Decimal("0.005"))
    code, out, err = run(url, tmp_path, capsys, [header, *map(line, range(100))],
                         "--customer", "Dora", fmt="generic")
    assert code == 0, err
    assert "lines 100, imported 99, duplicates skipped 1" in out
    assert "charge imported: 0.0891 USD" in out
    assert money_check(url, ids["Dora"]) == (Decimal("0.0900"), Decimal("-0.09"),
                                            Decimal("-0.09"))


# -- rating --------------------------------------------------------------------------------
def test_rates_in_force_at_the_start_in_the_given_zone(world, tmp_path, capsys):
    """Prefix 445 costs 0.010 until import_world.CHANGE (09:00 UTC) and 0.020 from then. 09:30
    written in Berlin (UTC+1) is 08:30 UTC: the old rate; read as UTC: the new one."""
    url, _ = world
    late = import_world.CHANGE + timedelta(minutes=30)
    line = fs("tz-1", "4451", 60, start=late)
    code, out, err = run(url, tmp_path, capsys, [line], "--timezone", "Europe/Berlin")
    assert code == 0, err
    (billed, charge, rate, _, _, _, started), = cdrs(url).values()
    assert (rate, charge) == (Decimal("0.01"), Decimal("0.0100"))
    assert started == late - timedelta(hours=1)
    code, out, err = run(url, tmp_path, capsys, [line.replace("tz-1", "tz-2")])
    assert cdrs(url)["tz-2"][1:3] == (Decimal("0.0200"), Decimal("0.02"))


def test_route_by_tech_prefix_customer_by_id_currencies_and_providers(world, tmp_path, capsys):
    url, ids = world
    code, out, err = run(url, tmp_path, capsys, [
        fs("p-1", "77#4412345678", 60, account=str(ids["Dora"])),  # Dora-Premium 0.10
        fs("p-2", "4412345678", 60, account="dora"),  # Dora-Retail 441: 0.005, cost 0.003
        fs("p-3", "4912345678", 60, account="EVE"),  # Eve-Retail, EUR
        fs("p-4", "4412345678", 0, cause="USER_BUSY", answered=False),
        fs("p-5", "+4412345678", 60),  # E.164: rated without its +, stored as written
    ])
    assert code == 0, err
    stored = cdrs(url)
    assert stored["p-1"][1:4] == (Decimal("0.1000"), Decimal("0.1"), "44")
    assert stored["p-2"][1:4] == (Decimal("0.0050"), Decimal("0.005"), "441")
    assert stored["p-4"][:2] == (0, Decimal(0)) and stored["p-4"][4] == 486
    assert stored["p-5"][1:4] == (Decimal("0.0050"), Decimal("0.005"), "441")
    (cost, provider), = query(url, select(Cdr.provider_cost, Cdr.provider_id)
                              .where(Cdr.call_id == "p-2"))
    assert (cost, provider) == (Decimal("0.0030"), ids["Acme"])
    assert "charge imported: 0.0120 EUR" in out and "charge imported: 0.1100 USD" in out
    (attempts, connected), = query(url, select(func.sum(StatsRollup.attempts),
                                                func.sum(StatsRollup.connected))
                                   .where(StatsRollup.customer_id == ids["Dora"],
                                          StatsRollup.grain == "h"))
    assert (attempts, connected) == (4, 3)


# -- bad lines -----------------------------------------------------------------------------
BAD_FILE = [
    fs("ok-1", "4412345678", 30),
    fs("bad-customer", "4412345678", 30, account="Mallory"),
    fs("bad-rate", "3312345678", 30),  # answered, nothing rates 33
    fs("unrated-miss", "3312345678", 0, cause="NO_ANSWER", answered=False),  # nothing to charge
    fs("archived", "4412345678", 30, account="Bob"),
    fs("ok-2", "4412345678", 30),
]


def test_bad_lines_refuse_the_import_and_nothing_is_written(world, tmp_path, capsys):
    url, ids = world
    code, out, err = run(url, tmp_path, capsys, BAD_FILE)
    assert code == 2
    assert cdrs(url) == {} and money_check(url, ids["Dora"]) == (0, 0, 0)
    assert "line 2: accountcode: no such customer" in err
    assert "line 3: dialled number: no rate for this customer" in err
    assert "line 5: accountcode: no such customer" in err
    assert "Mallory" not in err and "line 4" not in err
    assert "nothing imported: 3 bad lines (--skip-bad imports the rest)" in out


def test_skip_bad_imports_the_good_lines_and_lists_the_bad(world, tmp_path, capsys):
    url, ids = world
    code, out, err = run(url, tmp_path, capsys, BAD_FILE, "--skip-bad")
    assert code == 0
    assert set(cdrs(url)) == {"ok-1", "ok-2", "unrated-miss"}
    assert [line.split(":")[1] for line in err.splitlines() if "line" in line] == [
        " line 2", " line 3", " line 5"]
    assert "lines 6, imported 3, duplicates skipped 0, bad 3" in out
    assert cdrs(url)["unrated-miss"][3:5] == ("", 480)


def test_dry_run_writes_nothing_and_says_what_it_would_do(world, tmp_path, capsys):
    url, ids = world
    code, out, err = run(url, tmp_path, capsys, BAD_FILE, "--dry-run", "--skip-bad")
    assert code == 0 and cdrs(url) == {}
    assert "lines 6, to import 3, duplicates skipped 0, bad 3" in out
    assert "charge to import: 0.0050 USD" in out and "dry run: nothing written" in out
    code, out, err = run(url, tmp_path, capsys, BAD_FILE, "--dry-run")
    assert code == 2 and "nothing imported: 3 bad lines" in out and cdrs(url) == {}


def test_a_hostile_file_is_refused_in_one_line_per_fault_escaped(world, tmp_path, capsys):
    url, _ = world
    evil = fs("evil", "4412345678", 30, account="Dora\x1b[2J\x1b]52;c;SGVsbG8=\x07")
    code, out, err = run(url, tmp_path, capsys, [evil, "x" * 5000])
    assert code == 2 and cdrs(url) == {}
    assert "line 1: control characters are not allowed" in err
    assert "line 2: longer than 4096 bytes: not a CDR line" in err
    assert "\x1b" not in out + err and "SGVsbG8" not in out + err and "Traceback" not in err


def test_with_skip_bad_a_line_that_ends_the_file_keeps_what_came_before(world, tmp_path,
                                                                       capsys):
    url, _ = world
    code, out, err = run(url, tmp_path, capsys, [fs("before", "4412345678", 30), "x" * 5000,
                                                 fs("after", "4412345678", 30)], "--skip-bad")
    assert code == 2 and set(cdrs(url)) == {"before"}
    assert "line 2: longer than 4096 bytes" in err
    assert "lines 1, imported 1, duplicates skipped 0, bad 1" in out


@pytest.mark.parametrize(("args", "message"), [
    (("--customer", "Nobody"), "--customer: no customer Nobody"),
    (("--timezone", "Mars/Base"), "--timezone: Mars/Base is not a known time zone"),
])
def test_bad_options_exit_2_in_one_line(world, tmp_path, capsys, args, message):
    url, _ = world
    code, out, err = run(url, tmp_path, capsys, [fs("x", "44", 1)], *args)
    assert code == 2 and message in err and len(err.splitlines()) == 1 and cdrs(url) == {}


def test_missing_file_and_generic_without_customer(world, tmp_path, capsys):
    url, _ = world
    assert main(["--database-url", url, "cdr", "import", str(tmp_path / "none.csv"),
                 "--format", "freeswitch"]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["--database-url", url, "cdr", "import", "/dev/zero",
                 "--format", "freeswitch"]) == 2
    assert "/dev/zero: not a regular file" in capsys.readouterr().err
    code, out, err = run(url, tmp_path, capsys, ["call_id"], fmt="generic")
    assert code == 2 and "--customer is needed with --format generic" in err


def test_a_viewer_may_only_dry_run(world, tmp_path, capsys):
    url, _ = world
    path = tmp_path / "viewer.csv"
    path.write_text(fs("v", "4412345678", 3) + "\n")
    as_viewer = ["--readonly", "--database-url", url, "cdr", "import", str(path),
                 "--format", "freeswitch"]
    assert main([*as_viewer, "--dry-run"]) == 0
    assert "to import 1," in capsys.readouterr().out
    assert main(as_viewer) == 2
    assert "read-only (viewer role)" in capsys.readouterr().err and cdrs(url) == {}


# -- duplicates and resume -----------------------------------------------------------------
def test_asterisk_end_to_end_and_duplicates_are_skipped(world, tmp_path, capsys):
    url, ids = world
    line = ('"{acc}","441234567","4412345678","from-trunk","""Dora"" <441234567>",'
            '"SIP/t-1","SIP/c-2","Dial","SIP/c/4412345678","2026-11-02 09:00:00",'
            '"2026-11-02 09:00:05","2026-11-02 09:01:05",65,60,"ANSWERED","DOCUMENTATION",'
            '"{uid}",""')
    lines = [line.format(acc="dora", uid="1762074000.1"),
             line.format(acc="dora", uid="1762074000.1"),  # the same call twice
             line.format(acc="dora", uid="1762074000.2")]
    code, out, err = run(url, tmp_path, capsys, lines, fmt="asterisk")
    assert code == 0, err
    assert "lines 3, imported 2, duplicates skipped 1" in out
    code, out, err = run(url, tmp_path, capsys, lines, fmt="asterisk")
    assert "lines 3, imported 0, duplicates skipped 3" in out
    assert money_check(url, ids["Dora"]) == (Decimal("0.0100"), Decimal("-0.01"),
                                            Decimal("-0.01"))


def test_a_kill_mid_import_then_a_rerun_charges_each_call_once(world, tmp_path, capsys,
                                                               monkeypatch):
    url, ids = world
    lines = [fs(f"k-{i}", f"44{i % 6 + 1}2345", 30 + i, start=T0 + timedelta(seconds=i))
             for i in range(20)]
    path = tmp_path / "cdrs-freeswitch.csv"
    path.write_text("".join(f"{line}\n" for line in lines))

    class Killed(Exception):
        pass

    def kill(n: int) -> None:
        if n == 2:
            raise Killed

    async def interrupted():
        db = Database(url)
        try:
            await import_cdrs(CdrImportStore(db, Actor("op", "operator")),
                              ImportOptions(str(path), "freeswitch", batch=3),
                              after_batch=kill)
        finally:
            await db.dispose()

    with pytest.raises(Killed):
        asyncio.run(interrupted())
    assert len(cdrs(url)) == 6  # two batches landed
    partial = money_check(url, ids["Dora"])
    assert partial[0] > 0 and partial[1] == partial[2] == -partial[0]
    rated_calls = []
    rate = importer._Rater.rate
    monkeypatch.setattr(importer._Rater, "rate",
                        lambda self, raw: rated_calls.append(raw.call_id) or rate(self, raw))
    code, out, err = run(url, tmp_path, capsys, lines)
    assert code == 0, err
    assert "lines 20, imported 14, duplicates skipped 6" in out
    assert len(rated_calls) == 14  # what landed before the kill is not rated again
    stored = cdrs(url)
    assert sorted(stored) == sorted(f"k-{i}" for i in range(20))
    charged, in_ledger, balance = money_check(url, ids["Dora"])
    assert charged == sum(c[1] for c in stored.values()) and in_ledger == balance == -charged
    (entries,), = query(url, select(func.count()).select_from(LedgerEntry)
                        .where(LedgerEntry.customer_id == ids["Dora"]))
    assert entries == 3  # a batch each: 2 of 3 calls before the kill, the rest in 1


def test_lines_a_switch_appends_after_the_check_wait_for_the_next_import(world, tmp_path):
    """The write pass stops at the check pass's last line: what was appended meanwhile
    (here a line with no rate) was never checked."""
    url, _ = world
    path = tmp_path / "growing.csv"
    path.write_text(f"{fs('g-1', '4412345678', 5)}\n{fs('g-2', '4412345678', 6)}\n")

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "checking" and done == total:  # the end of the check pass
            with open(path, "a") as fh:
                fh.write(f"{fs('g-3', '3312345678', 7)}\n")

    async def go():
        db = Database(url)
        try:
            return await import_cdrs(CdrImportStore(db, Actor("op", "operator")),
                                     ImportOptions(str(path), "freeswitch"),
                                     progress=progress)
        finally:
            await db.dispose()

    summary = asyncio.run(go())
    assert (summary.lines, summary.imported, summary.bad) == (2, 2, 0)
    assert set(cdrs(url)) == {"g-1", "g-2"}
