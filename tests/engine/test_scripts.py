"""Routing scripts (§4.2): YAML rules parsed strictly, applied in order, no code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connex_tui.engine.scripts import parse_script
from connex_tui.engine.snapshot import ProviderChoice


def choice(name):
    return ProviderChoice(provider_id=hash(name) % 100, name=name, card_id=1, card=f"{name}-c",
                          prefix="44", rate=Decimal("0.01"), connect_fee=Decimal(0),
                          margin=Decimal("0.01"))


ABC = (choice("A"), choice("B"), choice("C"))


def names(providers):
    return [p.name for p in providers]


def test_reject_on_number_and_cli():
    script = parse_script("- match: {number: '^447', cli: '^0'}\n"
                          "  reject: '403 No UK mobiles from national CLIs'\n")
    reject, cli, providers, trace = script.apply("447700", "0161", ABC)
    assert reject == (403, "No UK mobiles from national CLIs")
    assert "rule 1" in trace[0]
    # every pattern given must match
    assert script.apply("447700", "44161", ABC).reject is None
    assert script.apply("337700", "0161", ABC).reject is None


def test_rules_run_in_order_and_a_reject_ends_the_script():
    script = parse_script("""
- set_cli: '4420000'
- match: {number: '^44'}
  remove_provider: b
- match: {cli: '^4420'}
  prefer_provider: C
- match: {number: '^4'}
  reject: "486 Busy Here"
- set_cli: 'never'
""")
    out = script.apply("4412", "0161", ABC)
    assert out.reject == (486, "Busy Here")
    assert out.cli == "4420000"
    assert names(out.providers) == ["C", "A"]
    assert len(out.trace) == 4


def test_stop_ends_the_script_after_a_matching_rule():
    script = parse_script("- match: {number: '^44'}\n  prefer_provider: B\n  stop: true\n"
                          "- remove_provider: A\n")
    assert names(script.apply("4412", "", ABC).providers) == ["B", "A", "C"]
    assert names(script.apply("3312", "", ABC).providers) == ["B", "C"]  # no stop: no match


def test_a_provider_not_chosen_is_said_not_an_error():
    out = parse_script("- remove_provider: Z").apply("44", "", ABC)
    assert names(out.providers) == ["A", "B", "C"]
    assert "not among the providers" in out.trace[0]


def test_a_timed_out_pattern_counts_as_no_match_and_says_so():
    out = parse_script("- match: {cli: '(a|aa)+$'}\n  reject: '403 x'").apply(
        "44", "a" * 40 + "!", ABC)
    assert out.reject is None
    assert "timed out" in out.trace[0]


def test_name_is_kept():
    assert parse_script("- set_cli: '1'", name="uk-night").name == "uk-night"


@pytest.mark.parametrize(("body", "message"), [
    ("", "empty"),
    ("   \n", "empty"),
    ("reject: '403 x'", "YAML list"),
    ("- [1, 2]", "rule 1: must be a mapping"),
    ("- set_cli: '1'\n- rejekt: '403 x'", "rule 2: unknown key 'rejekt'"),
    ("- match: {number: '^44'}", "rule 1: needs exactly one action"),
    ("- set_cli: '1'\n  reject: '403 x'", "rule 1: needs exactly one action"),
    ("- reject: 'busy'", 'rule 1: reject must be "<code> <reason>"'),
    ("- reject: '200 OK'", "rule 1: reject must be"),
    ("- reject: '403'", "rule 1: reject must be"),
    ("- match: {number: '(44'}\n  reject: '403 x'", "rule 1: match.number: not a valid"),
    ("- match: {number: 44}\n  reject: '403 x'", "rule 1: match.number must be a quoted"),
    ("- match: {dest: '44'}\n  reject: '403 x'", "rule 1: match: unknown key 'dest'"),
    ("- match: '^44'\n  reject: '403 x'", "rule 1: match must be a mapping"),
    ("- set_cli: 'two words'", "rule 1: set_cli must be"),
    ("- set_cli: 4420", "rule 1: set_cli needs a text value"),
    ("- remove_provider: ''", "rule 1: remove_provider needs a text value"),
    ("- set_cli: '1'\n  stop: maybe", "rule 1: stop must be true or false"),
    ("- a: [\n", "not valid YAML at line"),
    ("- !!python/object/apply:os.system ['true']", "not valid YAML"),
])
def test_bad_scripts_are_refused_naming_the_rule(body, message):
    with pytest.raises(ValueError) as info:
        parse_script(body)
    assert message in str(info.value)


def test_size_limits():
    with pytest.raises(ValueError, match="longer than"):
        parse_script("- set_cli: '1'\n" * 2000)
    with pytest.raises(ValueError, match="at most 200 rules"):
        parse_script("- set_cli: '1'\n" * 201)
