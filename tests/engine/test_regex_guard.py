"""Operator regexes are compiled once, refused when unusable, and can never hang a call."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import textwrap
import time

import pytest

from connex_tui.engine.regex_guard import (
    MAX_INPUT,
    RegexTimeout,
    compile_guarded,
    expand,
)
from connex_tui.engine.routing_validation import validate_cli_rule
from connex_tui.engine.validation import ValidationError


@pytest.mark.parametrize("pattern", ["(", "[0-9", "*44", "a{2,1}", "", "x" * 300, "44\n1"])
def test_unusable_patterns_are_refused_with_a_message(pattern):
    with pytest.raises(ValueError) as info:
        compile_guarded(pattern)
    assert str(info.value)


def test_compiled_once_per_pattern():
    assert compile_guarded(r"^44(1|2)") is compile_guarded(r"^44(1|2)")


@pytest.mark.parametrize(("pattern", "text"), [
    (r"(a|aa)+$", "a" * 63 + "!"),  # exponential in re: minutes at 63 characters
    (r"(\d+)+$", "1" * 63 + "x"),
    (r"(a+)+$", "a" * 63 + "!"),
    (r"^(\d|\d\d|\d\d\d)+#$", "1" * 64),
])
def test_catastrophic_patterns_cannot_hang(pattern, text):
    guarded = compile_guarded(pattern)
    started = time.monotonic()
    with contextlib.suppress(RegexTimeout):
        assert guarded.search(text) is None
    assert time.monotonic() - started < 1.0


def test_input_length_is_bounded():
    guarded = compile_guarded("1")
    assert guarded.search("1" * MAX_INPUT)
    with pytest.raises(RegexTimeout):
        guarded.search("1" * (MAX_INPUT + 1))


def test_plain_digits_are_unanchored():
    assert compile_guarded("4420").search("0044207")


@pytest.mark.parametrize(("template", "expected"), [
    (r"44\1", "447700900"),
    ("44$1", "447700900"),
    ("44${1}0", "4477009000"),
    ("00$2", "00"),  # a group the pattern does not have is empty
    ("+1 555", "+1 555"),
])
def test_expand_fills_groups(template, expected):
    match = compile_guarded(r"^0(\d+)$").search("07700900")
    assert expand(template, match) == expected


def test_expand_without_a_match_empties_references():
    assert expand(r"44\1", None) == "44"


@pytest.mark.parametrize(("pattern", "timed"), [
    ("4420", False), (r"^44(1|2)", False), (r"^0(\d+)$", False), (r"^(\d{6,15})$", False),
    (r"^(44|33)\d+", False), (r"(\d)+$", False),
    # nested quantifiers, alternation under a quantifier, many quantifiers, backreferences,
    # lookarounds: not provably cheap, so they run under the timeout
    (r"(a+)+$", True), (r"(a|aa)+$", True), (r"\d+\d+", True), (r"(a)\1", True),
    (r"(?=\d+)x", True), (r"(?:ab)+", True),
])
def test_only_provably_cheap_patterns_run_without_the_timeout(pattern, timed):
    assert compile_guarded(pattern).timed is timed


def test_cheap_and_timed_patterns_both_give_groups():
    cheap, timed = compile_guarded(r"^0(\d+)$"), compile_guarded(r"^(\d)\1(\d+)$")
    assert (cheap.timed, timed.timed) == (False, True)
    assert cheap.search("07700").group(1) == "7700"
    assert timed.search("1123").group(2) == "23"
    assert expand(r"44\1", cheap.search("07700")) == "447700"
    assert expand("$2", timed.search("1123")) == "23"


# Patterns the `regex` module would spend gigabytes and minutes compiling.
BOMBS = [
    "((4{1000}){1000}){1000}",
    "(4{64}){64}",
    "(" * 40 + "4" + ")+" * 40,  # each `+` doubles what it holds
    "(?:" * 40 + "4" + "){1,2}" * 40,
    "((((((((((4{2}){2}){2}){2}){2}){2}){2}){2}){2}){2})",
]


def test_compile_bombs_are_refused_quickly_in_little_memory():
    # In a child process capped at 256 MB of address space (an unguarded compile of any of
    # these dies there instead of taking the test machine down with it).
    script = textwrap.dedent(f"""
        import json, resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))
        from connex_tui.engine.regex_guard import compile_guarded
        out = []
        for pattern in {BOMBS!r}:
            started = time.monotonic()
            try:
                compile_guarded(pattern)
                message = None
            except ValueError as exc:
                message = str(exc)
            out.append((message, time.monotonic() - started))
        print(json.dumps(out))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    for pattern, (message, seconds) in zip(BOMBS, json.loads(done.stdout), strict=True):
        assert message, f"{pattern!r} was accepted"
        assert seconds < 1.0, pattern


@pytest.mark.parametrize(("pattern", "says"), [
    ("((4{1000}){1000}){1000}", "repeat count {1000} is larger than a number can be (64)"),
    ("4{2,65}", "repeat count {65}"),
    ("4{65,}", "repeat count {65}"),
    ("(4{64}){64}", "4,160 positions (at most 1,024)"),
    ("(((((4{2}){2}){2}){2}){2})", "nested 5 deep (at most 4)"),
    (r"\p{N}+", "not a valid regular expression"),  # the regex module's extras: unmeasured
])
def test_refusals_tell_the_operator_why(pattern, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        compile_guarded(pattern)


def test_a_cli_rule_form_shows_the_refusal_on_the_pattern_field():
    with pytest.raises(ValidationError) as info:
        validate_cli_rule({"cli": "^(4{1000})$"})
    assert "repeat count {1000}" in info.value.errors["cli"]


@pytest.mark.parametrize(("pattern", "text", "group"), [
    (r"^44\d{6,12}$", "4420791234", None),
    (r"^0(\d{9,10})$", "07700900123", "7700900123"),
    (r"^(\d{3}[- ]?){2}\d{4}$", "555-123-4567", "123-"),
    (r"(\d{1,64})", "1" * 64, "1" * 64),
])
def test_ordinary_counted_patterns_still_work(pattern, text, group):
    match = compile_guarded(pattern).search(text)
    assert match is not None
    if group is not None:
        assert match.group(1) == group


@pytest.mark.parametrize("pattern", [r"(\d+)+$", r"((\d+)+)+$"])
def test_nested_loops_are_accepted_and_time_boxed(pattern):
    # They compile small (a loop is not copied 64 times); backtracking is the timeout's job.
    guarded = compile_guarded(pattern)
    assert guarded.timed
    assert guarded.search("12345").group(0) == "12345"
    started = time.monotonic()
    with contextlib.suppress(RegexTimeout):
        assert guarded.search("1" * 63 + "x") is None
    assert time.monotonic() - started < 1.0


# -- the budget of one call, and of one customer's configuration -----------------------
SLOW = r"^(1|11)+5$"  # exponential on a CLI of 1s: each evaluation runs to its timeout


def test_slow_patterns_share_one_budget_per_call():
    """100 rules of a slow pattern cost one call budget, not 100 timeouts (6.5 s before)."""
    from connex_tui.engine.cli_rules import apply_cli_rules
    from connex_tui.engine.regex_guard import CALL_BUDGET
    from connex_tui.engine.snapshot import CliRuleS

    rules = [CliRuleS(i, 1, SLOW) for i in range(1, 101)]
    started = time.monotonic()
    outcome = apply_cli_rules(rules, "1" * 40)
    assert time.monotonic() - started < CALL_BUDGET + 1.0  # 100 timeouts took 5 s
    assert not outcome.allowed
    assert "not tried: the call's regex budget (100 ms) is used up" in outcome.note
    assert outcome.note.count("timed out") <= 3  # the rest are counted, not listed


def test_decide_spends_one_budget_across_dial_strings_and_cli_rules():
    from connex_tui.engine.pipeline import decide
    from tests.engine.builders import World, call, r

    w = World()
    acme = w.customer()
    w.ip(acme, "10.0.0.0/24")
    retail = w.card("Retail", [r("1")])
    w.provider("Carrier-A", [r("1", "0.0010")], parent_of=retail)
    w.route(acme, retail, dial_string=(SLOW, "^1"))
    for _ in range(60):
        w.cli_rule(acme, SLOW)
    started = time.monotonic()
    result = decide(w.snap, call("1" * 30, cli="1" * 30))
    assert time.monotonic() - started < 0.5
    assert result.sip_code == 403 and result.reason == "CLI Restriction In Effect"
    cli_step = next(line for line in result.trace if line.startswith("6. CLI"))
    assert "regex budget" in cli_step


@pytest.mark.parametrize(("pattern", "slow"), [
    ("4420", False), (r"^44\d{6,12}$", False), (r"^0(\d{9,10})$", False), ("(", False),
    (SLOW, True), (r"(\d+)+$", True), (r"^(?=44)\d+", True),
])
def test_needs_slow_engine(pattern, slow):
    from connex_tui.engine.regex_guard import needs_slow_engine

    assert needs_slow_engine(pattern) is slow


def test_a_customer_may_have_a_few_slow_patterns_not_many():
    from connex_tui.engine.regex_guard import MAX_SLOW_PER_CUSTOMER, check_slow_patterns

    few = [SLOW] * MAX_SLOW_PER_CUSTOMER + ["^44", "4420"]
    assert check_slow_patterns(few) == [SLOW] * MAX_SLOW_PER_CUSTOMER
    with pytest.raises(ValueError, match=r"11 patterns need the slow regex engine \(at most "
                                         r"10 per customer\)"):
        check_slow_patterns(few + [r"(\d+)+$"])
