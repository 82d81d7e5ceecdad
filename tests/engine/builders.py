"""Snapshots built in code for engine tests (and any test that needs a routing world
without a database).

    w = World()
    acme = w.customer("Acme", balance="50")
    w.ip(acme, "10.0.0.0/24")
    retail = w.card("Retail", [r("44", "0.0200"), r("447", "0.0500")])
    w.provider("Carrier-A", [r("44", "0.0100")], parent_of=retail)
    w.route(acme, retail)
    result = decide(w.snap, call("4420123", source_ip="10.0.0.7"))

`standard()` builds the world most pipeline tests start from (see its docstring).
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from ipaddress import ip_network
from typing import Any

from connex_tui.engine.money import to_micro
from connex_tui.engine.rating import PrefixIndex
from connex_tui.engine.scripts import parse_script
from connex_tui.engine.snapshot import (
    REALM,
    CallInput,
    CardS,
    CliRuleS,
    CustomerS,
    IpAuthS,
    ProviderS,
    RouteS,
    RowTuple,
    SipUserS,
    Snapshot,
    StrategyCardS,
    StrategyS,
)

D = Decimal
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PASSWORD = "correct-horse-battery"


def r(prefix: str, rate: str = "0.0100", *, dest: str = "", fee: str = "0",
      inc: str = "60/60", blocked: bool = False, eff: datetime | None = None) -> RowTuple:
    """One rate row, money as text."""
    mcd, pulse = (int(x) for x in inc.split("/"))
    return (prefix, dest or f"Dest {prefix}", to_micro(D(rate)), to_micro(D(fee)), mcd, pulse,
            blocked, None if eff is None else int(eff.timestamp()))


def ha1(username: str, password: str = PASSWORD) -> str:
    return hashlib.md5(f"{username}:{REALM}:{password}".encode()).hexdigest()


def call(number: str = "447700900123", cli: str = "441632960000", *,
         source_ip: str = "10.0.0.7", at: datetime | None = AT, **kw: Any) -> CallInput:
    return CallInput(number=number, cli=cli, source_ip=source_ip, at=at, **kw)


class World:
    """A mutable builder around one Snapshot; ids are handed out in creation order."""

    def __init__(self) -> None:
        self.snap = Snapshot(generation=1)
        self._next = 0

    def _id(self) -> int:
        self._next += 1
        return self._next

    # -- entities --------------------------------------------------------------------
    def customer(self, name: str = "Acme", *, balance: str = "100", debit_limit: str = "0",
                 **kw: Any) -> CustomerS:
        c = CustomerS(id=self._id(), name=name, status=kw.pop("status", "active"),
                      currency=kw.pop("currency", "USD"), balance=D(balance),
                      debit_limit=D(debit_limit), **kw)
        self.snap.customers[c.id] = c
        return c

    def ip(self, customer: CustomerS, host: str, **kw: Any) -> IpAuthS:
        entry = IpAuthS(id=self._id(), customer_id=customer.id, host=host,
                        network=ip_network(host, strict=False), **kw)
        self.snap.ip_auth = (*self.snap.ip_auth, entry)
        return entry

    def sip_user(self, customer: CustomerS, username: str, password: str = PASSWORD,
                 *, ip_whitelist: tuple[str, ...] = (), **kw: Any) -> SipUserS:
        user = SipUserS(id=self._id(), customer_id=customer.id, username=username,
                        ha1=ha1(username, password),
                        ip_whitelist=tuple(ip_network(n) for n in ip_whitelist), **kw)
        self.snap.sip_users[username] = user
        return user

    def card(self, name: str, rows: list[RowTuple], *, direction: str = "customer",
             precision: int = 4, rounding: str = "up", provider_id: int | None = None,
             parents: tuple[int, ...] = ()) -> CardS:
        card = CardS(id=self._id(), name=name, currency="USD", direction=direction,
                     precision=precision, rounding=rounding,
                     index=PrefixIndex.from_rows(rows), provider_id=provider_id,
                     parents=parents)
        self.snap.cards[card.id] = card
        return card

    def provider(self, name: str, rows: list[RowTuple], *, parent_of: CardS | None = None,
                 status: str = "active", card_name: str = "") -> CardS:
        """A provider with one provider card, optionally a parent of a customer card."""
        provider = ProviderS(id=self._id(), name=name, status=status, host=f"{name}.example")
        self.snap.providers[provider.id] = provider
        card = self.card(card_name or f"{name}-card", rows, direction="provider",
                         provider_id=provider.id)
        if parent_of is not None:
            parent_of.parents = (*parent_of.parents, card.id)
        return card

    def route(self, customer: CustomerS, card: CardS, **kw: Any) -> RouteS:
        if isinstance(kw.get("dial_string"), str):
            kw["dial_string"] = tuple(kw["dial_string"].splitlines())
        route = RouteS(id=self._id(), customer_id=customer.id, rate_card_id=card.id, **kw)
        self.snap.routes[customer.id] = (*self.snap.routes.get(customer.id, ()), route)
        return route

    def cli_rule(self, customer: CustomerS, cli: str, **kw: Any) -> CliRuleS:
        rule = CliRuleS(id=self._id(), customer_id=customer.id, cli=cli, **kw)
        self.snap.cli_rules[customer.id] = (*self.snap.cli_rules.get(customer.id, ()), rule)
        return rule

    def script(self, body: str, name: str = "s") -> int:
        sid = self._id()
        self.snap.scripts[sid] = parse_script(body, name)
        return sid

    # -- edits (the snapshot holds immutable values: replace them) ---------------------
    def update_customer(self, customer: CustomerS, **changes: Any) -> CustomerS:
        for key in ("balance", "debit_limit"):
            if isinstance(changes.get(key), str):
                changes[key] = D(changes[key])
        new = dataclasses.replace(self.snap.customers[customer.id], **changes)
        self.snap.customers[customer.id] = new
        return new

    def update_route(self, route: RouteS, **changes: Any) -> RouteS:
        if isinstance(changes.get("dial_string"), str):
            changes["dial_string"] = tuple(changes["dial_string"].splitlines())
        routes = self.snap.routes[route.customer_id]
        current = next(x for x in routes if x.id == route.id)
        new = dataclasses.replace(current, **changes)
        self.snap.routes[route.customer_id] = tuple(new if x.id == route.id else x
                                                    for x in routes)
        return new


def strategy(prefix: str, mode: str, *cards: tuple[CardS, int, int]) -> StrategyS:
    """A strategy row; cards as (card, priority, weight)."""
    return StrategyS(prefix=prefix, mode=mode,
                     cards=tuple(StrategyCardS(c.id, p, w) for c, p, w in cards))


class Standard:
    """The usual world, named parts as attributes."""

    def __init__(self) -> None:
        w = self.world = World()
        self.acme = w.customer("Acme", balance="100", channels=10, flow_speed=5)
        self.acme_ip = w.ip(self.acme, "10.0.0.0/24")
        self.alice = w.sip_user(self.acme, "alice")
        self.retail = w.card("Retail", [
            r("44", "0.0200", dest="UK"),
            r("447", "0.0500", dest="UK Mobile"),
            r("4470", "0.0500", dest="UK Mobile Blocked", blocked=True),
            r("33", "0.0300", dest="France", fee="0.0100"),
            r("1", "0.0100", dest="USA", inc="6/6"),
        ])
        self.a = w.provider("Carrier-A", [r("44", "0.0100"), r("447", "0.0300"),
                                          r("33", "0.0200"), r("1", "0.0050")],
                            parent_of=self.retail)
        self.b = w.provider("Carrier-B", [r("44", "0.0080"), r("447", "0.0400"),
                                          r("33", "0.0250")], parent_of=self.retail)
        self.c = w.provider("Carrier-C", [r("44", "0.0150"), r("447", "0.0600")],
                            parent_of=self.retail)
        self.route = w.route(self.acme, self.retail)

    @property
    def snap(self) -> Snapshot:
        return self.world.snap


def standard() -> Standard:
    """Acme (active, balance 100, 10 channels, 5 CPS) on IP 10.0.0.0/24 and SIP user alice;
    one route (no tech prefix, empty dial string) on card Retail: 44 UK 0.02, 447 UK Mobile
    0.05, 4470 blocked, 33 France 0.03 + 0.01 connect fee, 1 USA 0.01 6/6. Parents:
    Carrier-A (44 0.01, 447 0.03, 33 0.02, 1 0.005), Carrier-B (44 0.008, 447 0.04,
    33 0.025), Carrier-C (44 0.015, 447 0.06)."""
    return Standard()
