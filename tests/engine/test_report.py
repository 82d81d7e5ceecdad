"""Headline, text block and the stable JSON of a Result."""

from __future__ import annotations

import json
from decimal import Decimal

from connex_tui.engine.money import format_exact
from connex_tui.engine.pipeline import decide
from connex_tui.engine.report import headline, result_from_json, result_lines, result_to_json
from tests.engine.builders import call, standard

D = Decimal
KEYS = {"decision", "sip_code", "reason", "customer", "route", "number_out", "cli_out", "pai",
        "prefix", "destination", "rate", "connect_fee", "increment", "max_duration",
        "providers", "trace"}


def test_headlines():
    s = standard()
    assert headline(decide(s.snap, call())) == "would connect via 3 providers at 0.0500/min"
    assert headline(decide(s.snap, call("33123"))) == \
        "would connect via 2 providers at 0.0300/min"
    s.world.update_route(s.route, lock_cards=frozenset({s.a.id}))
    assert headline(decide(s.snap, call())) == "would connect via 1 provider at 0.0500/min"
    s.world.cli_rule(s.acme, "^1")
    assert headline(decide(s.snap, call())) == "rejected: 403 CLI Restriction In Effect"


def test_json_has_the_stable_keys_and_money_as_strings():
    s = standard()
    data = result_to_json(decide(s.snap, call()))
    assert set(data) >= KEYS
    assert json.loads(json.dumps(data)) == data  # plain JSON types only
    assert (data["decision"], data["sip_code"], data["reason"]) == ("allow", 200, "OK")
    assert (data["rate"], data["connect_fee"], data["increment"]) == ("0.0500", "0.0000",
                                                                      "60/60")
    assert data["providers"][0] == {
        "name": "Carrier-A", "card": "Carrier-A-card", "rate": "0.0300", "margin": "0.0200",
        "connect_fee": "0.0000", "prefix": "447", "provider_id": s.a.provider_id,
        "card_id": s.a.id}
    assert data["providers"][2]["margin"] == "-0.0100"
    assert isinstance(data["trace"], list) and len(data["trace"]) == 9


def test_rejected_json():
    s = standard()
    data = result_to_json(decide(s.snap, call(source_ip="192.0.2.1")))
    assert (data["decision"], data["sip_code"], data["reason"]) == (
        "reject", 403, "IP Not Authorised")
    assert data["rate"] is None and data["providers"] == [] and data["max_duration"] is None
    assert data["customer"] == ""


def test_json_round_trip():
    s = standard()
    for c in (call(), call("33123"), call(source_ip="192.0.2.1"), call("447012")):
        result = decide(s.snap, c)
        again = result_from_json(json.loads(json.dumps(result_to_json(result))))
        assert again == result


def test_card_decimals_never_round_a_rate_away():
    assert format_exact(D("0.012"), 4) == "0.0120"
    assert format_exact(D("0.012345"), 4) == "0.012345"
    assert format_exact(D("5"), 2) == "5.00"
    assert format_exact(None, 4) == ""
    assert format_exact(D("-0.01"), 4) == "-0.0100"


def test_result_lines_show_everything_the_dialog_needs():
    s = standard()
    s.world.cli_rule(s.acme, r"^44(\d+)", rewrite_cli=r"0\1", p_asserted_id="+44$1")
    lines = result_lines(decide(s.snap, call()))
    text = "\n".join(lines)
    assert lines[0] == "would connect via 3 providers at 0.0500/min"
    assert "441632960000 -> 01632960000" in text
    assert "P-Asserted-ID +441632960000" in text
    assert "447 UK Mobile: 0.0500/min USD, connect 0.0000, 60/60 (card Retail)" in text
    assert "7200 s (2 h 00 min)" in text
    assert "1. Carrier-A" in text and "margin 0.0200" in text
    assert text.count("\n  ") >= 9 + 3  # trace lines and provider lines are indented
