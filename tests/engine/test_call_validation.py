"""The Simulate dialog and the simulate command share this validator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connex_tui.engine.call_validation import validate_call
from connex_tui.engine.validation import ValidationError


def test_typed_values_become_a_call_input():
    call = validate_call({"number": " +49 30 1234 ", "cli": "+447700900123",
                          "ip": "198.51.100.7", "switch_ip": "2001:db8::1",
                          "at": "2026-11-25T12:00:00"})
    assert (call.number, call.cli, call.source_ip, call.switch_ip) == (
        "49301234", "447700900123", "198.51.100.7", "2001:db8::1")
    assert call.at == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert call.sip_user is None and call.sip_password is None


def test_sip_user_replaces_the_ip_and_tech_prefix_characters_pass():
    call = validate_call({"number": "42#4930", "sip_user": "alice", "sip_password": "pw"})
    assert (call.number, call.source_ip, call.sip_user, call.sip_password) == (
        "42#4930", "", "alice", "pw")


@pytest.mark.parametrize("raw, errors", [
    ({"number": "", "ip": "10.0.0.1"}, {"number": "required"}),
    ({"number": "49x", "ip": "10.0.0.1"}, {"number": "only digits (and * # of a tech prefix)"}),
    ({"number": "4930"}, {"ip": "required unless a SIP user is given"}),
    ({"number": "4930", "ip": "10.0.0.0/24"},
     {"ip": "not an IP address (e.g. 192.0.2.10 or 2001:db8::1)"}),
    ({"number": "4930", "ip": "10.0.0.1", "switch_ip": "sw1"},
     {"switch_ip": "not an IP address (e.g. 192.0.2.10 or 2001:db8::1)"}),
    ({"number": "4930", "ip": "10.0.0.1", "sip_password": "x"},
     {"sip_user": "required with a password"}),
    ({"number": "4930", "ip": "10.0.0.1", "at": "yesterday"},
     {"at": "not an ISO time (e.g. 2026-11-25T12:00:00Z)"}),
])
def test_bad_fields_are_named(raw, errors):
    with pytest.raises(ValidationError) as exc:
        validate_call(raw)
    assert exc.value.errors == errors
