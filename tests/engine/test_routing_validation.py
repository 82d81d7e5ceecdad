"""The routing validators (docs/domain.md §3-§6): one bad value per field gives its message on
that field; good values come back in their normal form."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connex_tui.engine.route_fields import format_strategy, strategy
from connex_tui.engine.routing_validation import (
    IpAuthInput,
    RateCardInput,
    StrategyCardInput,
    StrategyInput,
    ValidationError,
    validate_cli_rule,
    validate_ip_auth,
    validate_provider,
    validate_rate_card,
    validate_rate_row,
    validate_route,
    validate_script,
    validate_sip_user,
)


def error_of(validator, raw: dict, field: str, **kw) -> str:
    with pytest.raises(ValidationError) as info:
        validator(raw, **kw)
    assert field in info.value.errors, info.value.errors
    return info.value.errors[field]


# -- rate cards ---------------------------------------------------------------------------
CUSTOMER_CARD = {"name": "Retail USD", "currency": "usd", "direction": "customer"}
PROVIDER_CARD = {"name": "UK-A", "currency": "USD", "direction": "provider", "provider": "Acme"}


def test_rate_card_defaults_and_parents():
    card = validate_rate_card({**CUSTOMER_CARD, "parents": "UK-A, UK B\nUK-A\n"})
    assert card == RateCardInput("Retail USD", "USD", "customer", 4, "up", "",
                                 ("UK-A", "UK B"))
    assert validate_rate_card(PROVIDER_CARD).provider == "Acme"
    assert validate_rate_card({**PROVIDER_CARD, "precision": "6",
                               "rounding": "half_down"}).precision == 6
    assert validate_rate_card({**CUSTOMER_CARD, "parents": ["A", "B"]}).parents == ("A", "B")


@pytest.mark.parametrize(("base", "field", "value", "message"), [
    (CUSTOMER_CARD, "name", "", "required"),
    (CUSTOMER_CARD, "currency", "DOLLARS", "ISO 4217"),
    (CUSTOMER_CARD, "direction", "both", "customer, provider"),
    (CUSTOMER_CARD, "precision", "7", "6 or less"),
    (CUSTOMER_CARD, "precision", "-1", "0 or more"),
    (CUSTOMER_CARD, "rounding", "nearest", "half_up"),
    (CUSTOMER_CARD, "provider", "Acme", "leave empty"),
    (PROVIDER_CARD, "provider", "", "required for a provider card"),
    (PROVIDER_CARD, "parents", "UK-B", "only customer cards"),
])
def test_rate_card_bad_field(base, field, value, message):
    assert message in error_of(validate_rate_card, {**base, field: value}, field)


# -- rate rows ----------------------------------------------------------------------------
def test_rate_row_normal_form():
    row = validate_rate_row({"prefix": "441", "destination": " UK Fixed ", "rate": "0.0125",
                             "connect_fee": "", "increment": "30/6", "blocked": "yes",
                             "effective_from": "2026-02-01T10:00+02:00"})
    assert (row.prefix, row.destination, row.rate, row.connect_fee) == (
        "441", "UK Fixed", Decimal("0.0125"), Decimal(0))
    assert (row.mcd, row.pulse, row.increment, row.blocked) == (30, 6, "30/6", True)
    assert row.effective_from == datetime(2026, 2, 1, 8, 0, tzinfo=UTC)


def test_rate_row_increment_and_dates_in_other_shapes():
    assert validate_rate_row({"prefix": 44, "rate": "0.01"}).increment == "60/60"
    assert validate_rate_row({"prefix": "44", "rate": "0", "mcd": "1",
                              "pulse": "1"}).increment == "1/1"
    assert validate_rate_row({"prefix": "44", "rate": Decimal("0.5"),
                              "effective_from": date(2026, 1, 31)}).effective_from == \
        datetime(2026, 1, 31, tzinfo=UTC)
    assert validate_rate_row({"prefix": "44", "rate": "1",
                              "effective_from": "2026-01-31"}).effective_from == \
        datetime(2026, 1, 31, tzinfo=UTC)
    assert validate_rate_row({"prefix": "44", "rate": "1"}).effective_from is None


@pytest.mark.parametrize(("field", "value", "message"), [
    ("prefix", "", "required"),
    ("prefix", "+44", "only digits"),
    ("prefix", "4" * 33, "at most 32"),
    ("destination", "UK\nFixed", "control characters"),
    ("rate", "", "required"),
    ("rate", "-0.01", "0 or more"),
    ("rate", "1e-3", "plain number"),
    ("rate", 0.01, "plain number"),
    ("rate", "0.0000001", "6 decimals"),
    ("connect_fee", "-1", "0 or more"),
    ("increment", "60", "MCD/Pulse"),
    ("increment", "60/0", "1 or more"),
    ("increment", "-1/60", "0 or more"),
    ("increment", "a/b", "whole number"),
    ("blocked", "perhaps", "yes or no"),
    ("effective_from", "31/01/2026", "ISO date"),
])
def test_rate_row_bad_field(field, value, message):
    raw = {"prefix": "44", "rate": "0.01", field: value}
    assert message in error_of(validate_rate_row, raw, field)


def test_rate_row_separate_mcd_pulse_errors_on_increment():
    assert "1 or more" in error_of(validate_rate_row, {"prefix": "1", "rate": "1", "mcd": "6",
                                                       "pulse": "0"}, "increment")


# -- providers ----------------------------------------------------------------------------
@pytest.mark.parametrize(("host", "normal"), [
    ("", ""),
    ("192.0.2.10", "192.0.2.10"),
    ("192.0.2.10:5080", "192.0.2.10:5080"),
    ("2001:DB8::1", "2001:db8::1"),
    ("[2001:db8::1]:5060", "[2001:db8::1]:5060"),
    ("SBC.Carrier.example", "sbc.carrier.example"),
    ("sbc.carrier.example:5061", "sbc.carrier.example:5061"),
    ("localhost", "localhost"),
])
def test_provider_host_normal_form(host, normal):
    assert validate_provider({"name": "Acme", "host": host}).host == normal


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", " ", "required"),
    ("status", "paused", "active, inactive"),
    ("host", "192.0.2.300", "not a valid IP address or host name"),
    ("host", "-bad-.example", "not a valid IP address or host name"),
    ("host", "under_score.example", "not a valid IP address or host name"),
    ("host", "a" * 64 + ".example", "not a valid IP address or host name"),
    ("host", "sbc.example:70000", "1 to 65535"),
    ("host", "[2001:db8::1]5060", "[2001:db8::1]:5060"),
    ("channels", "-1", "0 or more"),
    ("flow_speed", "fast", "whole number"),
])
def test_provider_bad_field(field, value, message):
    assert message in error_of(validate_provider, {"name": "Acme", field: value}, field)


# -- routes -------------------------------------------------------------------------------
ROUTE = {"rate_card": "Retail USD"}


def test_route_defaults():
    r = validate_route(ROUTE)
    assert (r.rate_card, r.tech_prefix, r.dial_string, r.capped_rate) == (
        "Retail USD", "", "", None)
    assert (r.max_duration, r.rtp_media_proxy, r.rtp_proxy_mode, r.enabled) == (
        7200, "auto", "relaxed", True)
    assert r.strategy == () and r.lock_cards == () and r.script == ""


def test_route_every_field():
    r = validate_route({
        **ROUTE, "tech_prefix": "99#", "dial_string": " 44\n\n^33(1|2)\n",
        "capped_rate": "0.05", "provider_capped_rate": "0.04", "profit_assurance": True,
        "block_connect_cost": "yes", "channels": "30", "flow_speed": "5",
        "max_duration": "3600", "lock_cards": "UK-A\nUK B", "exclude_cards": "FR-C",
        "strategy": "44 priority UK-A:1 'UK B':2\n* lcr", "script": "night",
        "rtp_media_proxy": "eu-west.1", "rtp_proxy_mode": "STRICT", "enabled": "no"})
    assert r.dial_string == "44\n^33(1|2)"
    assert (r.capped_rate, r.provider_capped_rate) == (Decimal("0.05"), Decimal("0.04"))
    assert (r.profit_assurance, r.block_connect_cost, r.enabled) == (True, True, False)
    assert (r.channels, r.flow_speed, r.max_duration) == (30, 5, 3600)
    assert (r.lock_cards, r.exclude_cards) == (("UK-A", "UK B"), ("FR-C",))
    assert r.strategy == (
        StrategyInput("44", "priority", (StrategyCardInput("UK-A", 1, 1),
                                         StrategyCardInput("UK B", 2, 1))),
        StrategyInput("", "lcr", ()))
    assert (r.script, r.rtp_media_proxy, r.rtp_proxy_mode) == ("night", "eu-west.1", "strict")


@pytest.mark.parametrize(("field", "value", "message"), [
    ("rate_card", "", "required"),
    ("tech_prefix", "12a", "only digits, * and #"),
    ("tech_prefix", "1" * 33, "at most 32"),
    ("dial_string", "44\n^33(1", "line 2: "),
    ("capped_rate", "-1", "0 or more"),
    ("capped_rate", "cheap", "plain number"),
    ("provider_capped_rate", "1e2", "plain number"),
    ("profit_assurance", "sometimes", "yes or no"),
    ("block_connect_cost", "2", "yes or no"),
    ("channels", "-5", "0 or more"),
    ("flow_speed", "1.5", "whole number"),
    ("max_duration", "0", "1 or more"),
    ("lock_cards", "x" * 101, "longer than 100"),
    ("exclude_cards", "UK-A", "also in lock cards: UK-A"),
    ("strategy", "44", "line 1: write"),
    ("strategy", "44 cheapest", "line 1: unknown mode 'cheapest'"),
    ("strategy", "* lcr\n4x lcr", "line 2: prefix must be digits or *"),
    ("strategy", "* lcr\n* drop", "line 2: prefix * already on line 1"),
    ("strategy", "44 lcr UK-A", "priority and weighted only"),
    ("strategy", "44 weighted UK-A:1:0", "weight of 1 or more"),
    ("strategy", "\n* lcr\n\n44 bogus", "line 4: unknown mode 'bogus'"),  # blank lines count
    ("strategy", "44 priority UK-A UK-A", "listed twice"),
    ("strategy", "44 priority 'UK-A", "line 1: "),
    ("script", "a\nb", "control characters"),
    ("rtp_media_proxy", "eu west", "zone name"),
    ("rtp_proxy_mode", "loose", "strict, relaxed"),
    ("enabled", "maybe", "yes or no"),
])
def test_route_bad_field(field, value, message):
    raw = {**ROUTE, "lock_cards": "UK-A", field: value}
    assert message in error_of(validate_route, raw, field)


def test_route_regex_error_names_the_pattern_problem():
    assert "line 1" in error_of(validate_route, {**ROUTE, "dial_string": "[44"}, "dial_string")


@pytest.mark.parametrize("text", [
    "* lcr",
    "44 priority UK-A 'UK B'",
    "44 priority UK-A:5 UK-B:1\n1 weighted UK-A:1:3 UK-B:2:7\n33 drop",
    "* reverse_lcr\n49 round_robin",
])
def test_strategy_text_round_trips(text):
    rows = strategy(text)
    assert format_strategy(rows) == text
    assert strategy(format_strategy(rows)) == rows


def test_strategy_from_yaml_list():
    rows = strategy([{"prefix": "44", "mode": "weighted",
                      "cards": [{"card": "UK-A", "weight": 3}, {"card": "UK-B"}]}])
    assert rows == (StrategyInput("44", "weighted", (StrategyCardInput("UK-A", 1, 3),
                                                     StrategyCardInput("UK-B", 2, 1))),)


# -- CLI rules ----------------------------------------------------------------------------
def test_cli_rule_normal_form():
    r = validate_cli_rule({"cli": r"^44(\d+)$", "rewrite_cli": r"0\1", "p_asserted_id": "$1",
                           "forced": "no", "position": "3"})
    assert (r.cli, r.rewrite_cli, r.p_asserted_id, r.forced, r.position) == (
        r"^44(\d+)$", r"0\1", "$1", False, 3)
    assert validate_cli_rule({"cli": "4420"}).position is None
    forced = validate_cli_rule({"forced": True, "rewrite_cli": "442000000000"})
    assert (forced.cli, forced.forced) == ("", True)


@pytest.mark.parametrize(("raw", "field", "message"), [
    ({"cli": ""}, "cli", "required"),
    ({"cli": "(44"}, "cli", ""),
    ({"cli": "44\n55"}, "cli", "control characters"),
    ({"cli": "^44(\\d+)", "rewrite_cli": "\\2"}, "rewrite_cli", "group 2"),
    ({"cli": "^44", "p_asserted_id": "${1}"}, "p_asserted_id", "has no groups"),
    ({"cli": "44", "forced": "y", "rewrite_cli": ""}, "rewrite_cli", "forced rule needs"),
    ({"cli": "44", "forced": "often"}, "forced", "yes or no"),
    ({"cli": "44", "position": "-1"}, "position", "0 or more"),
])
def test_cli_rule_bad_field(raw, field, message):
    assert message in error_of(validate_cli_rule, raw, field)


# -- IP auth ------------------------------------------------------------------------------
def test_ip_auth_defaults():
    assert validate_ip_auth({"host": "192.0.2.10"}) == IpAuthInput("192.0.2.10")
    assert validate_ip_auth({"host": "192.0.2.10", "protocol": "tls"}).port == 5061
    assert validate_ip_auth({"host": "192.0.2.10", "protocol": "tls", "port": "5070"}).port \
        == 5070


@pytest.mark.parametrize(("host", "direction", "normal"), [
    ("192.0.2.0/24", "ingress", "192.0.2.0/24"),
    ("192.0.2.7/32", "ingress", "192.0.2.7"),
    ("2001:DB8::/32", "ingress", "2001:db8::/32"),
    ("2001:db8::0001", "ingress", "2001:db8::1"),
    ("SBC.Example.net", "egress", "sbc.example.net"),
])
def test_ip_auth_host_normal_form(host, direction, normal):
    assert validate_ip_auth({"host": host, "direction": direction}).host == normal


def test_ip_auth_every_field():
    a = validate_ip_auth({
        "host": "192.0.2.1", "direction": "EGRESS", "channels": "10", "flow_speed": "2",
        "codecs": "pcma, g729 PCMA opus", "manufacturer": "Sonus", "sw_version": "9.2",
        "protocol": "tcp", "port": "5080", "dial_pattern": "national", "cli_prefix": "00#",
        "tech_prefix": "123*", "strip_digits": "2", "bandwidth": "512",
        "force_from": "sip:noc@example.net"})
    assert a.codecs == "PCMA,G729,OPUS"
    assert (a.direction, a.protocol, a.port, a.dial_pattern) == ("egress", "tcp", 5080,
                                                                 "national")
    assert (a.cli_prefix, a.tech_prefix, a.strip_digits, a.bandwidth) == ("00#", "123*", 2, 512)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("host", "", "required"),
    ("host", "192.0.2.1/24", "did you mean 192.0.2.0/24"),
    ("host", "192.0.2.256", "not a valid IP address or CIDR"),
    ("host", "gw.example.net", "egress only"),
    ("host", "bad_host", "not a valid IP address or host name"),
    ("direction", "both", "ingress, egress"),
    ("channels", "-1", "0 or more"),
    ("codecs", "PCMU SPEEX", "unknown codec 'SPEEX'"),
    ("codecs", " , ", "at least one codec"),
    ("manufacturer", "a" * 101, "at most 100"),
    ("protocol", "sctp", "udp, tcp, tls"),
    ("port", "0", "1 or more"),
    ("port", "65536", "65535 or less"),
    ("dial_pattern", "local", "e164, national, tech_prefix"),
    ("cli_prefix", "+44", "only digits"),
    ("tech_prefix", "1a", "only digits"),
    ("strip_digits", "21", "20 or less"),
    ("bandwidth", "-64", "0 or more"),
    ("force_from", "a\tb", "control characters"),
])
def test_ip_auth_bad_field(field, value, message):
    assert message in error_of(validate_ip_auth, {"host": "192.0.2.1", field: value}, field)


# -- SIP users ----------------------------------------------------------------------------
GOOD_PASSWORD = "correct horse battery"


def test_sip_user_normal_form_and_password_hidden_in_repr():
    u = validate_sip_user({"username": "alice.01", "password": GOOD_PASSWORD,
                           "ip_whitelist": "192.0.2.0/24, 198.51.100.7\n192.0.2.0/24"},
                          creating=True)
    assert u.password == GOOD_PASSWORD
    assert u.ip_whitelist == "192.0.2.0/24\n198.51.100.7/32"
    assert GOOD_PASSWORD not in repr(u)
    assert validate_sip_user({"username": "alice", "generate": True},
                             creating=True).generate is True
    assert validate_sip_user({"username": "alice"}, creating=False).password == ""


@pytest.mark.parametrize(("raw", "creating", "field", "message"), [
    ({"username": "al"}, False, "username", "3 to 64"),
    ({"username": "al ice"}, False, "username", "3 to 64"),
    ({"username": "a" * 65}, False, "username", "3 to 64"),
    ({"username": "alice"}, True, "password", "required"),
    ({"username": "alice", "password": "short"}, False, "password", "at least 12"),
    ({"username": "alice", "password": GOOD_PASSWORD, "generate": "yes"}, True, "password",
     "leave empty"),
    ({"username": "alice", "channels": "x"}, False, "channels", "whole number"),
    ({"username": "alice", "flow_speed": "-2"}, False, "flow_speed", "0 or more"),
    ({"username": "alice", "ip_whitelist": "192.0.2.1/24"}, False, "ip_whitelist",
     "'192.0.2.1/24'"),
])
def test_sip_user_bad_field(raw, creating, field, message):
    assert message in error_of(validate_sip_user, raw, field, creating=creating)


# -- scripts ------------------------------------------------------------------------------
def test_script_body_must_parse():
    body = "- match: {number: '^44'}\n  reject: '403 Forbidden'\n"
    assert validate_script({"name": "night", "body": body}).body == body.strip()
    assert error_of(validate_script, {"name": "night", "body": ""}, "body") == "required"
    assert error_of(validate_script, {"name": "", "body": body}, "name") == "required"
    assert error_of(validate_script, {"name": "x", "body": "a: [1"}, "body")
