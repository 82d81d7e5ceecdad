"""The demo's history streams each day (feeds/demo/history.in_order): the merged order must
be the stable sort of all the day's events, or the demo's data would change."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from connex_tui.feeds.demo.history import in_order

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _day(rng: random.Random, customers: int) -> tuple[list, list[list]]:
    """Moves and attempts as the history builds them, with ties: several attempts in one
    millisecond (a dialler's burst) and two moves of a customer at the same instant."""
    moves, attempts = [], []
    for idx in range(customers):
        at = T0 + timedelta(seconds=rng.randrange(20))  # customer by customer: not in time
        moves += [(at, idx, 0, ("pay", n)) for n in range(rng.choice((0, 1, 2)))]
        offs = sorted(rng.randrange(20_000) for _ in range(rng.randrange(30)))
        offs += [offs[-1]] * 3 if offs else []
        attempts.append([(T0 + timedelta(milliseconds=o), idx, 1, ("call", n))
                         for n, o in enumerate(offs)])
    return moves, attempts


def test_the_streamed_day_is_the_stable_sort_of_all_its_events():
    rng = random.Random(5)
    for _ in range(20):
        moves, attempts = _day(rng, rng.randrange(1, 12))
        built = []  # the order the history built one list in before it streamed
        for idx, calls in enumerate(attempts):
            built += [m for m in moves if m[1] == idx] + calls
        expected = sorted(built, key=lambda ev: (ev[0], ev[1], ev[2]))
        ours = list(in_order(moves, [iter(a) for a in attempts]))
        assert ours == expected


def test_streams_are_drawn_only_as_they_are_taken():
    drawn = []

    def stream(idx):
        for n in range(3):
            drawn.append((idx, n))
            yield (T0 + timedelta(seconds=n), idx, 1, n)

    merged = in_order([], [stream(0), stream(1)])
    first = [next(merged) for _ in range(2)]
    assert [ev[1] for ev in first] == [0, 1]
    assert len(drawn) <= 4  # not all six: the rest are drawn later
