"""Operator regexes are compiled once, refused when unusable, and can never hang a call."""

from __future__ import annotations

import contextlib
import time

import pytest

from connex_tui.engine.regex_guard import (
    MAX_INPUT,
    RegexTimeout,
    compile_guarded,
    expand,
)


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
