"""`connex-tui stats`: the JSON keys and values, the text table, and bad arguments (exit 2,
one line), on a SQLite file holding CDRs written by the CDR writer."""

from __future__ import annotations

import asyncio
import json

import pytest

from connex_tui.cli import main
from connex_tui.data.access import Actor
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database
from tests.data.test_cdr_writer import write
from tests.data.test_stats import history


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> str:
    """One database for the module (the command only reads): Acme with the history of
    tests/data/test_stats.py."""
    from connex_tui.data.db import upgrade

    path = tmp_path_factory.mktemp("cli-stats") / "stats.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def build():
        db = Database(url)
        try:
            await upgrade(db)
            cid = await CustomerService(db, Actor("t", "admin")).create(
                {"name": "Acme Telecom", "currency": "USD"})
            await write(db, history(cid))
        finally:
            await db.dispose()

    asyncio.run(build())
    return url


def stats(url: str, *args: str) -> int:
    return main(["stats", "--database-url", url, *args])


def test_json_has_exactly_the_keys_and_exact_values(url, capsys):
    assert stats(url, "--customer", "ACME telecom", "--date", "2025-03-14",
                 "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "attempts": 6, "connected": 3, "asr": 50.0, "acd": 23.7, "pdd_ms": 833, "ner": 83.33,
        "cps_peak": 3, "cps_mean": 0.0, "channels_peak": 2, "charge": "0.0164",
        "cost": "0.0065", "profit": "0.0099", "profit_percent": 60.37, "duration_s": 71.1,
        "billed_s": 136, "codes": {"200": 3, "404": 1, "486": 1, "503": 1}}


def test_week_and_month_hold_the_date(url, capsys):
    assert stats(url, "--customer", "acme telecom", "--period", "week", "--date",
                 "2025-03-16", "--json") == 0
    assert json.loads(capsys.readouterr().out)["attempts"] == 9
    assert stats(url, "--customer", "acme telecom", "--period", "month", "--date",
                 "2025-02-01", "--json") == 0
    feb = json.loads(capsys.readouterr().out)
    assert (feb["attempts"], feb["profit"], feb["profit_percent"]) == (1, "-0.5", -33.33)


def test_text_is_a_readable_table(url, capsys):
    assert stats(url, "--customer", "acme telecom", "--date", "2025-03-14") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Acme Telecom · Day 2025-03-14 (UTC)"
    for want in ("ASR        50.0%", "ACD        0:24", "NER        83.3%",
                 "Charge     0.0164 USD", "Profit %   60.4%",
                 "Channels   0 now · 2 peak"):
        assert f"  {want}" in lines, want
    assert "  200                3    50.0%" in lines
    top = lines[lines.index(next(x for x in lines if x.lstrip().startswith("Prefix"))):]
    assert top[1].split() == ["33", "France", "3", "33.3%", "0:01", "0.01", "USD"]


@pytest.mark.parametrize(("args", "message"), [
    ((), "--customer NAME is required"),
    (("--customer", "Acme", "--period", "year"), "--period: 'year' is not one of"),
    (("--customer", "Acme", "--date", "2025-13-01"), "--date: '2025-13-01' is not a date"),
    (("--customer", "Acme", "--date", "20250301"), "is not a date like 2026-11-25"),
    # the end of the period past 9999-12-31 overflowed (a traceback)
    (("--customer", "Acme", "--date", "9999-12-31"), "between 1970-01-01 and 2199-12-31"),
    (("--customer", "Acme", "--period", "month", "--date", "9999-12-31"), "between 1970"),
    (("--customer", "Acme", "--period", "week", "--date", "0001-01-01"), "between 1970"),
    (("--customer", "Acme", "--period", "live", "--date", "2025-03-01"),
     "--date does not go with --period live"),
    (("--customer", "Nobody"), "no customer named 'Nobody'"),
    (("--customer", "Nobody\x1b[2J"), "--customer: not a customer name"),
    (("--customer", "x" * 101), "--customer: not a customer name"),
    (("--customer", "Acme\u202eTelecom"), "--customer: not a customer name"),
])
def test_bad_arguments_exit_2_with_one_line(url, capsys, args, message):
    assert stats(url, *args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.splitlines()
    assert len(err) == 1 and err[0].startswith("connex-tui stats: ") and message in err[0]
    assert "\x1b" not in captured.err
