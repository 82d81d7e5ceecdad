"""rate_known() memoised over a file of CDRs: one pipeline run per class of calls that the
pipeline cannot tell apart, the rest answered from the memo (CDR import, rerate).

Steps 4, 7 and 8 read the number only through prefix tests: a route's tech prefix, a
digits-only dial string, a rate card's or a parent card's longest prefix, a strategy row's
prefix. Two numbers pass exactly the same tests when the longest string of S (each tech
prefix followed by each of those prefixes) that starts them is the same, so that string is
the number's class. The time is read only as "which rows are in effect": between two
effective_from values of the cards the customer's routes reach, every lookup gives one
answer, so the time's class is its place among those values. A customer with a regex dial
string (a test of the whole number) is not memoised: each call runs the pipeline.

A memoised Result is the one of the first call of its class: its rating fields (route,
prefix, destination, rate, increments, card, providers, number_out's prefix) hold for
every call of the class, while its trace, number_in and cli_in are that first call's.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime

from connex_tui.engine.pipeline import rate_known
from connex_tui.engine.snapshot import CallInput, Result, Snapshot

_MAX_CLASSES = 1_000_000  # strings of S per customer: past that, no memo (memory)
_MAX_HELD = 2_000_000  # strings of S held for all customers: past that, start afresh
_MAX_MEMO = 50_000  # results kept (about 1 KB each): past that the memo starts afresh


class _Classes:
    """The number and time classes of one customer's calls."""

    __slots__ = ("strings", "lengths", "times")

    def __init__(self, strings: set[str], times: set[int]) -> None:
        self.strings = strings
        self.lengths = sorted({len(s) for s in strings}, reverse=True)
        self.times = sorted(times)

    def of(self, number: str, epoch: int) -> tuple[str, int]:
        strings, size = self.strings, len(number)
        for length in self.lengths:
            if length <= size and number[:length] in strings:
                head = number[:length]
                break
        else:
            head = ""
        return head, bisect_right(self.times, epoch)


def _sources(snap: Snapshot, customer_id: int) -> tuple | None:
    """What a customer's classes are made of: its tech prefixes, its routes' dial-string
    and strategy prefixes, the cards they reach (customers sharing a card share these);
    None when a test reads more than a prefix."""
    routes = snap.routes.get(customer_id, ())
    heads: set[str] = set()
    card_ids: set[int] = set()
    for route in routes:
        for line in route.dial_string:
            line = line.strip()
            if line and not line.isdigit():
                return None  # a regex: the whole number counts
            heads.add(line)
        heads.update("" if s.prefix == "*" else s.prefix for s in route.strategies)
        card = snap.cards.get(route.rate_card_id)
        card_ids.add(route.rate_card_id)
        card_ids.update(card.parents if card else ())
    return (frozenset(r.tech_prefix for r in routes), frozenset(heads),
            tuple(sorted(c for c in card_ids if c in snap.cards)))


def _classes(snap: Snapshot, sources: tuple) -> _Classes | None:
    """The classes made of `sources`; None past _MAX_CLASSES strings."""
    techs, heads, card_ids = sources
    tails = set(heads)
    times: set[int] = set()
    for cid in card_ids:
        index = snap.cards[cid].index
        if len(tails) + len(index) > _MAX_CLASSES:
            return None
        tails.update(index.prefix_keys())
        times.update(index.effective_times())
    if len(techs) * len(tails) > _MAX_CLASSES:
        return None
    strings = {t + tail for t in techs for tail in tails}
    strings.update(techs)
    return _Classes(strings, times)


class KnownRates:
    """rate_known() against one snapshot, memoised per (customer, number class, time
    class). Use one per import: it holds the snapshot's classes."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self._classes: dict[int, _Classes | None] = {}  # by customer
        self._shared: dict[tuple, _Classes | None] = {}  # by _sources()
        self._held = 0  # strings of S in _shared
        self._memo: dict[tuple, Result] = {}
        self.runs = 0  # pipeline runs (the tests count misses)

    def rate(self, customer_id: int, number: str, at: datetime, cli: str = "",
             source_ip: str = "", *, providers: bool = True) -> Result:
        """rate_known(snap, customer_id, CallInput(number, cli, source_ip, at=at),
        providers=providers), rating fields exact (see the module's note)."""
        try:
            classes = self._classes[customer_id]
        except KeyError:
            classes = self._classes[customer_id] = self._classes_of(customer_id)
        if classes is None:
            self.runs += 1
            return rate_known(self.snap, customer_id, CallInput(number, cli, source_ip, at=at),
                              providers=providers)
        epoch = int((at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp())
        key = (customer_id, *classes.of(number, epoch), providers)
        found = self._memo.get(key)
        if found is None:
            self.runs += 1
            found = rate_known(self.snap, customer_id,
                               CallInput(number, cli, source_ip, at=at), providers=providers)
            if len(self._memo) >= _MAX_MEMO:
                self._memo.clear()
            self._memo[key] = found
        return found

    def _classes_of(self, customer_id: int) -> _Classes | None:
        sources = _sources(self.snap, customer_id)
        if sources is None:
            return None
        try:
            return self._shared[sources]
        except KeyError:
            pass
        classes = _classes(self.snap, sources)
        size = len(classes.strings) if classes is not None else 0
        if self._held + size > _MAX_HELD:  # many customers on many cards: start afresh
            self._shared.clear()  # (the memo's keys stay true: classes are a function
            self._classes.clear()  # of the snapshot, made again the same)
            self._held = 0
        self._held += size
        self._shared[sources] = classes
        return classes
