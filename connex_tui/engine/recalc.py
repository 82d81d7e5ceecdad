"""Recalc of stored CDRs (docs/domain.md §7): what a CDR becomes, decided without I/O.

A recalc either gives every answered CDR at or above a minimum duration a new duration, or
changes no duration ("rerate only"); either way the CDR is rated again with the rates in
force at its start, through the same pieces the pipeline and the CDR writers use: the card's
PrefixIndex (longest prefix in effect at a time) and engine.money (billed seconds on the
row's MCD/Pulse, charge rounded per call to the card's precision and rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from connex_tui.engine.money import billable_seconds, billed_seconds, call_charge
from connex_tui.engine.present import money
from connex_tui.engine.rating import RateMatch
from connex_tui.engine.snapshot import CardS

MAX_DURATION_S = 86_400  # a new duration beyond a day is a typing error, not a call
SECONDS_MESSAGE = f"whole seconds, 0 to {MAX_DURATION_S:,}"


def parse_seconds(text: str) -> int:
    """A duration of the recalc form or `cdr recalc` (ValueError: SECONDS_MESSAGE, which
    says the bound: 99999999 was answered "whole seconds, 0 or more")."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6 \
            or int(text) > MAX_DURATION_S:
        raise ValueError(SECONDS_MESSAGE)
    return int(text)


@dataclass(frozen=True, slots=True)
class RecalcSpec:
    """min_duration_s and new_duration_s together, or neither (rerate only)."""

    min_duration_s: int | None = None
    new_duration_s: int | None = None
    release_reason: str = ""  # "" = any

    def __post_init__(self) -> None:
        if (self.min_duration_s is None) != (self.new_duration_s is None):
            raise ValueError("give the minimum duration and the new duration together")
        for name in ("min_duration_s", "new_duration_s"):
            v = getattr(self, name)
            if v is not None and not 0 <= v <= MAX_DURATION_S:
                raise ValueError(f"{name.removesuffix('_s').replace('_', ' ')} must be "
                                 f"0..{MAX_DURATION_S} seconds")

    @property
    def rerate_only(self) -> bool:
        return self.new_duration_s is None

    @property
    def min_duration_ms(self) -> int:
        return (self.min_duration_s or 0) * 1000

    def params(self) -> dict:
        return {"min_duration_s": self.min_duration_s, "new_duration_s": self.new_duration_s,
                "release_reason": self.release_reason, "rerate": self.rerate_only}

    def describe(self) -> str:
        what = ("rerate only" if self.rerate_only else
                f"calls of {self.min_duration_s} s or more get {self.new_duration_s} s")
        return what + (f", release reason {self.release_reason}" if self.release_reason else "")


@dataclass(frozen=True, slots=True)
class StoredCdr:
    """What a recalc reads of a CDR."""

    id: int
    customer_id: int
    started_at: datetime
    answered_at: datetime | None
    duration_ms: int
    billed_s: int
    dialled: str
    prefix: str
    destination: str
    rate: Decimal
    connect_fee: Decimal
    charge: Decimal
    provider_cost: Decimal
    route_id: int | None
    provider_id: int | None
    free_s: int = 0  # billed seconds a free-minutes package paid for: a recalc keeps them


@dataclass(frozen=True, slots=True)
class Rerated:
    duration_ms: int
    billed_s: int
    prefix: str
    destination: str
    rate: Decimal
    connect_fee: Decimal
    charge: Decimal
    provider_cost: Decimal


class RouteRef(NamedTuple):
    """What rating needs of the route a CDR went through."""

    rate_card_id: int
    tech_prefix: str


def _row(card: CardS, number: str, fallback: str, at: int) -> RateMatch | None:
    """The card's row for the number in effect at `at`; the CDR's own prefix when the
    number no longer matches anything (the switch's rewrite of it is not stored)."""
    return card.index.lookup(number, at) or (card.index.lookup(fallback, at)
                                              if fallback else None)


@lru_cache(maxsize=16384)
def _charge(billed: int, rate: Decimal, connect_fee: Decimal, answered: bool, precision: int,
            rounding: str) -> Decimal:
    """engine.money.call_charge, memoised: a recalc meets the same few durations and rates
    again and again."""
    return call_charge(billed, rate, connect_fee, answered=answered, precision=precision,
                       rounding=rounding)


def rerate(cards: Mapping[int, CardS], routes: Mapping[int, RouteRef], cdr: StoredCdr,
           spec: RecalcSpec) -> Rerated | None:
    """What `cdr` becomes under `spec`, or None when it cannot be rated (its route or its
    card is gone, or no row of the card was in effect at its start): it is then left as
    it is and counted as skipped."""
    duration_ms = cdr.duration_ms
    if not spec.rerate_only and duration_ms >= spec.min_duration_ms:
        duration_ms = (spec.new_duration_s or 0) * 1000
    route = routes.get(cdr.route_id) if cdr.route_id is not None else None
    card = cards.get(route.rate_card_id) if route is not None else None
    if route is None or card is None:
        return None
    number = cdr.dialled
    if route.tech_prefix and number.startswith(route.tech_prefix):
        number = number[len(route.tech_prefix):]  # as step 4 of the pipeline rates it
    at = int(cdr.started_at.timestamp())
    row = _row(card, number, cdr.prefix, at)
    if row is None:
        return None
    secs = billable_seconds(duration_ms)
    answered = cdr.answered_at is not None
    billed = billed_seconds(secs, row.mcd, row.pulse) if answered else 0
    # A call a free-minutes package paid for keeps its free seconds (never consumed again
    # nor given back: docs/decisions.md "Free minutes") and pays for the rest, if any.
    paid = max(billed - cdr.free_s, 0)
    charge = _charge(paid, row.rate, row.connect_fee, answered and (paid > 0 or not cdr.free_s),
                     card.precision, card.rounding)
    cost = cdr.provider_cost
    pcard = _provider_card(cards, card, cdr.provider_id)
    if pcard is not None:
        prow = _row(pcard, number, cdr.prefix, at)
        if prow is not None:
            cost = _charge(billed_seconds(secs, prow.mcd, prow.pulse), prow.rate,
                           prow.connect_fee, answered, pcard.precision, pcard.rounding)
    return Rerated(duration_ms, billed, row.prefix, row.destination, row.rate,
                   row.connect_fee, charge, cost)


def _provider_card(cards: Mapping[int, CardS], card: CardS,
                   provider_id: int | None) -> CardS | None:
    """The parent card of the customer's card through which the call went out."""
    if provider_id is None:
        return None
    for cid in card.parents:
        pc = cards.get(cid)
        if pc is not None and pc.provider_id == provider_id:
            return pc
    return None


def changed(cdr: StoredCdr, new: Rerated) -> bool:
    return (cdr.duration_ms, cdr.billed_s, cdr.prefix, cdr.destination, cdr.rate,
            cdr.connect_fee, cdr.charge, cdr.provider_cost) != (
        new.duration_ms, new.billed_s, new.prefix, new.destination, new.rate,
        new.connect_fee, new.charge, new.provider_cost)


def summary_lines(calls: int, n_changed: int, skipped: int, old_total: Decimal,
                  new_total: Decimal, currency: str) -> list[str]:
    """A preview or a result, as the CDR tab and `cdr recalc` print it."""
    lines = [f"Calls affected  {calls:,} ({n_changed:,} change"
             + (f", {skipped:,} skipped: no rate any more)" if skipped else ")"),
             f"Old total       {money(old_total, currency, 4)}",
             f"New total       {money(new_total, currency, 4)}",
             f"Difference      {money(new_total - old_total, currency, 4)}"]
    return lines
