"""Who calls, from where, to what: the traffic simulator's view of the configuration.

Read from the engine's snapshot (no queries of its own): every active customer with an
ingress route and somewhere to call from (an ingress IP-auth entry, a SIP user) is a
caller. Its calls come from the first hosts of its auth networks or as its SIP users (from
an address their whitelist allows), to numbers under prefixes of its routes' rate cards
(those the route's digit dial strings allow), with CLIs of its own country codes.
Each caller's volume and far end are drawn from its own seeded stream.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from connex_tui.engine.snapshot import RouteS, Snapshot
from connex_tui.feeds.demo.draws import digits
from connex_tui.feeds.far_end import Mix, draw_mix

PREFIXES_READ = 5000  # of a card, in load order: a 1,000,000-row card is not walked
DESTINATIONS = 48  # per route
ORIGIN_HOSTS = 4  # addresses used per auth network


class TrafficError(Exception):
    """Nothing to simulate (an unknown customer name, nobody able to call)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """One place a customer's calls come from. `entry_tech`: the auth entry puts the tech
    prefix in front itself (else the equipment sends the route's); `strip`: the national
    prefix the auth entry takes off."""

    source_ip: str
    sip_user: str | None
    entry_tech: bool
    strip: str
    routes: tuple[int, ...]  # indexes into Caller.routes this origin can reach


@dataclass(frozen=True, slots=True)
class Destination:
    prefix: str
    length: int  # digits of a whole number under it


@dataclass(frozen=True, slots=True)
class Caller:
    customer_id: int
    name: str
    weight: float  # share of the attempts
    mix: Mix
    origins: tuple[Origin, ...]
    routes: tuple[tuple[RouteS, tuple[Destination, ...]], ...]
    cli_codes: tuple[str, ...]


def _hosts(net: IPv4Network | IPv6Network) -> list[str]:
    if net.num_addresses <= 2:
        return [str(net.network_address)]
    out = []
    for host in net.hosts():
        out.append(str(host))
        if len(out) >= ORIGIN_HOSTS:
            break
    return out


def _destinations(snap: Snapshot, route: RouteS, rng: random.Random,
                  cache: dict[int, list[str]]) -> tuple[Destination, ...]:
    card = snap.cards.get(route.rate_card_id)
    if card is None:
        return ()
    prefixes = cache.get(card.id)
    if prefixes is None:
        prefixes = cache[card.id] = [
            p for p in card.index.some_prefixes(PREFIXES_READ) if p.isdigit()]
    dial = [d.strip() for d in route.dial_string if d.strip()]
    if dial and all(d.isdigit() for d in dial):  # only numbers the dial plan lets through
        fitting = []
        for p in prefixes:
            for d in dial:
                if p.startswith(d):
                    fitting.append(p)
                elif d.startswith(p):
                    fitting.append(d)
        prefixes = fitting or dial
    if len(prefixes) > DESTINATIONS:
        prefixes = rng.sample(prefixes, DESTINATIONS)
    return tuple(Destination(p, min(15, max(len(p) + 4, 11))) for p in prefixes)


def callers(snap: Snapshot, seed: int, names: tuple[str, ...] = ()) -> list[Caller]:
    """Every caller (of the named customers only, when names are given; case does not
    matter). Raises TrafficError for an unknown name or when nobody can call."""
    by_name = {c.name.casefold(): c for c in snap.customers.values()}
    wanted = None
    if names:
        missing = [n for n in names if n.casefold() not in by_name]
        if missing:
            raise TrafficError(f"--customer {missing[0]!r}: no customer of that name can "
                               "place calls (unknown, archived, or without an ingress "
                               "IP-auth entry or SIP user)")
        wanted = {by_name[n.casefold()].id for n in names}
    ips: dict[int, list] = {}
    for entry in snap.ip_auth:
        if entry.direction == "ingress" and entry.network is not None:
            ips.setdefault(entry.customer_id, []).append(entry)
    users: dict[int, list] = {}
    for user in snap.sip_users.values():
        users.setdefault(user.customer_id, []).append(user)
    cards: dict[int, list[str]] = {}
    out = []
    for c in sorted(snap.customers.values(), key=lambda c: c.id):
        if (wanted is not None and c.id not in wanted) or c.status not in ("active",
                                                                           "penalty"):
            continue
        rng = random.Random(f"{seed}:traffic:{c.id}")
        weight = 20 ** (rng.random() ** 1.5)  # a few busy customers, many quiet ones
        mix = draw_mix(rng)
        routes = [r for r in snap.routes.get(c.id, ()) if r.enabled]
        dests = [(r, _destinations(snap, r, rng, cards)) for r in routes]
        dests = [(r, d) for r, d in dests if d]
        if not dests:
            continue
        origins = []
        for entry in ips.get(c.id, ()):
            reach = tuple(i for i, (r, _) in enumerate(dests)  # the entry's tech: its routes
                          if not entry.tech_prefix or entry.tech_prefix == r.tech_prefix)
            if reach:
                for host in _hosts(entry.network):
                    origins.append(Origin(host, None, bool(entry.tech_prefix),
                                          "0" * entry.strip_digits, reach))
        first_ip = origins[0].source_ip if origins else "192.0.2.1"
        for user in users.get(c.id, ()):
            nets = user.ip_whitelist
            origins.append(Origin(_hosts(nets[0])[0] if nets else first_ip, user.username,
                                  False, "", tuple(range(len(dests)))))
        if not origins:
            continue
        codes = tuple(sorted({d.prefix[:2] for _, ds in dests for d in ds}))
        out.append(Caller(c.id, c.name, weight, mix, tuple(origins), tuple(dests), codes))
    if not out:
        raise TrafficError("no active customer has an ingress route with rates and an "
                           "ingress IP-auth entry or SIP user to call from")
    return out


def number(rng: random.Random, origin: Origin, route: RouteS, dest: Destination) -> str:
    """The number as the customer's equipment sends it."""
    tech = "" if origin.entry_tech else route.tech_prefix  # the entry strips, then adds
    return origin.strip + tech + dest.prefix + digits(rng, dest.length - len(dest.prefix))


def cli(rng: random.Random, caller: Caller) -> str:
    code = caller.cli_codes[int(rng.random() * len(caller.cli_codes))]
    return code + digits(rng, 9)
