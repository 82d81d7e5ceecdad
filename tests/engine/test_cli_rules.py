"""CLI rules of docs/domain.md §5: whitelist, rewrite groups, PAID, forced rules, guard."""

from __future__ import annotations

import time

import pytest

from connex_tui.engine.cli_rules import apply_cli_rules
from connex_tui.engine.snapshot import CliRuleS


def rule(cli, rewrite="", pai="", forced=False, rid=0):
    return CliRuleS(id=rid, customer_id=1, cli=cli, rewrite_cli=rewrite, p_asserted_id=pai,
                    forced=forced)


CASES = [
    # (rules, cli in, allowed, cli out, pai, rule id applied)
    ("no rules pass anything", [], "anything", True, "anything", "", None),
    ("whitelist match, no rewrite", [rule("^44", rid=1)], "4420", True, "4420", "", 1),
    ("plain digits are unanchored", [rule("1632", rid=1)], "441632960000", True,
     "441632960000", "", 1),
    ("whitelist miss rejects", [rule("^44", rid=1)], "3312", False, "3312", "", None),
    ("first matching rule wins", [rule("^33", "X", rid=1), rule("^44", "0044", rid=2),
                                  rule("^4", "FOUR", rid=3)], "4420", True, "0044", "", 2),
    (r"rewrite with \1", [rule(r"^0(\d+)$", r"44\1", rid=1)], "07700900", True,
     "447700900", "", 1),
    ("rewrite with $1", [rule(r"^0(\d+)$", "44$1", rid=1)], "07700900", True,
     "447700900", "", 1),
    ("two groups", [rule(r"^(\d\d)(\d+)$", r"$2-\1", rid=1)], "4412", True, "12-44", "", 1),
    ("PAID with groups", [rule(r"^44(\d+)$", "", "+44$1", rid=1)], "44123", True, "44123",
     "+44123", 1),
    ("forced rule when no whitelist rule matches",
     [rule("^44", rid=1), rule(".*", "15550000", forced=True, rid=2)], "3312", True,
     "15550000", "", 2),
    ("forced rule is not used when the whitelist matches",
     [rule(".*", "15550000", forced=True, rid=2), rule("^44", rid=1)], "4420", True, "4420",
     "", 1),
    ("only forced rules: every CLI replaced",
     [rule("^9", "15550000", "15550001", forced=True, rid=5)], "4420", True, "15550000",
     "15550001", 5),
    ("first forced rule in order",
     [rule("^9", "111", forced=True, rid=1), rule("^9", "222", forced=True, rid=2),
      rule("^44", rid=3)], "33", True, "111", "", 1),
    ("forced rule groups come from its own match",
     [rule("^44", rid=1), rule(r"^0(\d+)", r"1\1", forced=True, rid=2)], "0123", True,
     "1123", "", 2),
    ("forced rule without a rewrite keeps the CLI",
     [rule("^44", rid=1), rule("x", "", "999", forced=True, rid=2)], "33", True, "33", "999",
     2),
]


@pytest.mark.parametrize(("rules", "cli", "allowed", "cli_out", "pai", "rule_id"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cli_rules(rules, cli, allowed, cli_out, pai, rule_id):
    outcome = apply_cli_rules(rules, cli)
    assert (outcome.allowed, outcome.cli, outcome.pai, outcome.rule_id) == (
        allowed, cli_out, pai, rule_id)
    assert outcome.note


def test_a_pattern_that_does_not_compile_is_skipped_and_said():
    outcome = apply_cli_rules([rule("(", rid=1), rule("^44", rid=2)], "4420")
    assert outcome.allowed and outcome.rule_id == 2
    assert "skipped" in outcome.note


def test_catastrophic_pattern_cannot_hang_a_call():
    started = time.monotonic()
    outcome = apply_cli_rules([rule(r"(a|aa)+$", rid=1)], "a" * 40 + "!")
    assert time.monotonic() - started < 1.0
    assert not outcome.allowed
    assert "timed out" in outcome.note


def test_an_overlong_cli_matches_no_rule():
    outcome = apply_cli_rules([rule("^4", rid=1)], "4" * 65)
    assert not outcome.allowed
    assert "64" in outcome.note
