"""The demo's routing showcase: three demo customers get the engine's features, and a few
simulated calls in their Latest Calls show each of them at work.

- "strategy" customer: strategy rows (`* lcr`, a priority row for its main destination,
  `53 drop` for Cuba), one provider card excluded, the routing script "Premium guard"
  (rejects UK personal numbers, prefers Meridian for North America).
- "margin" customer: capped rate 0.25, provider cap 0.20, profit assurance, cards locked to
  two, a weighted strategy, and a forced CLI rule that sets the CLI and P-Asserted-ID.
- "cli" customer: a CLI whitelist that rewrites national CLIs to E.164 (with PAID).

The seeder's customers were built for traffic, not for this; the showcase picks plain ones
(active, one route, no dial-plan limits, no CLI rules, no live calls) and sets what it needs
explicitly, so the simulations come out the same for every seed. The stored simulations
get seeded call ids, keeping the demo deterministic.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from connex_tui.data import config_state, seed_rows
from connex_tui.data.access import SYSTEM
from connex_tui.data.calls import CallsService
from connex_tui.data.db import Database
from connex_tui.engine.snapshot import CallInput

if TYPE_CHECKING:
    from connex_tui.feeds.demo.catalogue import Catalogue
    from connex_tui.feeds.demo.customers import Cust

SCRIPT_NAME = "Premium guard"
SCRIPT_BODY = """\
# Ranges this route's customers may not call, and a preferred carrier for North America.
- match: {number: '^4470'}
  reject: "403 UK personal numbers not allowed"
- match: {number: '^1'}
  prefer_provider: Meridian Carrier Services"""  # as the script validator stores it
DROP_PREFIX = "53"  # Cuba: costly, and the strategy drops it


@dataclass(frozen=True)
class ShowcaseCall:
    customer_id: int
    call: CallInput


class _Numbers:
    def __init__(self, cat: Catalogue, rng: random.Random):
        self.cat, self.rng = cat, rng

    def digits(self, n: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(n))

    def national(self, region: str) -> str:
        """A number of the region's fixed or mobile range (E.164 digits)."""
        gens = [g for g in self.cat.gens if g.region == region and g.kind != "other"]
        g = gens[0] if gens else next(g for g in self.cat.gens if g.region == region)
        return g.prefix + self.digits(g.length - len(g.prefix))

    def prefixed(self, prefix: str, length: int) -> str:
        return prefix + self.digits(length - len(prefix))


async def write_showcase(s: seed_rows.Session, cat: Catalogue, pool: list[Cust], now: datetime,
                         seed: int) -> list[ShowcaseCall]:
    """Configure up to three customers of `pool` (in the caller's transaction); returns the
    calls to simulate once it is committed."""
    busy = await seed_rows.customers_with_live_calls(s)
    available = await seed_rows.available_credit(s, [c.id for c in pool])
    plain = [c for c in pool
             if c.status == "active" and c.archived_at is None and not c.flags.shared
             and c.auth and len(c.routes) == 1 and not c.dial_regions and not c.cli_rules
             and c.id not in busy and available.get(c.id, 0) > 20
             and len(cat.provider_cards(c.currency)) >= 3]
    rng = random.Random(f"{seed}:showcase")
    nums = _Numbers(cat, rng)
    changed = now - timedelta(days=1)
    calls: list[ShowcaseCall] = []
    script_id = None
    if plain:
        script_id = await seed_rows.add_script(s, SCRIPT_NAME, SCRIPT_BODY, changed)
    makers = (_strategy_customer, _margin_customer, _cli_customer)
    for c, make in zip(plain, makers, strict=False):
        route = c.routes[0]
        await seed_rows.edit_route(
            s, route.id, changed, capped_rate=None, provider_capped_rate=None,
            profit_assurance=False, block_connect_cost=False, script_id=None, channels=0,
            flow_speed=0)
        await seed_rows.set_route_strategies(s, route.id, [])
        cards = cat.provider_cards(c.currency)
        cli = nums.national(c.home)
        for call in await make(s, c, route.id, cards, cat, nums, cli, script_id, changed):
            calls.append(ShowcaseCall(c.id, CallInput(
                route.tech_prefix + call[0], call[1], c.src_ips[0], switch_ip="198.51.100.10")))
    if plain:
        await config_state.bump(s)
    minutes = len(calls)
    return [ShowcaseCall(sc.customer_id, CallInput(
        sc.call.number, sc.call.cli, sc.call.source_ip,
        at=now - timedelta(minutes=minutes - i, seconds=rng.randint(0, 59)),
        switch_ip=sc.call.switch_ip)) for i, sc in enumerate(calls)]


async def _strategies(s: seed_rows.Session, route_id: int, rows) -> None:
    await seed_rows.set_route_strategies(s, route_id, [
        {"prefix": prefix, "mode": mode, "cards": json.dumps(
            [{"card": card.id, "priority": p, "weight": w} for card, p, w in cards])}
        for prefix, mode, cards in rows])


async def _filters(s: seed_rows.Session, route_id: int, kind: str, cards) -> None:
    await seed_rows.add_route_card_filters(s, route_id, kind, [card.id for card in cards])


def _main_region(c: Cust, allowed: tuple[str, ...] = ("GB", "DE", "IN", "US")) -> str:
    """The customer's main destination among cheap regions every provider carries (so caps
    and locked cards leave a provider to show)."""
    return next((r for r in c.focus if r in allowed), allowed[0])


async def _strategy_customer(s, c, route_id, cards, cat, nums, cli, script_id, changed):
    region = _main_region(c, ("GB", "DE", "IN"))  # US calls show the script
    await seed_rows.edit_route(s, route_id, changed, script_id=script_id)
    await _strategies(s, route_id, [
        ("", "lcr", ()),
        (cat.cc[region], "priority", ((cards[1], 1, 1), (cards[0], 2, 1))),
        (DROP_PREFIX, "drop", ())])
    await _filters(s, route_id, "exclude", cards[-1:])
    return [(nums.national(region), cli),  # priority row
            (nums.prefixed("4470", 12), cli),  # the script rejects it
            (nums.national("CU"), cli),  # the strategy drops it
            (nums.national("US"), cli)]  # the script prefers Meridian


async def _margin_customer(s, c, route_id, cards, cat, nums, cli, script_id, changed):
    await seed_rows.edit_route(s, route_id, changed, capped_rate=Decimal("0.25"),
                               provider_capped_rate=Decimal("0.20"), profit_assurance=True)
    await _strategies(s, route_id, [("", "weighted", ((cards[0], 1, 70), (cards[1], 2, 30)))])
    await _filters(s, route_id, "lock", cards[:2])
    company = nums.national(c.home)
    await seed_rows.add_cli_rules(s, [{
        "customer_id": c.id, "cli": "", "rewrite_cli": company, "p_asserted_id": company,
        "forced": True, "position": 0, "version": 1, "created_at": changed,
        "updated_at": changed}])
    return [(nums.national(_main_region(c)), "anonymous"),  # forced CLI, weighted order
            (nums.national("CU"), cli)]  # above the capped rate


async def _cli_customer(s, c, route_id, cards, cat, nums, cli, script_id, changed):
    cc = cat.cc[c.home]
    await seed_rows.add_cli_rules(s, [
        {"customer_id": c.id, "cli": r"^0(\d{9,10})$", "rewrite_cli": cc + r"\1",
         "p_asserted_id": cc + r"\1", "forced": False, "position": 0, "version": 1,
         "created_at": changed, "updated_at": changed},
        {"customer_id": c.id, "cli": rf"^{cc}\d{{6,12}}$", "rewrite_cli": "",
         "p_asserted_id": "", "forced": False, "position": 1, "version": 1,
         "created_at": changed, "updated_at": changed}])
    region = _main_region(c)
    return [(nums.national(region), "0" + nums.digits(10)),  # national CLI rewritten
            (nums.national(region), "anonymous")]  # not on the whitelist


async def simulate_showcase(db: Database, calls: list[ShowcaseCall], now: datetime,
                            seed: int) -> int:
    """Run and store the showcase calls (SIM-… entries with seeded ids); returns how many."""
    rng = random.Random(f"{seed}:sim-ids")
    service = CallsService(db, SYSTEM, lambda: now, call_ids=lambda at: (
        f"SIM-{at:%Y%m%d%H%M%S}-{rng.getrandbits(24):06x}"))
    for sc in calls:
        await service.simulate(sc.call)
    return len(calls)
