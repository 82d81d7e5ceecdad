"""The one validator of a call to simulate (docs/domain.md §4.1 input): the Simulate dialog and the
`simulate` command both turn what the operator typed into a CallInput here.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from functools import lru_cache

from connex_tui.engine import route_fields
from connex_tui.engine.snapshot import CallInput
from connex_tui.engine.textsafe import refuse_controls
from connex_tui.engine.validation import _Collector, text

MAX_NUMBER = 32  # a tech prefix plus an E.164 number
_DIALLED = re.compile(r"[0-9*#]+")


def dialled(value) -> str:
    """Digits, with * and # allowed for a tech prefix; a leading + (E.164) is dropped."""
    raw = text(str(value or ""), required=True, max_len=MAX_NUMBER + 1, single_line=True)
    raw = raw.removeprefix("+").replace(" ", "")
    if not _DIALLED.fullmatch(raw):
        raise ValueError("only digits (and * # of a tech prefix)")
    if len(raw) > MAX_NUMBER:
        raise ValueError(f"at most {MAX_NUMBER} digits")
    return raw


def ip_address(value) -> str:
    """One IPv4 or IPv6 address (a call comes from one host, not a network)."""
    raw = text(str(value or ""), max_len=64, single_line=True)
    if not raw:
        return ""
    return _canonical_ip(raw)


@lru_cache(maxsize=4096)  # a batch repeats a few source IPs many times
def _canonical_ip(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ValueError("not an IP address (e.g. 192.0.2.10 or 2001:db8::1)") from None


def moment(value) -> datetime | None:
    """ISO date/time, UTC when no zone is given; empty = now (the caller's clock)."""
    if not isinstance(value, datetime):
        value = text(str(value or ""), max_len=40, single_line=True)
    return route_fields.moment(value, example="not an ISO time (e.g. 2026-11-25T12:00:00Z)")


def _password(value) -> str:
    """As typed (spaces count), bounded, one line of valid text: it is hashed, never shown."""
    raw = str(value)
    if len(raw) > 128:
        raise ValueError("at most 128 characters")
    return refuse_controls(raw)


def validate_call(raw: dict) -> CallInput:
    """Fields: number, cli, ip, sip_user, sip_password, switch_ip, at. A call needs a source
    IP or a SIP user, as the switch needs one of them to find the customer."""
    c = _Collector()
    number = c.check("number", dialled, raw.get("number", ""))
    cli = c.check("cli", text, str(raw.get("cli") or ""), max_len=64, single_line=True)
    ip = c.check("ip", ip_address, raw.get("ip", ""))
    user = c.check("sip_user", text, str(raw.get("sip_user") or ""), max_len=64,
                   single_line=True)
    password = c.check("sip_password", _password, raw.get("sip_password") or "") or ""
    switch_ip = c.check("switch_ip", ip_address, raw.get("switch_ip", ""))
    at = c.check("at", moment, raw.get("at", ""))
    if ip == "" and user == "":
        c.errors.setdefault("ip", "required unless a SIP user is given")
    if password and user == "":
        c.errors.setdefault("sip_user", "required with a password")
    c.raise_if_any()
    return CallInput(number=number, cli=(cli or "").removeprefix("+"), source_ip=ip, at=at,
                     switch_ip=switch_ip, sip_user=user or None,
                     sip_password=password if user else None)
