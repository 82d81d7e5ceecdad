"""Free-minutes packages consumed by rating (docs/domain.md §12, §8): decided without I/O.

A customer's `free_minutes` package gives free_minutes x quantity minutes per interval
(daily, weekly or monthly, on the package's match days, as the job charges it) to the answered calls whose
number matches the package's destination regex and that start while the package is active
(start <= call start < end). A call uses the allowance for its billed seconds (after the
card's increments); what does not fit is charged at the call's rate. A call wholly covered
costs nothing, connect fee included; a call partly covered pays the rest of its billed
seconds and its connect fee, rounded per call as any charge. See docs/decisions.md
("Free minutes").

The intervals are the package job's (engine/packages.py), match days included.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from connex_tui.engine.money import call_charge
from connex_tui.engine.packages import interval_at, parse_match_days
from connex_tui.engine.regex_guard import GuardedPattern, RegexTimeout, compile_guarded

KIND = "free_minutes"


def interval_start(start: datetime, frequency: str, at: datetime,
                   days: tuple[int, ...] = ()) -> datetime | None:
    """The start of the interval of a package assigned at `start` that holds `at`, or None
    before `start`: the package job's own intervals (match days included), so an allowance
    renews when its package is charged."""
    return interval_at(frequency, days, start, at)


def match_days(frequency: str, raw: str) -> tuple[int, ...]:
    try:
        return parse_match_days(frequency, raw)
    except ValueError:  # the catalogue refuses these; a stored one counts as the start's day
        return ()


def pattern_of(regex: str) -> GuardedPattern | None:
    """The package's destination regex, guarded; None (covers nothing) when it is empty or
    unusable. An empty regex is not "everything": a package says what it gives."""
    try:
        return compile_guarded(regex) if regex else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Allowance:
    """One free-minutes customer package, as rating needs it."""

    customer_package_id: int
    customer_id: int
    name: str
    start: datetime
    end: datetime | None
    frequency: str
    seconds: int  # per interval: free minutes x quantity x 60
    pattern: GuardedPattern | None
    days: tuple[int, ...] = ()  # the package's match days

    def interval(self, at: datetime) -> datetime | None:
        """The interval holding a call started at `at`, None when inactive then."""
        if at < self.start or (self.end is not None and at >= self.end):
            return None
        return interval_start(self.start, self.frequency, at, self.days)

    def covers(self, number: str) -> bool:
        if self.pattern is None or self.seconds <= 0:
            return False
        try:
            return self.pattern.search(number) is not None
        except RegexTimeout:  # a slow or over-long match covers nothing: never hangs
            return False


def allowance(cp_id: int, customer_id: int, name: str, start: datetime, end: datetime | None,
              frequency: str, free_minutes: int, quantity: int, regex: str,
              days: str = "") -> Allowance:
    return Allowance(cp_id, customer_id, name, start, end, frequency,
                     max(free_minutes, 0) * max(quantity, 0) * 60, pattern_of(regex),
                     match_days(frequency, days))


Key = tuple[int, datetime]  # (customer package, interval start)


@dataclass(frozen=True, slots=True)
class Call:
    """What consumption reads of a call about to be written."""

    index: int  # its place in the batch
    customer_id: int
    started_at: datetime
    number: str  # as rated: the dialled number without the route's tech prefix
    billed_s: int


def candidates(calls: Iterable[Call], allowances: Mapping[int, Sequence[Allowance]]
               ) -> list[tuple[Call, list[Key]]]:
    """Each call some allowance could pay for, with the (package, interval) keys it may
    draw on in the order it draws on them (oldest assignment first), calls in the order
    they started (the batch's call id breaking ties: a rewrite decides the same)."""
    out = []
    for call in calls:
        if call.billed_s <= 0:
            continue
        keys = []
        for a in allowances.get(call.customer_id, ()):
            begin = a.interval(call.started_at)
            if begin is not None and a.covers(call.number):
                keys.append((a.customer_package_id, begin))
        if keys:
            out.append((call, keys))
    out.sort(key=lambda ck: (ck[0].started_at, ck[0].index))
    return out


def allocate(wanted: Sequence[tuple[Call, list[Key]]], limits: Mapping[int, int],
             used: dict[Key, int]) -> dict[int, int]:
    """Free seconds per call index, drawing on `used` (seconds already used per key, moved
    in place) up to `limits` (allowance seconds per customer package)."""
    free: dict[int, int] = {}
    for call, keys in wanted:
        need = call.billed_s
        got = 0
        for key in keys:
            left = limits[key[0]] - used.get(key, 0)
            if left <= 0:
                continue
            take = min(left, need - got)
            used[key] = used.get(key, 0) + take
            got += take
            if got == need:
                break
        if got:
            free[call.index] = got
    return free


def charge_after_free(billed_s: int, free_s: int, rate: Decimal, connect_fee: Decimal,
                      precision: int, rounding: str) -> Decimal:
    """What a call pays once `free_s` of its billed seconds were free: nothing when all
    were (connect fee included), else the rest at its rate plus the connect fee, rounded
    per call (docs/domain.md §8)."""
    rest = max(billed_s - free_s, 0)
    return call_charge(rest, rate, connect_fee, answered=rest > 0, precision=precision,
                       rounding=rounding)
