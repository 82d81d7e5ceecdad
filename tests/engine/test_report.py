"""Headline, text block and the stable JSON of a Result."""

from __future__ import annotations

import json
from decimal import Decimal

from connex_tui.engine.pipeline import decide
from connex_tui.engine.present import json_line
from connex_tui.engine.report import (
    headline,
    result_from_json,
    result_json,
    result_lines,
    result_to_json,
    result_view,
)
from tests.engine.builders import call, standard

D = Decimal
KEYS = {"decision", "sip_code", "reason", "customer", "route", "number_out", "cli_out", "pai",
        "prefix", "destination", "rate", "connect_fee", "increment", "max_duration",
        "providers", "trace"}


def test_headlines():
    s = standard()
    assert headline(decide(s.snap, call())) == "would connect via 3 providers at 0.0500 USD/min"
    assert headline(decide(s.snap, call("33123"))) == \
        "would connect via 2 providers at 0.0300 USD/min"
    s.world.update_route(s.route, lock_cards=frozenset({s.a.id}))
    assert headline(decide(s.snap, call())) == "would connect via 1 provider at 0.0500 USD/min"
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


def test_result_json_is_json_line_of_result_to_json_byte_for_byte():
    # a batch writes result_json; it must be the very text json_line writes for the dict
    s = standard()
    s.world.update_customer(s.acme, name="Acme \x9b2J \u202eEvil\u202c \"Q\" Müller")
    s.world.cli_rule(s.acme, r"^44(\d+)", rewrite_cli=r"0\1", p_asserted_id="+44$1")
    calls = [call(), call("33123"), call("1555", "44\x7f1"), call(source_ip="192.0.2.1"),
             call("447012"), call("99"), call(cli="331")]
    seen = 0
    for c in calls * 2:  # the second round hits decide's and result_json's memos
        result = decide(s.snap, c)
        for call_id, line in (("SIM-1", 7), (None, None)):
            expected = {**result_to_json(result), "call_id": call_id}
            if line is not None:
                expected = {"line": line, **expected}
            assert result_json(result, call_id, line=line) == json_line(expected)
            seen += bool(result.providers)
    assert seen >= 8


def test_result_json_of_odd_values_and_after_its_text_memo_starts_afresh():
    # a hand-made Result (an id as text, a float rate) takes the general way; the memo of
    # known strings may be emptied between two lines and the text stays the same
    from dataclasses import replace

    from connex_tui.engine import report

    s = standard()
    result = decide(s.snap, call())
    odd = replace(result, customer_id="7", auth="\u202eIP", max_duration=True)
    first = result_json(result, None, line=2)
    assert result_json(odd, None) == json_line({**result_to_json(odd), "call_id": None})
    report._SAFE_TEXT.clear()
    assert result_json(result, None, line=2) == first == json_line(
        {"line": 2, **result_to_json(result), "call_id": None})
    for n in range(70_000):  # more strings than the memo keeps: it starts afresh
        report._text(str(n))
    assert len(report._SAFE_TEXT) < 65_536
    assert result_json(result, None, line=2) == first


def test_one_view_of_the_result_for_the_cli_and_the_dialog():
    s = standard()
    s.world.cli_rule(s.acme, r"^44(\d+)", rewrite_cli=r"0\1", p_asserted_id="+44$1")
    result = decide(s.snap, call())
    view = result_view(result)
    summary = {row.label: row.value for row in view if not row.section}
    assert summary["CLI"] == "441632960000 → 01632960000"
    assert summary["P-Asserted-ID"] == "+441632960000"
    assert summary["Rate"] == ("447 UK Mobile · 0.0500 USD/min · connect fee 0.0000 USD · "
                               "60/60")
    assert summary["Max duration"] == "7200 s (2 h 00 min)"
    providers = [row for row in view if row.section == "Providers"]
    assert "money in USD" in providers[0].value
    assert providers[2].label == "1." and providers[2].value.split() == [
        "Carrier-A", "Carrier-A-card", "0.0300", "0.0000", "0.0200"]
    assert [row.alert for row in providers[2:]] == [False, False, True]  # negative margin
    assert [row.label for row in view if row.section == "Trace"] == [
        f"{n}." for n in range(1, 10)]

    # The CLI block is that view, row for row, under the headline.
    lines = result_lines(result)
    assert lines[0] == "ALLOW  would connect via 3 providers at 0.0500 USD/min"
    assert "CLI           441632960000 → 01632960000" in lines
    assert "P-Asserted-ID +441632960000" in lines
    assert "  1.  " + providers[2].value in lines
    assert lines.index("Providers") < lines.index("Trace")
    assert len(lines) == 2 + len(view) + 2  # headline, blank, rows, two section titles


def test_the_view_escapes_what_came_from_outside():
    s = standard()
    s.world.cli_rule(s.acme, "^44", p_asserted_id="\x1b]52;c;aGk=\x07\u202e")
    view = result_view(decide(s.snap, call(cli="44\x9b2J")))
    text = "\n".join(row.value for row in view)
    assert not any(ch in text for ch in "\x1b\x07\x9b\u202e")
    assert "\\x1b]52;c;aGk=\\x07\\u202e" in text and "44\\x9b2J" in text
