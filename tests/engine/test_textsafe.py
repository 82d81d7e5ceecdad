"""Hostile text: control characters are refused at validation for every single-line field
(one message), multi-line notes keep only newline and tab, and safe_text makes any string
fit for a terminal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connex_tui.engine.call_validation import validate_call
from connex_tui.engine.routing_validation import (
    validate_cli_rule,
    validate_ip_auth,
    validate_provider,
    validate_rate_card,
    validate_rate_row,
    validate_route,
    validate_script,
    validate_sip_user,
)
from connex_tui.engine.textsafe import CONTROL_MESSAGE, refuse_controls, safe_text
from connex_tui.engine.validation import ValidationError, validate_customer

# ESC (CSI clear screen), a one-byte CSI, DEL, a bidi override, an isolate, OSC 52, NUL
HOSTILE = ["a\x1b[2Jb", "a\x9b2Jb", "a\x7fb", "a\u202eb", "a\u2066b", "\x1b]52;c;aGk=\x07",
           "a\x00b", "a\u2028b"]


def message(validator, raw: dict, field: str, **kw) -> str:
    with pytest.raises(ValidationError) as info:
        validator(raw, **kw)
    return info.value.errors[field]


def test_safe_text_escapes_what_a_terminal_would_obey():
    assert safe_text("Acme \x1b[2J\x9b\x7f\u202e\u2069 ok") == \
        "Acme \\x1b[2J\\x9b\\x7f\\u202e\\u2069 ok"
    assert safe_text("a\nb\tc") == "a\\x0ab\\x09c"
    assert safe_text("a\nb\tc\x1b", multiline=True) == "a\nb\\x09c\\x1b"  # lines kept
    assert safe_text("Müller Télécom 電話 ٤٤ ∞") == "Müller Télécom 電話 ٤٤ ∞"
    assert safe_text("a\udcff") == "a\\xff"  # a byte surrogateescape kept
    assert safe_text(42) == "42"


def test_refuse_controls_one_message_multiline_keeps_newline_and_tab():
    for bad in HOSTILE:
        with pytest.raises(ValueError, match=CONTROL_MESSAGE):
            refuse_controls(bad)
    assert refuse_controls("line 1\n\tline 2", multiline=True) == "line 1\n\tline 2"
    with pytest.raises(ValueError, match=CONTROL_MESSAGE):
        refuse_controls("line 1\n\x1b[2J", multiline=True)
    with pytest.raises(ValueError, match="not valid UTF-8"):
        refuse_controls("a\udcff")


CUSTOMER = {"name": "Acme", "currency": "USD"}
IP = {"host": "192.0.2.1"}
ROUTE = {"rate_card": "Retail"}
CASES = [  # validator, good raw values, field, extra kwargs
    (validate_customer, CUSTOMER, "name", {}),
    (validate_customer, CUSTOMER, "paypal_email", {}),
    (validate_customer, CUSTOMER, "website", {}),
    (validate_customer, CUSTOMER, "address", {}),
    (validate_customer, CUSTOMER, "notes_public", {}),
    (validate_customer, CUSTOMER, "notes_private", {}),
    (validate_ip_auth, IP, "host", {}),
    (validate_ip_auth, IP, "manufacturer", {}),
    (validate_ip_auth, IP, "force_from", {}),
    (validate_ip_auth, IP, "codecs", {}),
    (validate_sip_user, {"username": "acme01", "password": "x" * 12}, "username",
     {"creating": True}),
    (validate_sip_user, {"username": "acme01", "password": "x" * 12}, "password",
     {"creating": True}),
    (validate_sip_user, {"username": "acme01", "generate": True}, "ip_whitelist",
     {"creating": True}),
    (validate_rate_card, {"name": "R", "currency": "USD", "direction": "customer"}, "name", {}),
    (validate_rate_card, {"name": "R", "currency": "USD", "direction": "customer"},
     "parents", {}),
    (validate_rate_card, {"name": "R", "currency": "USD", "direction": "provider"},
     "provider", {}),
    (validate_rate_row, {"prefix": "44", "rate": "0.01"}, "destination", {}),
    (validate_rate_row, {"prefix": "44", "rate": "0.01"}, "prefix", {}),
    (validate_rate_row, {"prefix": "44", "rate": "0.01"}, "rate", {}),
    (validate_provider, {"name": "P"}, "name", {}),
    (validate_provider, {"name": "P"}, "host", {}),
    (validate_route, ROUTE, "rate_card", {}),
    (validate_route, ROUTE, "lock_cards", {}),
    (validate_route, ROUTE, "exclude_cards", {}),
    (validate_route, ROUTE, "script", {}),
    (validate_route, ROUTE, "dial_string", {}),
    (validate_script, {"name": "S", "body": "- match: {number: '^44'}\n  reject: 403 no"},
     "name", {}),
    (validate_cli_rule, {"cli": "44"}, "cli", {}),
    (validate_cli_rule, {"cli": "44"}, "rewrite_cli", {}),
    (validate_cli_rule, {"cli": "44"}, "p_asserted_id", {}),
    (validate_call, {"number": "44", "ip": "192.0.2.1"}, "number", {}),
    (validate_call, {"number": "44", "ip": "192.0.2.1"}, "cli", {}),
    (validate_call, {"number": "44", "ip": "192.0.2.1"}, "ip", {}),
    (validate_call, {"number": "44", "sip_user": "u"}, "sip_user", {}),
    (validate_call, {"number": "44", "ip": "192.0.2.1"}, "switch_ip", {}),
]


@pytest.mark.parametrize("hostile", ["Acme-trunk\x1b[2J", "Acme-trunk\x9b", "Acme\u202eevil-trunk",
                                     "Acme\x7f-trunk"])
@pytest.mark.parametrize(("validator", "good", "field", "kw"), CASES,
                         ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_every_single_line_field_refuses_controls(validator, good, field, kw, hostile):
    msg = message(validator, {**good, field: hostile}, field, **kw)
    # digit, IP and money fields may refuse the text for being no number first
    assert CONTROL_MESSAGE in msg or validator is validate_call or field in (
        "prefix", "rate", "codecs", "username"), msg
    assert "\x1b" not in msg and "\x9b" not in msg and "\u202e" not in msg


@pytest.mark.parametrize("field", ["address", "notes_public", "notes_private"])
def test_multiline_fields_keep_newlines_and_tabs_only(field):
    ok = validate_customer({**CUSTOMER, field: "Line 1\r\n\tLine 2"})
    assert getattr(ok, field) == "Line 1\n\tLine 2"
    assert message(validate_customer, {**CUSTOMER, field: "Line 1\n\x1b]0;pwned\x07"},
                   field) == CONTROL_MESSAGE


def test_ipv6_scope_cannot_smuggle_controls():
    assert message(validate_ip_auth, {"host": "fe80::1%\x1b[2J"}, "host") == CONTROL_MESSAGE


def test_strategy_card_names_refuse_controls():
    msg = message(validate_route, {**ROUTE, "strategy": "* priority 'UK\u202eA'"}, "strategy")
    assert msg == f"line 1: {CONTROL_MESSAGE}"


def test_non_ascii_digits_are_no_number_anywhere():
    assert message(validate_rate_row, {"prefix": "44", "rate": "٠.٠١"}, "rate")
    assert message(validate_customer, {**CUSTOMER, "debit_limit": "١٠"}, "debit_limit")
    assert message(validate_customer, {**CUSTOMER, "channels": "٣"}, "channels")
    assert message(validate_rate_row, {"prefix": "٤٤", "rate": "0.01"}, "prefix")
    assert message(validate_rate_row, {"prefix": "44", "rate": "0.01", "increment": "٦٠/60"},
                   "increment")
    assert message(validate_route, {**ROUTE, "dial_string": "٤٤"}, "dial_string") == \
        "line 1: digits must be 0-9"
    assert validate_rate_row({"prefix": "44", "rate": "0.01"}).rate == Decimal("0.01")
