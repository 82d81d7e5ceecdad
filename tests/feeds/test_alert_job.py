"""The alert evaluator inside the console (AlertThread): a round on its own thread fires a
due alert and reports it through `notify`; stop() ends it cleanly. And `alerts run` (the
loop) stops on SIGINT between rounds."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import text

from connex_tui.config import Config
from connex_tui.data.db import Database
from connex_tui.feeds.alert_job import AlertThread
from tests.test_cli_alerts import build


async def test_the_console_thread_fires_and_stops(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    await asyncio.to_thread(build, url)
    told: list[str] = []
    job = AlertThread(Config(database_url=url), told.append, interval=0.2)
    job.start()
    deadline = time.monotonic() + 15
    while not told and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await job.stop()
    assert told == ["Alert fired: Acme Telecom: Low balance"]
    db = Database(url)
    try:
        async with db.sessions() as s:
            assert (await s.execute(text("SELECT state FROM alerts"))).scalar() == "fired"
            events = (await s.execute(text("SELECT message FROM alert_events"))).scalars()
            assert [m.endswith("mail off (no smtp_host in the config)") for m in events] == [
                True]  # fired once, though several rounds ran
    finally:
        await db.dispose()


def test_alerts_run_stops_cleanly_on_ctrl_c(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    build(url)
    proc = subprocess.Popen([sys.executable, "-m", "connex_tui", "--database-url", url,
                             "alerts", "run"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path)})
    first = proc.stdout.readline()  # the first round's firing
    assert "Low balance" in first and "-> fire" in first
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out == "alerts: stopped\n" and err == ""
