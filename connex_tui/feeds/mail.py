"""Outgoing mail over SMTP (docs/domain.md §2 passwords, §10 alerts), through aiosmtplib.

The one place that talks SMTP. Settings come from the config file (`smtp_*` keys); with no
`smtp_host` there is no mailer and callers fall back (a generated password is shown once).
Every failure is MailError with one line an operator can act on; no traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from connex_tui.engine import present

SEND_TIMEOUT = 15.0  # seconds for the whole exchange: a dead server cannot hang a job
MAX_BODY = 64 * 1024
MAX_RECIPIENTS = 50


class MailError(Exception):
    """Mail could not be sent; str() is one printable line."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    tls: str = "starttls"  # none | starttls | tls
    user: str = ""
    password: str = ""
    sender: str = ""
    timeout: float = SEND_TIMEOUT

    @classmethod
    def from_config(cls, cfg) -> SmtpSettings | None:
        """None when the config names no SMTP host: mail is off."""
        if not getattr(cfg, "smtp_host", ""):
            return None
        return cls(cfg.smtp_host, cfg.smtp_port, cfg.smtp_tls, cfg.smtp_user,
                   cfg.smtp_password, cfg.smtp_sender or f"connex-tui@{cfg.smtp_host}")

    @property
    def where(self) -> str:
        return present.text(f"{self.host}:{self.port}")


def _header(name: str, value: str) -> str:
    # a CR or LF in a header would let a value add headers (or a body) of its own
    if any(c in value for c in "\r\n\0"):
        raise MailError(f"mail {name} holds a line break")
    return value


def build_message(settings: SmtpSettings, to: list[str], subject: str,
                  body: str) -> EmailMessage:
    if not to:
        raise MailError("mail has no recipient")
    if len(to) > MAX_RECIPIENTS:
        raise MailError(f"mail has {len(to)} recipients, at most {MAX_RECIPIENTS}")
    if len(body) > MAX_BODY:
        raise MailError(f"mail body is over {MAX_BODY // 1024} KiB")
    msg = EmailMessage()
    msg["From"] = _header("sender", settings.sender)
    msg["To"] = ", ".join(_header("recipient", t) for t in to)
    msg["Subject"] = _header("subject", subject)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=settings.host or None)
    msg.set_content(body)
    return msg


async def send(settings: SmtpSettings, to: list[str], subject: str, body: str) -> None:
    """Send one plain-text message to `to`; MailError (one line) if it cannot be sent."""
    import aiosmtplib  # imported on first mail, not at start-up

    msg = build_message(settings, to, subject, body)
    try:
        await aiosmtplib.send(
            msg, hostname=settings.host, port=settings.port,
            username=settings.user or None, password=settings.password or None,
            use_tls=settings.tls == "tls", start_tls=settings.tls == "starttls",
            timeout=settings.timeout)
    except aiosmtplib.SMTPException as exc:
        raise MailError(f"mail to {present.text(', '.join(to))} via {settings.where} "
                        f"failed: {present.one_line(str(exc))}") from None
    except OSError as exc:
        raise MailError(f"mail via {settings.where} failed: cannot connect "
                        f"({present.one_line(exc.strerror or str(exc))})") from None
