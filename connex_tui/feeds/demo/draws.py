"""Small random draws and roundings the demo modules share (all from seeded streams)."""

from __future__ import annotations

import bisect
import random
import uuid
from decimal import ROUND_HALF_UP, Decimal

_NICE = (50, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000,
         5000, 7500, 10000, 15000, 20000, 25000, 50000)


def dec(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def quantize(value: Decimal, places: int, rounding=ROUND_HALF_UP) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def nice(amount: float) -> Decimal:
    i = bisect.bisect_left(_NICE, amount)
    return Decimal(_NICE[min(i, len(_NICE) - 1)])


def fill(pattern: str, rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else
                   chr(65 + rng.randrange(26)) if ch == "@" else ch for ch in pattern)


def digits(rng: random.Random, n: int) -> str:
    """n random decimal digits (random() has 53 bits: exact enough up to 15 digits)."""
    if n <= 0:
        return ""
    if n > 15:
        return digits(rng, n - 15) + digits(rng, 15)
    return f"{int(rng.random() * 10 ** n):0{n}d}"


def between(rng: random.Random, low: int, high: int) -> int:
    """randint(low, high) at a third of the cost (the history draws millions of these)."""
    return low + int(rng.random() * (high - low + 1))


def call_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def cum(weights):
    total = 0.0
    for w in weights:
        total += w
        yield total

