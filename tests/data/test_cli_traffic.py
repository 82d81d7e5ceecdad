"""`connex-tui traffic` end to end (2 s of real time) and `connex-tui dialogs` / `dialogs
end`, in-process, on SQLite and PostgreSQL; bad arguments give one line and exit 2."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from sqlalchemy import func, select, text

from connex_tui.cli import main
from connex_tui.data.access import Actor
from connex_tui.data.db import Database
from connex_tui.data.dialogs import Admitted, DialogsService
from connex_tui.data.models import Cdr, Dialog, LedgerEntry
from connex_tui.engine.pipeline import decide
from connex_tui.engine.snapshot import CallInput
from tests.data import sim_world
from tests.data.conftest import TABLES
from tests.data.sim_world import NOW, PASSWORD


def _run(coro_fn, url):
    async def go():
        db = Database(url)
        try:
            return await coro_fn(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


@pytest.fixture
def url(db_url) -> str:
    """A fresh sim_world on the backend under test."""

    async def build(db):
        if db.dialect == "postgresql":
            async with db.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        await sim_world.build(db)

    _run(build, db_url)
    return db_url


def counts(url: str) -> tuple[int, int, object]:
    async def go(db):
        async with db.sessions() as s:
            return (await s.scalar(select(func.count()).select_from(Cdr)),
                    await s.scalar(select(func.count()).select_from(Dialog)),
                    await s.scalar(select(func.sum(LedgerEntry.amount)).where(
                        LedgerEntry.kind == "calls")))

    return _run(go, url)


def test_traffic_runs_for_its_duration_and_leaves_nothing_up(url, capsys):
    assert main(["traffic", "--database-url", url, "--duration", "2", "--cps", "25",
                 "--seed", "5", "--sip-password", PASSWORD]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("traffic: ")
    attempts = int(re.match(r"traffic: ([\d,]+) attempts in 2\.0 s", out[0])[1])
    cdrs, live, _ = counts(url)
    assert attempts >= 10 and cdrs == attempts and live == 0
    assert f"{cdrs:,} CDRs written" in out[0]


def live_call(url: str, call_id: str = "cli-1") -> None:
    async def go(db):
        svc = DialogsService(db, Actor("t", "admin"))
        call = CallInput("442071234567", "441234567", "192.0.2.9", at=NOW)
        await svc.start(Admitted(call_id, call, decide(await svc.cache.get(), call)))
        await svc.answer(call_id, NOW)

    _run(go, url)


async def _duration(db, call_id: str) -> int:
    async with db.sessions() as s:
        return await s.scalar(select(Cdr.duration_ms).where(Cdr.call_id == call_id))


def test_dialogs_lists_and_ends_a_live_call(url, capsys, monkeypatch):
    live_call(url)
    assert main(["dialogs", "--database-url", url, "--json", "--customer", "alice"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (row["call_id"], row["customer"], row["state"], row["dialled"], row["provider"],
            row["source_ip"]) == ("cli-1", "Alice", "answered", "442071234567", "Acme",
                                  "192.0.2.9")
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["dialogs", "--database-url", url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Call id") and "Alice" in lines[1] and lines[-1] == "1 live call"
    assert max(len(line) for line in lines) <= 80 and "192.0.2.9" not in lines[1]
    monkeypatch.setenv("COLUMNS", "120")  # room for the source IP
    assert main(["dialogs", "--database-url", url]) == 0
    assert "192.0.2.9" in capsys.readouterr().out.splitlines()[1]
    assert main(["dialogs", "--database-url", url, "end", "cli-1"]) == 0
    assert "written as a CDR" in capsys.readouterr().out
    cdrs, live, debited = counts(url)
    assert (cdrs, live) == (1, 0) and debited < 0  # answered since NOW: charged
    # up since sim_world's NOW (2025): billed for the route's max duration, no longer
    assert _run(lambda db: _duration(db, "cli-1"), url) == 7200 * 1000
    assert main(["dialogs", "--database-url", url, "end", "cli-1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["connex-tui dialogs end: no live call 'cli-1'"]


@pytest.mark.parametrize(("args", "message"), [
    (["traffic", "--cps", "0"], "--cps must be above 0"),
    (["traffic", "--cps", "nan"], "--cps must be above 0"),
    (["traffic", "--duration", "-1"], "--duration must be above 0"),
    (["traffic", "--duration", "inf"], "--duration must be above 0"),
    (["traffic", "--customer", "a\x1b[2Jb"], "control characters are not allowed"),
    (["traffic", "--customer", "Nobody", "--duration", "1"],
     "'Nobody': no customer of that name can place calls"),
    (["dialogs", "--customer", "Nobody"], "no customer named 'Nobody'"),
    (["dialogs", "end", "x\x07"], "CALL_ID: control characters are not allowed"),
    (["dialogs", "--json", "end", "x"], "--customer and --json go with the list"),
])
def test_bad_arguments_give_one_line_and_exit_2(url, capsys, args, message):
    assert main([args[0], "--database-url", url, *args[1:]]
                if args[0] == "traffic" or "end" not in args else
                [*args[:-2], "--database-url", url, *args[-2:]]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and message in err[0] and "\x1b" not in err[0]
    assert counts(url)[:2] == (0, 0)  # nothing written


def test_a_viewer_may_not_run_traffic_nor_end_calls(url, capsys):
    live_call(url)
    assert main(["--readonly", "traffic", "--database-url", url, "--duration", "1"]) == 2
    assert main(["--readonly", "dialogs", "--database-url", url, "end", "cli-1"]) == 2
    assert "viewer" in capsys.readouterr().err
    assert counts(url)[:2] == (0, 1)


def test_ctrl_c_stops_traffic_cleanly(url, tmp_path):
    """The command in its own process: SIGINT hangs up what is live, writes it, prints
    the one summary line and exits 0."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "connex_tui", "traffic", "--database-url", url, "--cps", "40",
         "--sip-password", PASSWORD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while counts(url)[1] == 0:  # calls up
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("traffic: ") and err == ""
    attempts = int(re.match(r"traffic: ([\d,]+) attempts", lines[0])[1].replace(",", ""))
    cdrs, live, _ = counts(url)
    assert live == 0 and cdrs == attempts > 0
