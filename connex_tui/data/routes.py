"""A customer's ingress routes (docs/domain.md §4); CLI rules and scripts are in
data/cli_rules.py and data/scripts.py.

A route's strategy rows (route_strategies, cards as JSON by provider-card id) and card
filters (route_card_filters, lock/exclude) are written with the route in one transaction;
RouteRow gives them back as the text a form edits (names, not ids). The module functions
taking a session hold the rules; RoutesService and `config apply` both call them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.access import Actor, NotFound, StaleError
from connex_tui.data.auth import tech_prefix_clash
from connex_tui.data.config_write import (
    ConfigWrites,
    check_slow_regexes,
    get_or_404,
    next_position,
    plain_decimal,
)
from connex_tui.data.db import Database
from connex_tui.data.models import (
    Customer,
    IngressRoute,
    RateCard,
    RouteCardFilter,
    RouteStrategy,
    RoutingScript,
)
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.route_fields import (
    StrategyCardInput,
    StrategyInput,
    format_strategy,
)
from connex_tui.engine.routing_validation import RouteInput, validate_route
from connex_tui.engine.validation import ValidationError

ROUTE_COLUMNS = ("tech_prefix", "dial_string", "capped_rate", "provider_capped_rate",
                 "profit_assurance", "block_connect_cost", "channels", "flow_speed",
                 "max_duration", "rtp_media_proxy", "rtp_proxy_mode", "enabled")


@dataclass(frozen=True, slots=True)
class RouteRow:
    id: int
    version: int
    customer_id: int
    rate_card_id: int
    rate_card: str
    tech_prefix: str
    dial_string: str
    capped_rate: Decimal | None
    provider_capped_rate: Decimal | None
    profit_assurance: bool
    block_connect_cost: bool
    channels: int
    flow_speed: int
    max_duration: int
    lock_cards: tuple[str, ...]
    exclude_cards: tuple[str, ...]
    strategy: str
    script: str
    rtp_media_proxy: str
    rtp_proxy_mode: str
    enabled: bool
    position: int

    def form_values(self) -> dict[str, str | bool]:
        return {
            "rate_card": self.rate_card, "tech_prefix": self.tech_prefix,
            "dial_string": self.dial_string, "capped_rate": plain_decimal(self.capped_rate),
            "provider_capped_rate": plain_decimal(self.provider_capped_rate),
            "profit_assurance": self.profit_assurance,
            "block_connect_cost": self.block_connect_cost, "channels": str(self.channels),
            "flow_speed": str(self.flow_speed), "max_duration": str(self.max_duration),
            "lock_cards": "\n".join(self.lock_cards),
            "exclude_cards": "\n".join(self.exclude_cards), "strategy": self.strategy,
            "script": self.script, "rtp_media_proxy": self.rtp_media_proxy,
            "rtp_proxy_mode": self.rtp_proxy_mode, "enabled": self.enabled}


@dataclass(frozen=True, slots=True)
class ResolvedRoute:
    """A validated route with its names turned into ids."""

    card_id: int
    script_id: int | None
    locks: tuple[int, ...]
    excludes: tuple[int, ...]
    strategies: tuple[tuple[str, str, str], ...]  # (prefix, mode, cards JSON)


async def route_rows(s: AsyncSession, where) -> list[RouteRow]:
    """Routes matching `where` (position order) as forms show them: card, filter, strategy
    and script names, not ids. The service's reads and the config export/apply share it."""
    routes = list((await s.scalars(select(IngressRoute).where(where).order_by(
        IngressRoute.position, IngressRoute.id))).all())
    if not routes:
        return []
    ids = [r.id for r in routes]
    card_names = dict((await s.execute(select(RateCard.id, RateCard.name))).all())
    script_names = dict((await s.execute(select(RoutingScript.id,
                                                RoutingScript.name))).all())
    filters: dict[tuple[int, str], list[str]] = {}
    for rid, card_id, kind in await s.execute(
            select(RouteCardFilter.route_id, RouteCardFilter.card_id, RouteCardFilter.kind)
            .where(RouteCardFilter.route_id.in_(ids))):
        filters.setdefault((rid, kind), []).append(card_names.get(card_id, f"#{card_id}"))
    strategies: dict[int, list[StrategyInput]] = {}
    for st in await s.scalars(select(RouteStrategy).where(RouteStrategy.route_id.in_(ids))
                              .order_by(RouteStrategy.id)):
        cards = tuple(StrategyCardInput(card_names.get(c["card"], f"#{c['card']}"),
                                        c.get("priority", 1), c.get("weight", 1))
                      for c in json.loads(st.cards or "[]"))
        strategies.setdefault(st.route_id, []).append(StrategyInput(st.prefix, st.mode,
                                                                    cards))

    def names(rid: int, kind: str) -> tuple[str, ...]:
        return tuple(sorted(filters.get((rid, kind), ()), key=str.lower))

    return [RouteRow(
        r.id, r.version, r.customer_id, r.rate_card_id, card_names.get(r.rate_card_id, ""),
        r.tech_prefix, r.dial_string, r.capped_rate, r.provider_capped_rate,
        r.profit_assurance, r.block_connect_cost, r.channels, r.flow_speed, r.max_duration,
        names(r.id, "lock"), names(r.id, "exclude"),
        format_strategy(strategies.get(r.id, ())),
        script_names.get(r.script_id, "") if r.script_id else "", r.rtp_media_proxy,
        r.rtp_proxy_mode, r.enabled, r.position) for r in routes]


async def resolve_route(s: AsyncSession, customer: Customer, data: RouteInput,
                        own_id: int | None) -> ResolvedRoute:
    """Card and script names to ids; every unknown or unfit name as a field error."""
    errors: dict[str, str] = {}
    cards = {name.lower(): (cid, direction, currency) for cid, name, direction, currency
             in await s.execute(select(RateCard.id, RateCard.name, RateCard.direction,
                                       RateCard.currency))}
    card_id = 0
    found = cards.get(data.rate_card.lower())
    if found is None or found[1] != "customer":
        errors["rate_card"] = f"no customer rate card named '{data.rate_card}'"
    elif found[2] != customer.currency:
        errors["rate_card"] = (f"'{data.rate_card}' is in {found[2]}; {customer.name} "
                               f"is billed in {customer.currency}")
    else:
        card_id = found[0]

    def provider_card(name: str) -> int | None:
        hit = cards.get(name.lower())
        return hit[0] if hit is not None and hit[1] == "provider" else None

    filter_ids: dict[str, tuple[int, ...]] = {}
    for field in ("lock_cards", "exclude_cards"):
        ids = []
        for name in getattr(data, field):
            cid = provider_card(name)
            if cid is None:
                errors.setdefault(field, f"no provider rate card named '{name}'")
            elif cid not in ids:
                ids.append(cid)
        filter_ids[field] = tuple(ids)
    strategies = []
    for n, row in enumerate(data.strategy, 1):
        items = []
        for c in row.cards:
            cid = provider_card(c.card)
            if cid is None:
                errors.setdefault("strategy",
                                  f"line {n}: no provider rate card named '{c.card}'")
            items.append({"card": cid, "priority": c.priority, "weight": c.weight})
        strategies.append((row.prefix, row.mode, json.dumps(items)))
    script_id = None
    if data.script:
        script_id = await s.scalar(select(RoutingScript.id).where(
            func.lower(RoutingScript.name) == data.script.lower()))
        if script_id is None:
            errors["script"] = f"no routing script named '{data.script}'"
    clash = (await _same_prefix(s, customer.id, data, own_id)
             or await tech_prefix_clash(s, customer.id, data.tech_prefix))
    if clash:
        errors.setdefault("tech_prefix", clash)
    if errors:
        raise ValidationError(errors)
    return ResolvedRoute(card_id, script_id, filter_ids["lock_cards"],
                         filter_ids["exclude_cards"], tuple(strategies))


async def _same_prefix(s: AsyncSession, customer_id: int, data: RouteInput,
                       own_id: int | None) -> str | None:
    """Routes may share a tech prefix (tried in order, the first whose dial string
    matches wins) but not with the same dial string: the second could never match."""
    stmt = select(IngressRoute.dial_string).where(
        IngressRoute.customer_id == customer_id, IngressRoute.tech_prefix == data.tech_prefix)
    if own_id is not None:
        stmt = stmt.where(IngressRoute.id != own_id)
    for dial in await s.scalars(stmt):
        if dial == data.dial_string:
            prefix = f"tech prefix {data.tech_prefix}" if data.tech_prefix else \
                "no tech prefix"
            what = "the same dial string" if dial else "an empty dial string"
            return f"another route has {prefix} and {what}"
    return None


def route_values(data: RouteInput, res: ResolvedRoute) -> dict:
    """The ingress_routes columns of a validated, resolved route (position aside)."""
    return {**{k: getattr(data, k) for k in ROUTE_COLUMNS}, "rate_card_id": res.card_id,
            "script_id": res.script_id}


async def write_route_children(s: AsyncSession, route_id: int, res: ResolvedRoute) -> None:
    """Replace the route's card filters and strategy rows."""
    await s.execute(delete(RouteCardFilter).where(RouteCardFilter.route_id == route_id))
    await s.execute(delete(RouteStrategy).where(RouteStrategy.route_id == route_id))
    filters = [{"route_id": route_id, "card_id": c, "kind": kind}
               for kind, ids in (("lock", res.locks), ("exclude", res.excludes))
               for c in ids]
    if filters:
        await s.execute(insert(RouteCardFilter), filters)
    if res.strategies:
        await s.execute(insert(RouteStrategy), [
            {"route_id": route_id, "prefix": p, "mode": m, "cards": c}
            for p, m, c in res.strategies])


async def routes_of(s: AsyncSession, customer_ids: list[int]) -> dict[int, list[RouteRow]]:
    """The customers' routes in position order, by customer."""
    out: dict[int, list[RouteRow]] = {}
    for chunk in (customer_ids[i:i + 500] for i in range(0, len(customer_ids), 500)):
        for r in await route_rows(s, IngressRoute.customer_id.in_(chunk)):
            out.setdefault(r.customer_id, []).append(r)
    return out


async def add_route(w: ConfigWrites, customer_id: int, data: RouteInput, res: ResolvedRoute,
                    position: int) -> int:
    """A route from validated input resolved by resolve_route, at `position`."""
    route_id = await w.insert(IngressRoute, {"customer_id": customer_id,
                                             **route_values(data, res), "position": position})
    await write_route_children(w.s, route_id, res)
    await w.audit("create", "ingress_routes", route_id, None,
                  _audit_values(data, format_strategy(data.strategy)) | {"position": position},
                  customer_id=customer_id)
    return route_id


async def change_route(w: ConfigWrites, current: RouteRow, data: RouteInput,
                       res: ResolvedRoute, position: int | None = None) -> None:
    """Write `data` over `current` (as read); the position stays unless given."""
    values = route_values(data, res)
    if position is not None:
        values["position"] = position
    await w.update(IngressRoute, current, values, "route")
    await write_route_children(w.s, current.id, res)
    await w.audit("update", "ingress_routes", current.id,
                  _audit_values(current, current.strategy) | {"position": current.position},
                  _audit_values(data, format_strategy(data.strategy))
                  | {"position": current.position if position is None else position},
                  customer_id=current.customer_id)


async def drop_route(w: ConfigWrites, current: RouteRow) -> None:
    """Delete; the other routes keep their order (positions are not renumbered)."""
    await w.delete(IngressRoute, current.id)
    await w.audit("delete", "ingress_routes", current.id,
                  _audit_values(current, current.strategy), None,
                  customer_id=current.customer_id)


class RoutesService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    # -- routes: reading ------------------------------------------------------------------
    async def routes(self, customer_id: int) -> list[RouteRow]:
        async with self.db.sessions() as s:
            return await route_rows(s, IngressRoute.customer_id == customer_id)

    async def route(self, route_id: int) -> RouteRow:
        async with self.db.sessions() as s:
            found = await route_rows(s, IngressRoute.id == route_id)
        if not found:
            raise NotFound(f"route {route_id} not found")
        return found[0]

    async def card_names(self, direction: str, currency: str | None = None) -> list[str]:
        """Names of the customer or provider rate cards (in `currency` if given), for
        select fields: no row counts, so a form opens at once even beside huge cards."""
        stmt = select(RateCard.name).where(RateCard.direction == direction)
        if currency is not None:
            stmt = stmt.where(RateCard.currency == currency)
        async with self.db.sessions() as s:
            return list(await s.scalars(stmt.order_by(func.lower(RateCard.name))))

    async def form_choices(self, currency: str) -> tuple[list[str], list[str], list[str]]:
        """What the route form offers, in one read: the customer cards in `currency`, the
        provider cards (both by name, as card_names gives them) and the script names (in
        name order). One session instead of three: the form opens sooner on a busy app."""
        async with self.db.sessions() as s:
            cards = (await s.execute(select(RateCard.name, RateCard.direction,
                                            RateCard.currency)
                                     .order_by(func.lower(RateCard.name)))).all()
            scripts = list(await s.scalars(select(RoutingScript.name)
                                           .order_by(func.lower(RoutingScript.name))))
        return ([n for n, d, c in cards if d == "customer" and c == currency],
                [n for n, d, _ in cards if d == "provider"], scripts)

    # -- routes: writing ------------------------------------------------------------------
    async def create_route(self, customer_id: int, raw: dict) -> int:
        self.actor.require("write")
        data = validate_route(raw)
        async with self.db.sessions() as s, s.begin():
            customer = await get_or_404(s, Customer, customer_id, "customer")
            res = await resolve_route(s, customer, data, None)
            await check_slow_regexes(s, customer_id, "dial_string",
                                     data.dial_string.splitlines())
            w = ConfigWrites(s, self.actor, self.clock())
            route_id = await add_route(w, customer_id, data, res,
                                       await next_position(s, IngressRoute, customer_id))
            await w.finish()
        return route_id

    async def update_route(self, route_id: int, version: int, raw: dict) -> None:
        self.actor.require("write")
        data = validate_route(raw)
        async with self.db.sessions() as s, s.begin():
            found = await route_rows(s, IngressRoute.id == route_id)
            if not found:
                raise NotFound(f"route {route_id} not found")
            if found[0].version != version:
                raise StaleError("route")
            customer = await get_or_404(s, Customer, found[0].customer_id, "customer")
            res = await resolve_route(s, customer, data, route_id)
            await check_slow_regexes(s, customer.id, "dial_string",
                                     data.dial_string.splitlines(), route_id=route_id)
            w = ConfigWrites(s, self.actor, self.clock())
            await change_route(w, found[0], data, res)
            await w.finish()

    async def delete_route(self, route_id: int) -> None:
        """Delete; the other routes keep their order (positions are not renumbered)."""
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            found = await route_rows(s, IngressRoute.id == route_id)
            if not found:
                raise NotFound(f"route {route_id} not found")
            w = ConfigWrites(s, self.actor, self.clock())
            await drop_route(w, found[0])
            await w.finish()


def _audit_values(src: RouteInput | RouteRow, strategy: str) -> dict:
    """A route as its audit row shows it: names, not ids; the strategy as text."""
    return {**{k: getattr(src, k) for k in ROUTE_COLUMNS}, "rate_card": src.rate_card,
            "script": src.script, "lock_cards": sorted(src.lock_cards, key=str.lower),
            "exclude_cards": sorted(src.exclude_cards, key=str.lower), "strategy": strategy}
