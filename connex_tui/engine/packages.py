"""Packages (docs/domain.md §12): the catalogue's rules and what an assignment owes, pure.

Intervals. A package falls on match days at 00:00 UTC:
- daily: every day (match days must be empty);
- weekly: weekdays, "mon,thu" (empty: the weekday of the assignment's start);
- monthly: days of the month, "1,15" (empty: the day of the start); a day past the end of a
  short month (31 in April, 30 in February) falls on that month's last day.
An assignment's first interval runs from its start to the first match day after it; each
later one from a match day to the next. An interval that starts at or after the
assignment's end is not charged; one that starts before it is charged in full.

Charges. A plain package (recurring or free minutes) charges retail x quantity in advance,
when its interval starts. A minimum-spend package (minimum spend > 0, equal to retail)
charges in arrears, when its interval ends: max(0, retail x quantity - what the customer
spent in the interval). The first interval adds setup retail x quantity.

Catch-up. A run at T charges every interval not charged yet that is due at T and started
at most CATCH_UP_DAYS before T: a job that did not run for three days charges the three
missed days once each; intervals older than that are left alone (the operator settles a
longer outage by hand) so that one run never posts months of charges at once.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from connex_tui.engine.validation import (
    _Collector,
    boolean,
    choice,
    currency,
    integer,
    money,
    name_text,
    text,
)

KINDS = ("recurring", "free_minutes")
FREQUENCIES = ("daily", "weekly", "monthly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CATCH_UP_DAYS = 35
MAX_QUANTITY = 10_000
MAX_FREE_MINUTES = 10_000_000
_DAY = timedelta(days=1)


# -- match days ------------------------------------------------------------------------------
def parse_match_days(frequency: str, raw: str) -> tuple[int, ...]:
    """The match days of `raw` for `frequency`, sorted: weekday numbers 0 (Monday) to 6,
    or days of the month 1 to 31; () for daily and for empty (the start's day).
    ValueError with the operator's message."""
    raw = (raw or "").strip().lower()
    if not raw:
        return ()
    parts = [p.strip() for p in raw.replace(" ", ",").split(",") if p.strip()]
    if frequency == "daily":
        raise ValueError("a daily package falls on every day: leave match days empty")
    days: set[int] = set()
    for p in parts:
        if frequency == "weekly":
            if p[:3] not in WEEKDAYS or len(p) > 9:
                raise ValueError(f"{p!r} is not a weekday: write e.g. mon,thu")
            days.add(WEEKDAYS.index(p[:3]))
        else:
            if not p.isascii() or not p.isdigit() or not 1 <= int(p) <= 31:
                raise ValueError(f"{p!r} is not a day of the month: write e.g. 1,15")
            days.add(int(p))
    return tuple(sorted(days))


def match_days_text(frequency: str, days: tuple[int, ...]) -> str:
    """The canonical text of parsed match days ("mon,thu", "1,15", "")."""
    if frequency == "weekly":
        return ",".join(WEEKDAYS[d] for d in days)
    return ",".join(str(d) for d in days)


def _midnight(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


def _falls_on(frequency: str, days: tuple[int, ...], day: datetime) -> bool:
    if frequency == "daily":
        return True
    if frequency == "weekly":
        return day.weekday() in days
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day in days or (day.day == last and any(d > last for d in days))


def effective_days(frequency: str, days: tuple[int, ...], start: datetime) -> tuple[int, ...]:
    """Empty match days mean the start's day."""
    if days or frequency == "daily":
        return days
    return (start.weekday(),) if frequency == "weekly" else (start.day,)


def next_boundary(frequency: str, days: tuple[int, ...], after: datetime) -> datetime:
    """The first match day (00:00 UTC) strictly after the day of `after`."""
    return _next_day(frequency, days, _midnight(after))


@lru_cache(maxsize=4096)
def _next_day(frequency: str, days: tuple[int, ...], midnight: datetime) -> datetime:
    """Cached: a run asks it for the same few days for every assignment."""
    return boundary_from(frequency, days, midnight + _DAY)


def boundary_from(frequency: str, days: tuple[int, ...], t: datetime) -> datetime:
    """The first match day (00:00 UTC) at or after `t`."""
    day = _midnight(t)
    if day < t:
        day += _DAY
    for _ in range(62):
        if _falls_on(frequency, days, day):
            return day
        day += _DAY
    raise ValueError(f"{frequency} package without match days")


def boundary_before(frequency: str, days: tuple[int, ...], t: datetime) -> datetime:
    """The last match day (00:00 UTC) at or before `t`."""
    day = _midnight(t)
    for _ in range(62):
        if _falls_on(frequency, days, day):
            return day
        day -= _DAY
    raise ValueError(f"{frequency} package without match days")


def interval_at(frequency: str, days: tuple[int, ...], start: datetime,
                at: datetime) -> datetime | None:
    """The start of the interval (as `intervals` yields them) of an assignment from `start`
    that holds `at`; None before `start`. A free-minutes allowance renews on exactly the
    intervals its package is charged for."""
    if at < start:
        return None
    days = effective_days(frequency, days, start)
    return max(start, boundary_before(frequency, days, at))


def intervals(frequency: str, days: tuple[int, ...], start: datetime, until: datetime, *,
              since: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
    """(interval start, interval end) of an assignment from `start`, for the intervals
    starting before `until`; with `since`, only those starting at or after it."""
    days = effective_days(frequency, days, start)
    lo = start
    if since is not None and since > start:
        lo = boundary_from(frequency, days, since)
    while lo < until:
        hi = next_boundary(frequency, days, lo)
        yield lo, hi
        lo = hi


# -- an assignment's charges -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Terms:
    """What the charge rules need of a package and its assignment."""

    frequency: str
    days: tuple[int, ...]
    retail: Decimal
    setup_retail: Decimal
    minimum_spend: Decimal
    quantity: int
    start: datetime
    end: datetime | None

    @property
    def in_arrears(self) -> bool:
        return self.minimum_spend > 0


@dataclass(frozen=True, slots=True)
class Due:
    """One interval of an assignment that a run may charge. For a minimum-spend package
    `amount` is retail x quantity (+ setup) before the interval's spend is taken off."""

    interval_start: datetime
    interval_end: datetime  # clipped to the assignment's end
    amount: Decimal
    setup: Decimal  # included in amount


def _due(t: Terms, lo: datetime, hi: datetime) -> Due:
    setup = t.setup_retail * t.quantity if lo == t.start else Decimal(0)
    close = hi if t.end is None else min(hi, t.end)
    return Due(lo, close, t.retail * t.quantity + setup, setup)


def due_on(t: Terms, d: Due) -> datetime:
    """When a run first charges `d`: its start, or its end for minimum spend."""
    return d.interval_end if t.in_arrears else d.interval_start


def due_intervals(t: Terms, at: datetime, *, catch_up_days: int = CATCH_UP_DAYS) -> list[Due]:
    """The intervals of `t` due at `at` that came due within the catch-up window (started
    in it; for minimum spend, ended in it), oldest first (the caller leaves out those
    already charged)."""
    horizon = at - timedelta(days=catch_up_days)
    if t.in_arrears:  # charged at its end: the interval that ends inside the window counts
        horizon = interval_at(t.frequency, t.days, t.start, horizon) or horizon
    until = at + timedelta(microseconds=1) if t.end is None else min(
        at + timedelta(microseconds=1), t.end)
    out = []
    for lo, hi in intervals(t.frequency, t.days, t.start, until, since=horizon):
        d = _due(t, lo, hi)
        if due_on(t, d) > at:
            break
        out.append(d)
    return out


def next_interval(t: Terms, at: datetime) -> Due | None:
    """The first interval that becomes due after `at` (the preview's "next"), or None
    when the assignment has ended by then."""
    days = effective_days(t.frequency, t.days, t.start)
    if t.start > at:
        lo = t.start
    elif t.in_arrears:  # the interval holding `at`
        lo = interval_at(t.frequency, t.days, t.start, at)
    else:
        lo = next_boundary(t.frequency, days, at)
    if t.end is not None and (lo >= t.end or (t.in_arrears and t.end <= at)):
        return None
    return _due(t, lo, next_boundary(t.frequency, days, lo))


def minimum_spend_charge(retail: Decimal, quantity: int, spend: Decimal) -> Decimal:
    """max(0, retail x quantity - spend): what tops a minimum-spend interval up."""
    return max(Decimal(0), retail * quantity - spend)


def interval_ref(customer_package_id: int, interval_start: datetime) -> str:
    return f"package:{customer_package_id}:{interval_start.isoformat()[:16]}"


# -- validation ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PackageInput:
    name: str
    kind: str
    currency: str
    cost: Decimal
    retail: Decimal
    setup_cost: Decimal
    setup_retail: Decimal
    frequency: str
    match_days: str
    minimum_spend: Decimal
    free_minutes: int
    destination_regex: str


def _regex(value: str) -> str:
    value = text(value, max_len=200, single_line=True)
    if value:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


def validate_package(raw: dict) -> PackageInput:
    c = _Collector()
    zero = Decimal(0)
    kind = c.check("kind", choice, raw.get("kind", "recurring"), KINDS)
    frequency = c.check("frequency", choice, raw.get("frequency", "monthly"), FREQUENCIES)
    days = ""
    if frequency is not None:
        parsed = c.check("match_days", parse_match_days, frequency, raw.get("match_days", ""))
        if parsed is not None:
            days = match_days_text(frequency, parsed)
    retail = c.check("retail", money, raw.get("retail", "0"), minimum=zero)
    minimum = c.check("minimum_spend", money, raw.get("minimum_spend", "0"), minimum=zero)
    free = c.check("free_minutes", integer, raw.get("free_minutes", "0"),
                   maximum=MAX_FREE_MINUTES)
    regex = c.check("destination_regex", _regex, raw.get("destination_regex", ""))
    out = PackageInput(
        name=c.check("name", name_text, raw.get("name", "")),
        kind=kind,
        currency=c.check("currency", currency, raw.get("currency", "")),
        cost=c.check("cost", money, raw.get("cost", "0"), minimum=zero),
        retail=retail,
        setup_cost=c.check("setup_cost", money, raw.get("setup_cost", "0"), minimum=zero),
        setup_retail=c.check("setup_retail", money, raw.get("setup_retail", "0"),
                             minimum=zero),
        frequency=frequency,
        match_days=days,
        minimum_spend=minimum,
        free_minutes=free,
        destination_regex=regex,
    )
    if minimum and retail is not None and minimum != retail:
        c.errors.setdefault("minimum_spend", "a minimum-spend package charges max(0, retail "
                                             "- spend): set it equal to retail, or 0")
    if kind == "free_minutes" and free is not None and free <= 0:
        c.errors.setdefault("free_minutes", "a free-minutes package needs minutes (> 0)")
    if kind == "recurring" and (free or regex):
        c.errors.setdefault("free_minutes" if free else "destination_regex",
                            "only a free_minutes package has free minutes")
    c.raise_if_any()
    return out


@dataclass(frozen=True, slots=True)
class AssignmentInput:
    package_id: int
    quantity: int
    start: datetime
    end: datetime | None
    auto_decrement: bool


def _moment(value, *, required: bool) -> datetime | None:
    from connex_tui.engine.route_fields import moment

    if isinstance(value, str):
        value = text(value, max_len=40, single_line=True)
    found = moment(value, example="write a date like 2026-12-01 or 2026-12-01T08:00")
    if found is None and required:
        raise ValueError("required: a date like 2026-12-01")
    return found


def validate_assignment(raw: dict) -> AssignmentInput:
    c = _Collector()
    package_id = c.check("package_id", integer, raw.get("package_id", ""), minimum=1)
    if package_id == 0:
        c.errors.setdefault("package_id", "choose a package")
    start = c.check("start", _moment, raw.get("start", ""), required=True)
    end = c.check("end", _moment, raw.get("end", ""), required=False)
    out = AssignmentInput(
        package_id=package_id,
        quantity=c.check("quantity", integer, raw.get("quantity", "1"), minimum=1,
                         maximum=MAX_QUANTITY),
        start=start,
        end=end,
        auto_decrement=c.check("auto_decrement", boolean, raw.get("auto_decrement", True)),
    )
    if start is not None and end is not None and end <= start:
        c.errors.setdefault("end", "must be after the start")
    if str(raw.get("quantity", "1")).strip() == "":
        c.errors.setdefault("quantity", "required: 1 or more")
    c.raise_if_any()
    return out


def utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)

