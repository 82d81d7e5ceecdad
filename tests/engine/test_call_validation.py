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


def _outcome(fn, raw):
    try:
        return fn(raw)
    except ValidationError as exc:
        return exc.errors


_NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
_FIELD_VALUES = {
    "number": ["4420123", "+4420123", " 4420123 ", "44 20", "12ab", "", "1" * 32, "1" * 33,
               "42#44", "*9", "44\x1b", "٤٤٢", None, 4420],
    "cli": ["", "447700900123", "+44770", " 4477 ", "x" * 64, "x" * 65, "a\u202eb", "\t44",
            "44\x00", None, "\u00ad44", 44],
    "ip": ["10.0.0.1", " 10.0.0.1 ", "::ffff:10.0.0.1", "2001:DB8::1", "", "10.0.0.0/24",
           "sw1", "10.0.0.1\x1b", "1" * 65, None],
    "switch_ip": ["", "192.0.2.1", "bad", None],
    "sip_user": ["", "alice", "  ", None],
    "sip_password": ["", "pw", None],
    "at": ["", "2026-11-25T12:00:00", "yesterday", _NOW, datetime(2026, 11, 25, 12),
           datetime(1900, 1, 1, tzinfo=UTC), None],
}


def test_the_fast_path_for_plain_calls_decides_exactly_as_the_field_checks():
    # validate_call takes a shortcut for the common batch line; on every mix of plain,
    # odd and hostile values it must give the same call or the same errors as the full
    # field-by-field checks
    import itertools

    from connex_tui.engine.call_validation import _checked_call

    keys = list(_FIELD_VALUES)
    plain = {k: v[0] for k, v in _FIELD_VALUES.items()}
    cases = [plain]
    for key, values in _FIELD_VALUES.items():  # each field through all its values
        cases += [{**plain, key: v} for v in values]
    for a, b in itertools.combinations(keys, 2):  # and each pair of fields crossed
        cases += [{**plain, a: va, b: vb} for va in _FIELD_VALUES[a][:5]
                  for vb in _FIELD_VALUES[b][:5]]
    for raw in cases:
        for _ in range(2):  # the second time the remembered `at` answers
            assert _outcome(validate_call, raw) == _outcome(_checked_call, raw), raw


def test_a_batch_moment_is_converted_once_and_stays_exact():
    later = datetime(2026, 11, 25, 13, tzinfo=UTC)
    first = validate_call({"number": "44", "ip": "10.0.0.1", "at": _NOW})
    second = validate_call({"number": "44", "ip": "10.0.0.1", "at": later})
    assert (first.at, second.at) == (_NOW, later)
