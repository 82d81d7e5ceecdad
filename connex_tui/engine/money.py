"""Exact money: Decimal in Python, integer micro-units in storage, billing of docs/domain.md §8."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

MICRO = 1_000_000
_MICRO_D = Decimal(MICRO)

# Symmetric for negative amounts (refunds): up = away from zero, down = toward zero, so
# round(-x) == -round(x) and a refund undoes exactly the charge it reverses.
ROUNDING = {
    "up": ROUND_UP,
    "down": ROUND_DOWN,
    "half_up": ROUND_HALF_UP,
    "half_down": ROUND_HALF_DOWN,
}

# Plain decimal only: optional sign, ASCII digits, optional fraction. No exponent, no
# grouping, and no other script's digits (Decimal('٠.٠١') is 0.01: not what was typed).
_MONEY_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


class MoneyFormatError(ValueError):
    pass


def to_micro(value: Decimal) -> int:
    """Decimal -> integer micro-units. Refuses values finer than a micro-unit."""
    scaled = value * _MICRO_D
    if scaled != scaled.to_integral_value():
        raise MoneyFormatError(f"{value} has more than 6 decimals")
    return int(scaled)


def from_micro(units: int) -> Decimal:
    return (Decimal(units) / _MICRO_D).quantize(Decimal("0.000001"))


def parse_money(text: str, *, max_decimals: int = 6) -> Decimal:
    """Parse operator input. Scientific notation, grouping and >6 decimals are refused."""
    raw = text.strip()
    if not _MONEY_RE.fullmatch(raw):
        raise MoneyFormatError("must be a plain number like 12.50")
    value = Decimal(raw)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > max_decimals:
        raise MoneyFormatError(f"at most {max_decimals} decimals")
    if abs(value) >= Decimal(10) ** 12:
        raise MoneyFormatError("too large")
    return value


def format_money(value: Decimal, places: int = 2) -> str:
    q = Decimal(1).scaleb(-places)
    return f"{value.quantize(q, rounding=ROUND_HALF_UP):,}"


def available_credit(balance: Decimal, debit_limit: Decimal) -> Decimal:
    """What a customer may still spend: the balance plus the debit limit (docs/domain.md §8); a
    call is refused at 0 or below."""
    return balance + debit_limit


def billable_seconds(duration_ms: int) -> int:
    """A duration is first rounded up to whole seconds (9.1 s -> 10 s)."""
    return -(-duration_ms // 1000) if duration_ms > 0 else 0


def billed_seconds(seconds: int, mcd: int, pulse: int) -> int:
    """MCD/Pulse billing: 0 -> 0; d <= X -> X; else X + ceil((d - X)/Y)*Y.

    The validator refuses Pulse < 1 and MCD < 0; a row that slipped past it (old data, a
    hand-made import) is billed as Pulse 1 / MCD 0 rather than failing a whole CDR batch."""
    if seconds <= 0:
        return 0
    pulse = max(pulse, 1)
    mcd = max(mcd, 0)
    if seconds <= mcd:
        return mcd
    return mcd + -(-(seconds - mcd) // pulse) * pulse


def round_money(value: Decimal, precision: int, rounding: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-precision), rounding=ROUNDING[rounding])


def call_charge(
    billed: int,
    rate: Decimal,
    connect_fee: Decimal,
    *,
    answered: bool,
    precision: int = 4,
    rounding: str = "up",
) -> Decimal:
    """Charge = billed/60 x rate + connect fee (answered only), rounded per call."""
    if not answered:
        return round_money(Decimal(0), precision, rounding)
    raw = Decimal(billed) * rate / 60 + connect_fee
    return round_money(raw, precision, rounding)


def max_seconds_affordable(
    available: Decimal,
    rate: Decimal,
    connect_fee: Decimal,
    mcd: int,
    pulse: int,
    precision: int = 4,
    rounding: str = "up",
) -> int | None:
    """Longest billed duration (seconds, on the MCD/Pulse grid) whose rounded charge,
    connect fee included, is <= available. None = unlimited (rate 0 and the fee affordable);
    0 = not even the first increment is affordable."""
    pulse = max(pulse, 1)
    mcd = max(mcd, 0)

    def affordable(billed: int) -> bool:
        charge = call_charge(billed, rate, connect_fee, answered=True, precision=precision,
                             rounding=rounding)
        return charge <= available

    first = mcd if mcd > 0 else pulse
    if not affordable(first):
        return 0
    if rate <= 0:
        return None
    # Grid steps: billed(k) = first + k*pulse. Rounding moves a charge by less than one
    # unit of the precision, which brackets k; binary search inside the bracket (a few
    # steps even for a tiny rate, where walking would take thousands).
    slack = Decimal(1).scaleb(-precision)
    per_step = rate * pulse / 60

    def k_for(budget: Decimal) -> int:
        return int((budget - connect_fee - rate * first / 60) / per_step)

    lo = max(k_for(available - slack) - 1, 0)  # affordable (or 0, checked above)
    hi = max(k_for(available + slack) + 1, lo)  # hi + 1 is not affordable
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if affordable(first + mid * pulse):
            lo = mid
        else:
            hi = mid - 1
    return first + lo * pulse


def net_of_tax(gross: Decimal, tax_percent: Decimal) -> tuple[Decimal, Decimal]:
    """A payment of gross G at t% credits G/(1+t/100); returns (net, tax), both to micro-units."""
    net = (gross / (1 + tax_percent / 100)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    return net, gross - net
