"""`connex-tui alerts list | test | run --once`: what the commands print, what `run` writes
and mails (over a loopback SMTP server named in a config file), and bad arguments (exit 2,
one line)."""

from __future__ import annotations

import asyncio
import json

from connex_tui.cli import main
from connex_tui.data.access import Actor
from connex_tui.data.alerts import AlertsService
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database, upgrade


def build(url: str) -> int:
    async def go() -> int:
        db = Database(url)
        try:
            await upgrade(db)
            actor = Actor("t", "admin")
            cid = await CustomerService(db, actor).create({"name": "Acme Telecom",
                                                           "currency": "USD"})
            return await AlertsService(db, actor).create(cid, {
                "title": "Low balance", "recipients": "noc@acme.example +4930123456",
                "area": "balance", "operator": "<", "threshold": "50",
                "reset_threshold": "100", "repeat": "daily"})
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_list_test_and_run_once_with_mail(tmp_path, capsys, smtp_server):
    host, port, inbox = smtp_server
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    aid = build(url)
    config = tmp_path / "config.yaml"
    config.write_text(f"smtp_host: {host}\nsmtp_port: {port}\nsmtp_tls: none\n"
                      "smtp_sender: alerts@carrier.example\noperator: noc\n")
    base = ["--config", str(config), "--database-url", url]

    assert main([*base, "alerts", "list"]) == 0
    out = capsys.readouterr().out
    assert "Acme Telecom" in out and "Balance < 50.00 USD" in out and "ready" in out

    assert main([*base, "alerts", "test", str(aid)]) == 0
    out = capsys.readouterr().out
    assert "Value now: 0.00 USD" in out and "would FIRE" in out
    assert "Mail to noc@acme.example" in out and "no SMS gateway: +4930123456" in out
    assert inbox.messages == []  # a test sends nothing

    assert main([*base, "alerts", "run", "--once"]) == 0
    assert "-> fire" in capsys.readouterr().out
    [(_, rcpts, msg)] = inbox.messages
    assert rcpts == ["noc@acme.example"] and msg["Subject"] == "Alert: Acme Telecom: Low balance"

    assert main([*base, "alerts", "list", "--customer", "acme TELECOM", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (row["id"], row["state"], row["threshold"], row["reset_threshold"]) == (
        aid, "fired", "50", "100")
    assert main([*base, "alerts", "run", "--once"]) == 0  # fired already: nothing new
    assert capsys.readouterr().out == ""
    assert len(inbox.messages) == 1


def test_bad_arguments_one_line_exit_2(tmp_path, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"
    build(url)
    for args, says in ((["test", "abc"], "not an alert id"), (["test", "999"], "no alert 999"),
                       (["list", "--customer", "Nobody"], "no customer named 'Nobody'"),
                       (["list", "--customer", "a\x1b[31m"], "not a customer name")):
        assert main(["--database-url", url, "alerts", *args]) == 2
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1 and "\x1b" not in err
    assert main(["--database-url", url, "--readonly", "alerts", "run", "--once"]) == 2
    assert "read-only" in capsys.readouterr().err


def test_evaluator_in_the_console_is_on_unless_turned_off(tmp_path):
    from connex_tui.config import Config, load_config

    assert Config().alerts is False  # a bare Config (the UI tests): never runs it
    on, off = tmp_path / "on.yaml", tmp_path / "off.yaml"
    on.write_text("theme: ansi-dark\n")
    off.write_text("alerts: false\n")
    assert load_config(on, env={}).alerts is True
    assert load_config(off, env={}).alerts is False
    assert load_config(on, env={}, overrides={"alerts": False}).alerts is False
