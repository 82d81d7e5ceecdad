"""A small routing world written straight into the tables (no services), for the snapshot
loader and simulation tests.

Alice (active, USD, balance 10 + debit 5) owns 192.0.2.0/24 and SIP user alice1; her one
route uses card Retail (parents UK-A and UK-B of provider Acme); Bob is archived (his IP
192.0.2.200 must not authenticate); Carol has no auth at all.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, update

from connex_tui.data import config_state, ledger
from connex_tui.data.models import (
    CliRule,
    Customer,
    IngressRoute,
    IpAuth,
    Provider,
    RateCard,
    RateCardParent,
    RateRow,
    RouteCardFilter,
    RouteStrategy,
    SipUser,
)
from connex_tui.engine.snapshot import REALM

NOW = datetime(2025, 3, 14, 12, 30, tzinfo=UTC)
PAST = NOW - timedelta(days=10)
FUTURE = NOW + timedelta(days=10)
PASSWORD = "correct-horse-battery"


def ha1(user: str, password: str = PASSWORD) -> str:
    return hashlib.md5(f"{user}:{REALM}:{password}".encode()).hexdigest()


def _stamp(**row) -> dict:
    return {"version": 1, "created_at": PAST, "updated_at": PAST, **row}


async def build(db) -> dict[str, int]:
    """Write the world; returns ids by name."""
    ids: dict[str, int] = {}
    async with db.sessions() as s, s.begin():
        async def add(model, **row) -> int:
            return await s.scalar(insert(model).values(**row).returning(model.id))

        for name, status, archived in (("Alice", "active", None), ("Bob", "active", PAST),
                                       ("Carol", "active", None)):
            ids[name] = await add(Customer, **_stamp(
                name=name, name_key=name.lower(), status=status, archived_at=archived,
                currency="USD", debit_limit=Decimal(5), channels=10, flow_speed=2))
        await ledger.post(s, ids["Alice"], "adjust", Decimal(10), at=PAST)
        ids["Acme"] = await add(Provider, **_stamp(name="Acme", host="203.0.113.5"))
        for name in ("UK-A", "UK-B"):
            ids[name] = await add(RateCard, **_stamp(
                name=name, currency="USD", direction="provider", provider_id=ids["Acme"]))
        ids["Retail"] = await add(RateCard, **_stamp(name="Retail", currency="USD",
                                                     direction="customer"))
        await s.execute(insert(RateCardParent), [
            {"customer_card_id": ids["Retail"], "provider_card_id": ids[n]}
            for n in ("UK-B", "UK-A")])
        rows = {
            "UK-A": [("44", "UK", "0.005", None), ("447", "UK Mobile", "0.012", None)],
            "UK-B": [("44", "UK", "0.006", None), ("447", "UK Mobile", "0.011", None)],
            "Retail": [("44", "UK", "0.010", None), ("447", "UK Mobile", "0.020", None),
                       ("4420", "London", "0.008", PAST), ("4420", "London", "0.030", FUTURE),
                       ("449", "UK Premium", "0.900", None)],
        }
        for card, items in rows.items():
            await s.execute(insert(RateRow), [
                {"card_id": ids[card], "prefix": p, "destination": d, "rate": Decimal(r),
                 "connect_fee": Decimal(0), "mcd": 1, "pulse": 1, "blocked": p == "449",
                 "effective_from": eff} for p, d, r, eff in items])
        ids["alice_ip"] = await add(IpAuth, **_stamp(
            customer_id=ids["Alice"], host="192.0.2.0/24", direction="ingress", channels=5))
        ids["alice_egress"] = await add(IpAuth, **_stamp(
            customer_id=ids["Alice"], host="pbx.alice.example", direction="egress"))
        ids["bob_ip"] = await add(IpAuth, **_stamp(
            customer_id=ids["Bob"], host="192.0.2.200", direction="ingress"))
        ids["alice1"] = await add(SipUser, **_stamp(
            customer_id=ids["Alice"], username="alice1", password_hash="x", ha1=ha1("alice1"),
            ip_whitelist="198.51.100.0/24\n2001:db8::/32"))
        ids["route_b"] = await add(IngressRoute, **_stamp(
            customer_id=ids["Alice"], rate_card_id=ids["Retail"], tech_prefix="99#",
            dial_string="", position=1, enabled=False))
        ids["route"] = await add(IngressRoute, **_stamp(
            customer_id=ids["Alice"], rate_card_id=ids["Retail"], tech_prefix="",
            dial_string="44\n^1\n", capped_rate=Decimal("0.5"), profit_assurance=True,
            position=0, channels=3))
        ids["bob_route"] = await add(IngressRoute, **_stamp(
            customer_id=ids["Bob"], rate_card_id=ids["Retail"]))
        await s.execute(insert(RouteCardFilter), [
            {"route_id": ids["route"], "card_id": ids["UK-A"], "kind": "lock"},
            {"route_id": ids["route"], "card_id": ids["UK-B"], "kind": "lock"},
            {"route_id": ids["route_b"], "card_id": ids["UK-B"], "kind": "exclude"}])
        await s.execute(insert(RouteStrategy), [
            {"route_id": ids["route"], "prefix": "", "mode": "lcr", "cards": "[]"},
            {"route_id": ids["route"], "prefix": "447", "mode": "priority",
             "cards": json.dumps([{"card": ids["UK-A"], "priority": 1, "weight": 1},
                                  {"card": ids["UK-B"], "priority": 2, "weight": 1}])}])
        await s.execute(insert(CliRule), [
            _stamp(customer_id=ids["Alice"], cli=r"^44\d+$", position=1),
            _stamp(customer_id=ids["Alice"], cli="", rewrite_cli="441000000000", forced=True,
                   position=2)])
        await config_state.bump(s)
    return ids


async def set_balance_and_status(db, customer_id: int, *, credit: Decimal | None = None,
                                 status: str | None = None) -> None:
    """What CDR traffic and the customer form do: neither bumps the configuration."""
    async with db.sessions() as s, s.begin():
        if credit is not None:
            await ledger.post(s, customer_id, "adjust", credit, at=NOW)
        if status is not None:
            await s.execute(update(Customer).where(Customer.id == customer_id).values(
                status=status, version=Customer.version + 1, updated_at=NOW))
