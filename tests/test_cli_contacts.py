"""`connex-tui contacts list|add|password`, in-process on a fresh SQLite file; the generated
password is mailed to a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from connex_tui.cli import main
from connex_tui.data.access import Actor
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database
from connex_tui.data.passwords import verify_password


@pytest.fixture
def url(sqlite_url) -> str:
    async def build():
        db = Database(sqlite_url)
        try:
            svc = CustomerService(db, Actor("t", "admin"))
            await svc.create({"name": "ACME Telecom", "currency": "USD",
                              "portal_access": True})
            await svc.create({"name": "Beta", "currency": "EUR"})
        finally:
            await db.dispose()

    asyncio.run(build())
    return sqlite_url


def stored_hash(url: str, email: str) -> str:
    from sqlalchemy import text

    async def go():
        db = Database(url)
        try:
            async with db.sessions() as s:
                return await s.scalar(text("SELECT password_hash FROM contacts WHERE "
                                           "email = :e"), {"e": email})
        finally:
            await db.dispose()

    return asyncio.run(go())


def cli(url: str, *args: str, config: str | None = None) -> int:
    pre = ["--config", config] if config else []
    return main([*pre, "contacts", *args[:1], "--database-url", url, *args[1:]])


def test_add_then_list_text_and_json(url, capsys):
    assert cli(url, "add", "--customer", "acme telecom", "--name", "Anna Berg",
               "--email", "Anna@Example.com", "--phone", "+44 20 7946 0958") == 0
    assert "added contact 1: Anna Berg <anna@example.com> to ACME Telecom" in \
        capsys.readouterr().out
    assert cli(url, "list", "--customer", "ACME Telecom") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Name", "Email", "Phone", "Pw"]
    assert out[1].split() == ["Anna", "Berg", "anna@example.com", "+442079460958", "-"]
    assert out[-1] == "1 contact of ACME Telecom"
    assert cli(url, "list", "--customer", "ACME Telecom", "--json") == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["email"] == "anna@example.com" and row["has_password"] is False


def test_bad_input_is_one_line_exit_2_and_writes_nothing(url, capsys):
    assert cli(url, "add", "--customer", "ACME Telecom", "--name", "A",
               "--email", "nope") == 2
    err = capsys.readouterr().err
    assert err.startswith("connex-tui contacts add: --email: not a valid email")
    assert err.count("\n") == 1
    assert cli(url, "add", "--customer", "Nobody", "--name", "A", "--email", "a@b.example") == 2
    assert "no customer named 'Nobody'" in capsys.readouterr().err
    cli(url, "add", "--customer", "ACME Telecom", "--name", "A", "--email", "a@b.example")
    assert cli(url, "add", "--customer", "Beta", "--name", "B", "--email", "A@B.example") == 2
    assert "unique" in capsys.readouterr().err
    assert cli(url, "list", "--customer", "Beta", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli(url, "password", "ghost@example.com") == 2
    assert "no contact with email" in capsys.readouterr().err


def test_typed_password_from_stdin(url, capsys, monkeypatch):
    cli(url, "add", "--customer", "ACME Telecom", "--name", "A", "--email", "a@b.example")
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli(url, "password", "a@b.example", "--stdin") == 2
    assert "password: at least 12 characters" in capsys.readouterr().err
    assert stored_hash(url, "a@b.example") == ""
    monkeypatch.setattr("sys.stdin", io.StringIO("a typed portal password\n"))
    assert cli(url, "password", "A@B.example", "--stdin") == 0
    out = capsys.readouterr().out
    assert out == "password set for a@b.example\n"
    assert verify_password(stored_hash(url, "a@b.example"), "a typed portal password")


def test_generated_without_smtp_is_printed_once(url, capsys):
    cli(url, "add", "--customer", "Beta", "--name", "B", "--email", "b@beta.example")
    capsys.readouterr()
    assert cli(url, "password", "b@beta.example", "--generate") == 0
    captured = capsys.readouterr()
    assert "no SMTP is configured" in captured.err
    assert "portal access is off for Beta" in captured.err
    password = captured.out.rsplit(": ", 1)[1].strip()
    assert len(password) >= 16
    assert verify_password(stored_hash(url, "b@beta.example"), password)


def test_generated_is_mailed_over_smtp(url, capsys, smtp_server, tmp_path):
    host, port, inbox = smtp_server
    config = tmp_path / "config.yaml"
    config.write_text(f"smtp_host: {host}\nsmtp_port: {port}\nsmtp_tls: none\n"
                      "smtp_sender: noc@carrier.example\n")
    cli(url, "add", "--customer", "ACME Telecom", "--name", "Anna", "--email", "anna@acme.example")
    capsys.readouterr()
    assert cli(url, "password", "anna@acme.example", config=str(config)) == 0
    captured = capsys.readouterr()
    assert captured.out == "new password mailed to anna@acme.example\n"
    [(_, rcpts, msg)] = inbox.messages
    assert rcpts == ["anna@acme.example"]
    [password] = [line.split(":", 1)[1].strip() for line in msg.get_content().splitlines()
                  if "Password:" in line]
    assert password not in captured.out + captured.err
    assert verify_password(stored_hash(url, "anna@acme.example"), password)


def test_viewer_cannot_write(url, capsys):
    assert main(["--readonly", "contacts", "add", "--database-url", url, "--customer", "Beta",
                 "--name", "B", "--email", "b@beta.example"]) == 2
    assert "read-only" in capsys.readouterr().err
