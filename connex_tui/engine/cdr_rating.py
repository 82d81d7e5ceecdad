"""What an answered call costs, once the pipeline has found its rate (docs/domain.md §8):
billed seconds, the customer's charge and the provider's cost, each side on its own
card's increments, precision and rounding. Live traffic, the demo history and CDR import
all charge through here."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from connex_tui.engine.money import billable_seconds, billed_seconds, call_charge
from connex_tui.engine.snapshot import ProviderChoice, Result, Snapshot

_ZERO = Decimal(0)


def rated(snap: Snapshot, result: Result, choice: ProviderChoice | None, duration_ms: int,
          at: datetime) -> tuple[int, Decimal, Decimal]:
    """(billed seconds, charge, provider cost) of an answered call decided as `result` and
    sent to `choice` (None: no provider known, no cost)."""
    secs = billable_seconds(duration_ms)
    card = snap.cards[result.card_id]
    billed = billed_seconds(secs, result.mcd, result.pulse)
    charge = call_charge(billed, result.rate, result.connect_fee, answered=True,
                         precision=card.precision, rounding=card.rounding)
    if choice is None:
        return billed, charge, _ZERO
    pcard = snap.cards[choice.card_id]
    prow = pcard.index.lookup(result.number_out, int(at.timestamp()))
    if prow is None:  # the row the choice was made from has no time filter: none in force
        return billed, charge, _ZERO
    cost = call_charge(billed_seconds(secs, prow.mcd, prow.pulse), choice.rate,
                       choice.connect_fee, answered=True, precision=pcard.precision,
                       rounding=pcard.rounding)
    return billed, charge, cost
