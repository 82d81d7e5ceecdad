"""Longest-prefix match over rate rows with effective dates and blocked rows (§3)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from connex_tui.engine.rating import PrefixIndex

D = Decimal
JAN = 1_767_225_600  # 2026-01-01 UTC
FEB = JAN + 31 * 86_400
MAR = FEB + 28 * 86_400


def row(prefix, rate_micro=10_000, *, dest="", fee=0, inc=(60, 60), blocked=False, eff=None):
    return (prefix, dest or f"Dest {prefix}", rate_micro, fee, *inc, blocked, eff)


def test_longest_prefix_wins():
    index = PrefixIndex.from_rows([row("44"), row("447"), row("4477"), row("1")])
    assert index.lookup("447700900123").prefix == "4477"
    assert index.lookup("447100900123").prefix == "447"
    assert index.lookup("442079460000").prefix == "44"
    assert index.lookup("15551234567").prefix == "1"
    assert index.lookup("33123456789") is None
    assert index.lookup("") is None
    assert index.lookup("4") is None  # shorter than every prefix


def test_match_carries_the_row_as_decimal_money():
    index = PrefixIndex.from_rows([row("44", 12_500, dest="UK", fee=50_000, inc=(30, 6))])
    match = index.lookup("4420")
    assert match.destination == "UK"
    assert match.rate == D("0.0125") and isinstance(match.rate, D)
    assert match.connect_fee == D("0.05")
    assert (match.mcd, match.pulse, match.increment) == (30, 6, "30/6")
    assert match.blocked is False
    assert str(match.rate) == "0.012500"


def test_blocked_row_is_returned_as_blocked_and_shadows_shorter_prefixes():
    index = PrefixIndex.from_rows([row("44"), row("4490", blocked=True)])
    assert index.lookup("449012").blocked is True
    assert index.lookup("449112").blocked is False


def test_newest_row_in_effect_wins():
    index = PrefixIndex.from_rows([
        row("44", 10_000, eff=None),
        row("44", 20_000, eff=MAR),
        row("44", 15_000, eff=FEB),
    ])
    assert index.lookup("4420", JAN).rate == D("0.01")
    assert index.lookup("4420", FEB).rate == D("0.015")  # in effect from that second
    assert index.lookup("4420", FEB - 1).rate == D("0.01")
    assert index.lookup("4420", MAR + 5).rate == D("0.02")
    assert index.lookup("4420", MAR).effective_from == MAR
    # no time filter: every row counts, the newest wins
    assert index.lookup("4420", None).rate == D("0.02")


def test_a_row_not_yet_in_effect_falls_back_to_a_shorter_prefix():
    index = PrefixIndex.from_rows([row("44", 10_000), row("447", 30_000, eff=MAR)])
    assert index.lookup("44770", FEB).prefix == "44"
    assert index.lookup("44770", MAR).prefix == "447"
    # and nothing at all before a card's only row starts
    later = PrefixIndex.from_rows([row("33", eff=MAR)])
    assert later.lookup("3312", FEB) is None


def test_same_prefix_and_time_the_row_loaded_last_wins():
    index = PrefixIndex.from_rows([row("44", 10_000, eff=FEB), row("44", 11_000, eff=FEB)])
    assert index.lookup("44", MAR).rate == D("0.011")


def test_size_and_rows_round_trip():
    rows = [row("44", eff=FEB), row("44"), row("1", 5, blocked=True), row("447", fee=3)]
    index = PrefixIndex.from_rows(iter(rows))
    assert len(index) == 4
    assert index.prefixes == 3
    assert list(index.rows()) == rows
    assert len(PrefixIndex.from_rows([])) == 0
    assert PrefixIndex.from_rows([]).lookup("44") is None


def brute_force(rows, number, at):
    best = None
    for i, (prefix, *_rest, eff) in enumerate(rows):
        if not number.startswith(prefix) or (at is not None and eff is not None and eff > at):
            continue
        key = (len(prefix), -(2**62) if eff is None else eff, i)
        if best is None or key > best[0]:
            best = (key, i)
    return None if best is None else best[1]


digits = st.text(alphabet="0123", min_size=1, max_size=6)
times = st.one_of(st.none(), st.sampled_from([JAN, FEB, MAR]))


@given(st.lists(st.tuples(digits, times, st.booleans()), max_size=40),
       st.lists(st.text(alphabet="0123", max_size=9), min_size=1, max_size=10),
       st.one_of(st.none(), st.integers(min_value=JAN - 10, max_value=MAR + 10)))
def test_lpm_matches_a_brute_force_reference(specs, numbers, at):
    rows = [row(p, i, blocked=b, eff=eff) for i, (p, eff, b) in enumerate(specs)]
    index = PrefixIndex.from_rows(rows)
    for number in numbers:
        expected = brute_force(rows, number, at)
        match = index.lookup(number, at)
        if expected is None:
            assert match is None
        else:
            assert match.row == expected
            assert match.prefix == rows[expected][0]
            assert match.blocked == rows[expected][6]
