"""A call the switch has admitted, as money: what an answered call is billed and what it
costs (docs/domain.md §8), and its decision read again when only the dialog is at hand.

Pure: the demo history, live traffic and an operator ending a call all rate through here.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from connex_tui.engine.money import billable_seconds, billed_seconds, call_charge
from connex_tui.engine.pipeline import decide
from connex_tui.engine.snapshot import REALM, CallInput, ProviderChoice, Result, Snapshot

# Available credit given to a call already up when its decision is read again: calls
# already up carry on whatever the balance now is (docs/domain.md §8).
_UP = Decimal(10) ** 12
_TOKEN = "connex-call-already-up"


def rated(snap: Snapshot, result: Result, choice: ProviderChoice | None, duration_ms: int,
          at: datetime) -> tuple[int, Decimal, Decimal]:
    """(billed seconds, charge, provider cost) of an answered call decided as `result` and
    sent to `choice`: each side on its own card's increments, precision and rounding."""
    secs = billable_seconds(duration_ms)
    card = snap.cards[result.card_id]
    billed = billed_seconds(secs, result.mcd, result.pulse)
    charge = call_charge(billed, result.rate, result.connect_fee, answered=True,
                         precision=card.precision, rounding=card.rounding)
    if choice is None:
        return billed, charge, Decimal(0)
    pcard = snap.cards.get(choice.card_id)
    prow = pcard.index.lookup(result.number_out, int(at.timestamp())) if pcard else None
    if prow is None:  # the provider card changed under the call: its cost at the choice's
        return billed, charge, call_charge(  # rate on the customer side's increments
            billed, choice.rate, choice.connect_fee, answered=True)
    cost = call_charge(billed_seconds(secs, prow.mcd, prow.pulse), choice.rate,
                       choice.connect_fee, answered=True, precision=pcard.precision,
                       rounding=pcard.rounding)
    return billed, charge, cost


def decided_again(snap: Snapshot, call: CallInput, customer_id: int,
                  sip_user_id: int | None = None) -> Result:
    """decide() for a call already up, read from its dialog in a process that did not
    admit it: the customer counts as active with credit (a call up carries on, §8), its
    SIP user's digest as checked (the switch did, at the INVITE), and no limit applies
    (the call holds its channel already)."""
    customers = dict(snap.customers)
    c = customers.get(customer_id)
    if c is not None:
        customers[customer_id] = replace(c, status="active", balance=_UP)
    users = snap.sip_users
    if sip_user_id is not None:
        user = next((u for u in users.values() if u.id == sip_user_id), None)
        if user is not None:
            users = dict(users)
            users[user.username] = replace(user, ip_whitelist=(), ha1=hashlib.md5(
                f"{user.username}:{REALM}:{_TOKEN}".encode(), usedforsecurity=False)
                .hexdigest())
            call = replace(call, sip_user=user.username, sip_password=_TOKEN)
    return decide(replace(snap, customers=customers, sip_users=users), call)
