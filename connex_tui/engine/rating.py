"""Longest-prefix match over a rate card's rows, compact enough for 1,000,000 rows.

One dict maps each prefix to a row number; the row's fields are packed into one typed array
(32 bytes a row instead of a tuple and its objects), destinations are interned once.
A prefix with several rows (different effective_from) maps instead to a tuple of row numbers,
newest first. Money stays in integer micro-units until a hit is turned into a RateMatch.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from decimal import Decimal
from itertools import islice
from typing import NamedTuple

from connex_tui.engine.snapshot import RowTuple

_NEVER = -(2**62)  # effective_from of a row without one: in effect at any time


class RateMatch(NamedTuple):
    """The row a number matched. Immutable; a NamedTuple because building one is 4x cheaper
    than a frozen dataclass, which counts at 250,000 lookups a second."""

    prefix: str
    destination: str
    rate: Decimal  # per minute
    connect_fee: Decimal
    mcd: int
    pulse: int
    blocked: bool
    effective_from: int | None = None  # UTC epoch seconds
    row: int = 0  # position of the row in the order it was loaded

    @property
    def increment(self) -> str:
        return f"{self.mcd}/{self.pulse}"


class _DecimalCache(dict):
    """Micro-units -> Decimal with 6 places (as money.from_micro), memoised: cards reuse a
    few thousand distinct rates, and a dict hit is far cheaper than building a Decimal."""

    def __missing__(self, units: int) -> Decimal:
        value = Decimal(units).scaleb(-6)
        if len(self) < 100_000:
            self[units] = value
        return value


micro_to_decimal = _DecimalCache().__getitem__
_tuple_new = tuple.__new__


# A row is 4 consecutive int64 in one array, so a hit touches one cache line, not seven:
# [effective_from, rate_micro, fee_micro, dest_id << 41 | mcd << 21 | pulse << 1 | blocked]
_WIDTH = 4
_INC_BITS = 20  # MCD and Pulse up to 1,048,575 s each
_INC_MAX = (1 << _INC_BITS) - 1
_DEST_MAX = (1 << 22) - 1  # distinct destination names per card


class PrefixIndex:
    """Rows of one rate card, looked up by the longest prefix in effect at a given time."""

    __slots__ = ("_by_prefix", "_lengths", "_data", "_dest_names", "_rows")

    def __init__(self) -> None:
        # prefix -> row number, or a tuple of row numbers (newest effective_from first)
        self._by_prefix: dict[str, int | tuple[int, ...]] = {}
        self._lengths: tuple[int, ...] = ()  # prefix lengths present, longest first
        self._data = array("q")
        self._dest_names: list[str] = []
        self._rows = 0

    @classmethod
    def from_rows(cls, rows: Iterable[RowTuple]) -> PrefixIndex:
        """Load rows (prefix, destination, rate_micro, fee_micro, mcd, pulse, blocked,
        effective_from). ValueError for an MCD/Pulse beyond 1,048,575 s or more than 4
        million destination names."""
        index = cls()
        by_prefix = index._by_prefix
        dest_ids: dict[str, int] = {}
        dest_names = index._dest_names
        extend = index._data.extend
        multi: dict[str, list[int]] = {}
        n = 0
        for prefix, destination, rate_m, fee_m, mcd, pulse, blocked, eff in rows:
            d = dest_ids.get(destination)
            if d is None:
                d = dest_ids[destination] = len(dest_names)
                dest_names.append(destination)
                if d > _DEST_MAX:
                    raise ValueError("too many distinct destination names in one card")
            if not (0 <= mcd <= _INC_MAX and 0 <= pulse <= _INC_MAX):
                raise ValueError(f"prefix {prefix}: increment {mcd}/{pulse} out of range")
            extend((_NEVER if eff is None else eff, rate_m, fee_m,
                    d << 41 | mcd << 21 | pulse << 1 | (1 if blocked else 0)))
            seen = by_prefix.setdefault(prefix, n)
            if seen != n:
                multi.setdefault(prefix, [seen]).append(n)
            n += 1
        index._rows = n
        data = index._data
        for prefix, numbers in multi.items():
            # newest first; of two rows with the same time, the one loaded later wins
            by_prefix[prefix] = tuple(sorted(numbers, key=lambda i: (data[i * _WIDTH], i),
                                             reverse=True))
        index._lengths = tuple(sorted({len(p) for p in by_prefix}, reverse=True))
        return index

    def __len__(self) -> int:
        return self._rows

    @property
    def prefixes(self) -> int:
        return len(self._by_prefix)

    def some_prefixes(self, limit: int) -> list[str]:
        """The first `limit` prefixes in load order, without building any row (the traffic
        simulator picks destinations among them)."""
        return list(islice(self._by_prefix, limit))

    def prefix_keys(self) -> Iterable[str]:
        """Every prefix of the card (a view: no copy)."""
        return self._by_prefix.keys()

    def effective_times(self) -> set[int]:
        """The effective_from of every row that has one (UTC seconds): between two of
        them, locate() of a number gives one answer."""
        data = self._data
        return {t for t in data[::_WIDTH] if t != _NEVER}

    def lookup(self, number: str, at_epoch: int | None = None) -> RateMatch | None:
        """The row of the longest prefix of number in effect at at_epoch (UTC seconds).

        at_epoch None = no time filter: every row counts, the newest per prefix wins. A row
        not yet in effect does not exist for the call, so a shorter prefix may match."""
        found = self.locate(number, at_epoch)
        return None if found is None else self._match(*found)

    def locate(self, number: str, at_epoch: int | None = None) -> tuple[str, int] | None:
        """(prefix, row number) of the row lookup() returns, without building it: the
        row number names a row for as long as this index lives (a key for memos)."""
        by_prefix = self._by_prefix
        data = self._data
        size = len(number)
        for length in self._lengths:
            if length > size:
                continue
            prefix = number[:length]
            hit = by_prefix.get(prefix)
            if hit is None:
                continue
            if hit.__class__ is int:
                if at_epoch is None or data[hit * _WIDTH] <= at_epoch:
                    return prefix, hit
                continue
            for row in hit:  # newest first
                if at_epoch is None or data[row * _WIDTH] <= at_epoch:
                    return prefix, row
        return None

    def _match(self, prefix: str, row: int) -> RateMatch:
        base = row * _WIDTH
        eff, rate, fee, packed = self._data[base:base + _WIDTH]
        # tuple.__new__ directly: the NamedTuple's generated __new__ is one more frame
        return _tuple_new(RateMatch, (
            prefix,
            self._dest_names[packed >> 41],
            micro_to_decimal(rate),
            micro_to_decimal(fee),
            packed >> 21 & _INC_MAX,
            packed >> 1 & _INC_MAX,
            packed & 1 == 1,
            None if eff == _NEVER else eff,
            row,
        ))

    def rows(self) -> Iterable[RowTuple]:
        """Every row back as RowTuple, in load order (for exports and tests)."""
        by_row: dict[int, str] = {}
        for prefix, hit in self._by_prefix.items():
            for row in (hit,) if hit.__class__ is int else hit:
                by_row[row] = prefix
        for row in range(self._rows):
            m = self._match(by_row[row], row)
            yield (m.prefix, m.destination, self._data[row * _WIDTH + 1],
                   self._data[row * _WIDTH + 2], m.mcd, m.pulse, m.blocked, m.effective_from)
