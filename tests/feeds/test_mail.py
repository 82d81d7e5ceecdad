"""The mailer against a real SMTP server on loopback."""

from __future__ import annotations

import socket

import pytest

from connex_tui.config import load_config
from connex_tui.feeds.mail import MailError, SmtpSettings, send


async def test_a_message_reaches_the_server(smtp_server):
    host, port, inbox = smtp_server
    settings = SmtpSettings(host, port, tls="none", sender="noc@example.net")
    await send(settings, ["ops@example.com"], "Your login", "password: abc\n")
    assert len(inbox.messages) == 1
    sender, rcpts, msg = inbox.messages[0]
    assert (sender, rcpts) == ("noc@example.net", ["ops@example.com"])
    assert msg["Subject"] == "Your login"
    assert msg.get_content().rstrip() == "password: abc"


async def test_a_line_break_in_a_header_is_refused_before_connecting(smtp_server):
    host, port, inbox = smtp_server
    settings = SmtpSettings(host, port, tls="none", sender="noc@example.net")
    with pytest.raises(MailError, match="subject holds a line break"):
        await send(settings, ["ops@example.com"], "hi\r\nBcc: evil@example.com", "x")
    assert inbox.messages == []


async def test_no_server_is_one_line():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = SmtpSettings("127.0.0.1", port, tls="none", sender="a@b.c", timeout=3)
    with pytest.raises(MailError) as err:
        await send(settings, ["ops@example.com"], "s", "b")
    assert "\n" not in str(err.value) and f"127.0.0.1:{port}" in str(err.value)


def test_settings_come_from_the_config(tmp_path):
    assert SmtpSettings.from_config(load_config(env={})) is None
    path = tmp_path / "c.yaml"
    path.write_text("smtp_host: mail.example.net\nsmtp_port: 2525\nsmtp_tls: none\n")
    s = SmtpSettings.from_config(load_config(path, env={}))
    assert (s.host, s.port, s.tls, s.sender) == ("mail.example.net", 2525, "none",
                                                   "connex-tui@mail.example.net")
    path.write_text("smtp_tls: maybe\n")
    with pytest.raises(Exception, match="smtp_tls"):
        load_config(path, env={})
