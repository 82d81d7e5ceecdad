"""A routing world for CDR import, written straight into the tables.

Dora (USD) has two routes: no tech prefix on card Dora-Retail (precision 4, rounding up,
the billing examples of docs/domain.md §8 by prefix) and tech prefix `77#` on card
Dora-Premium; Dora-Retail's parent is Acme's card (the provider cost). Eve (EUR) has her
own card. Bob is archived. Each has an ingress IP (the routing snapshot holds only
customers that can place calls).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert

from connex_tui.data import config_state
from connex_tui.data.models import (
    Customer,
    IngressRoute,
    IpAuth,
    Provider,
    RateCard,
    RateCardParent,
    RateRow,
)
from tests.data.sim_world import _stamp

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the calls start from here
PAST = T0 - timedelta(days=30)
CHANGE = T0 + timedelta(days=1)  # prefix 445 costs more from here on

# prefix -> (rate per minute, MCD, Pulse): the examples of docs/domain.md §8
RETAIL = {"441": ("0.005", 1, 1), "442": ("0.06", 30, 6), "443": ("0.06", 60, 6),
          "444": ("0.06", 60, 60), "446": ("0.06", 1, 1)}


async def build(db) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with db.sessions() as s, s.begin():
        async def add(model, **row) -> int:
            return await s.scalar(insert(model).values(**row).returning(model.id))

        for name, currency, archived in (("Dora", "USD", None), ("Eve", "EUR", None),
                                         ("Bob", "USD", PAST)):
            ids[name] = await add(Customer, **_stamp(
                name=name, name_key=name.lower(), status="active", archived_at=archived,
                currency=currency, debit_limit=Decimal(0)))
        ids["Acme"] = await add(Provider, **_stamp(name="Acme", host="203.0.113.5"))
        cards = (("Acme-UK", "USD", "provider", ids["Acme"]),
                 ("Dora-Retail", "USD", "customer", None),
                 ("Dora-Premium", "USD", "customer", None),
                 ("Eve-Retail", "EUR", "customer", None))
        for name, currency, direction, provider in cards:
            ids[name] = await add(RateCard, **_stamp(
                name=name, currency=currency, direction=direction, provider_id=provider))
        await s.execute(insert(RateCardParent), [
            {"customer_card_id": ids["Dora-Retail"], "provider_card_id": ids["Acme-UK"]}])
        rows = [(ids["Acme-UK"], "44", "0.003", 1, 1, None)]
        rows += [(ids["Dora-Retail"], p, r, m, pu, None) for p, (r, m, pu) in RETAIL.items()]
        rows += [(ids["Dora-Retail"], "445", "0.010", 1, 1, None),
                 (ids["Dora-Retail"], "445", "0.020", 1, 1, CHANGE),
                 (ids["Dora-Premium"], "44", "0.100", 1, 1, None),
                 (ids["Eve-Retail"], "49", "0.012", 1, 1, None)]
        await s.execute(insert(RateRow), [
            {"card_id": c, "prefix": p, "destination": f"Dest {p}", "rate": Decimal(r),
             "connect_fee": Decimal(0), "mcd": m, "pulse": pu, "blocked": False,
             "effective_from": eff} for c, p, r, m, pu, eff in rows])
        for customer, card, tech in (("Dora", "Dora-Retail", ""),
                                     ("Dora", "Dora-Premium", "77#"),
                                     ("Eve", "Eve-Retail", ""), ("Bob", "Dora-Retail", "")):
            await add(IngressRoute, **_stamp(customer_id=ids[customer],
                                             rate_card_id=ids[card], tech_prefix=tech))
        for n, customer in enumerate(("Dora", "Eve", "Bob"), 1):  # the snapshot's customers
            await add(IpAuth, **_stamp(customer_id=ids[customer], host=f"192.0.2.{n}",
                                       direction="ingress"))
        await config_state.bump(s)
    return ids
