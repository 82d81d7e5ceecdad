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
_PLAIN_NUMBER = re.compile(rf"[0-9*#]{{1,{MAX_NUMBER}}}")  # needs no stripping or rewriting


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
    plain = _plain_call(raw)
    return plain if plain is not None else _checked_call(raw)


def _checked_call(raw: dict) -> CallInput:
    """validate_call() field by field, every error collected."""
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


# The last `at` given as a datetime and what moment() made of it: a batch hands the same
# moment to every call (a datetime is immutable, so the same object means the same answer).
_LAST_AT: tuple = (None, None)


def _plain_ip(value) -> str | None:
    """ip_address() of a plain address or of nothing ("" is no address); None: ask it."""
    if value.__class__ is not str:
        return None
    value = value.strip()
    if not value:
        return ""
    if len(value) > 64 or not value.isprintable():
        return None
    try:
        return _canonical_ip(value)
    except ValueError:
        return None


def _plain_call(raw: dict) -> CallInput | None:
    """validate_call() of the common call (a plain number, a printable CLI, a source IP, no
    SIP user) without the field-by-field collector, a batch's third of a line's cost; None
    for anything else, so that the full checks decide it and word its errors."""
    number, cli = raw.get("number", ""), raw.get("cli") or ""
    if (raw.get("sip_user") or raw.get("sip_password") or number.__class__ is not str
            or cli.__class__ is not str or _PLAIN_NUMBER.fullmatch(number) is None):
        return None
    cli = cli.strip()
    if len(cli) > 64 or not cli.isprintable():
        return None
    ip, switch_ip = _plain_ip(raw.get("ip", "")), _plain_ip(raw.get("switch_ip", ""))
    if not ip or switch_ip is None:
        return None
    global _LAST_AT
    at, last = raw.get("at", ""), _LAST_AT
    if at is not last[0] or at is None:
        try:
            made = moment(at)
        except ValueError:
            return None
        if at.__class__ is datetime:
            _LAST_AT = last = at, made
        else:
            last = at, made
    return CallInput(number=number, cli=cli.removeprefix("+"), source_ip=ip, at=last[1],
                     switch_ip=switch_ip)
