"""Rate cards and their rows (docs/domain.md §3): reads and validated writes.

Every write bumps the configuration generation; a change to a card's rows also bumps that
card's version and updated_at, which is how the snapshot cache knows to reload its index.
The module functions taking a session hold the rules (references, fixed fields, when a
card may go); RatesService and `config apply` both call them inside their transactions.
Providers are in data/providers.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, false, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import audit
from connex_tui.data.access import Actor, NotFound, StaleError
from connex_tui.data.config_write import (
    ConfigWrites,
    changed,
    check_unique,
    get_or_404,
    moment_text,
    plain_decimal,
    snapshot_of,
)
from connex_tui.data.db import Database
from connex_tui.data.models import (
    IngressRoute,
    Provider,
    RateCard,
    RateCardParent,
    RateRow,
    RouteCardFilter,
    RouteStrategy,
)
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.routing_validation import (
    RateCardInput,
    RateRowInput,
    validate_rate_card,
    validate_rate_row,
)
from connex_tui.engine.validation import ValidationError

CARD_FIELDS = ("name", "currency", "direction", "precision", "rounding", "provider_id")
ROW_FIELDS = ("prefix", "destination", "rate", "connect_fee", "mcd", "pulse", "blocked",
              "effective_from")

@dataclass(frozen=True, slots=True)
class RateCardRow:
    id: int
    version: int
    name: str
    currency: str
    direction: str
    precision: int
    rounding: str
    provider_id: int | None
    provider: str
    parents: tuple[str, ...]
    rows: int

    def form_values(self) -> dict[str, str | bool]:
        return {"name": self.name, "currency": self.currency, "direction": self.direction,
                "precision": str(self.precision), "rounding": self.rounding,
                "provider": self.provider, "parents": "\n".join(self.parents)}


@dataclass(frozen=True, slots=True)
class RateRowView:
    id: int
    prefix: str
    destination: str
    rate: Decimal
    connect_fee: Decimal
    mcd: int
    pulse: int
    blocked: bool
    effective_from: datetime | None

    @property
    def increment(self) -> str:
        return f"{self.mcd}/{self.pulse}"

    def form_values(self) -> dict[str, str | bool]:
        return {"prefix": self.prefix, "destination": self.destination,
                "rate": plain_decimal(self.rate), "connect_fee": plain_decimal(self.connect_fee),
                "increment": self.increment, "blocked": self.blocked,
                "effective_from": moment_text(self.effective_from)}


def _prefix_range(stmt, prefix: str):
    """Rows whose prefix starts with the typed digits, as a range the (card_id, prefix)
    index serves on both backends (SQLite's LIKE skips the index). The upper bound is the
    next digit string ('449' -> '45'), which sorts right under any collation, unlike a
    punctuation sentinel. Stored prefixes are digits only, so other input matches none."""
    prefix = prefix.strip().removeprefix("+")
    if not prefix:
        return stmt
    if not prefix.isascii() or not prefix.isdigit():
        return stmt.where(false())
    stmt = stmt.where(RateRow.prefix >= prefix)
    head = prefix.rstrip("9")
    if head:  # all 9s ('99') has no upper bound
        stmt = stmt.where(RateRow.prefix < head[:-1] + str(int(head[-1]) + 1))
    return stmt


async def card_rows(s: AsyncSession, *, direction: str | None = None,
                    card_id: int | None = None, name: str | None = None,
                    counts: bool = True) -> list[RateCardRow]:
    """Cards (with provider name, parent names and row counts) in name order, in the
    caller's session: the service's reads and the config export share it. `counts=False`
    skips counting rows (rows = 0): counting a 1,000,000-row card takes tens of ms."""
    stmt = (select(RateCard, Provider.name).outerjoin(Provider,
                                                     Provider.id == RateCard.provider_id)
            .order_by(func.lower(RateCard.name)))
    if direction is not None:
        stmt = stmt.where(RateCard.direction == direction)
    if card_id is not None:
        stmt = stmt.where(RateCard.id == card_id)
    if name is not None:
        stmt = stmt.where(func.lower(RateCard.name) == name.lower())
    found = (await s.execute(stmt)).all()
    ids = [c.id for c, _ in found]
    if not ids:
        return []
    rows = dict((await s.execute(
        select(RateRow.card_id, func.count()).where(RateRow.card_id.in_(ids))
        .group_by(RateRow.card_id))).all()) if counts else {}
    parent = RateCard.__table__.alias("parent")
    parents: dict[int, list[str]] = {}
    for cid, pname in await s.execute(
            select(RateCardParent.customer_card_id, parent.c.name)
            .join(parent, parent.c.id == RateCardParent.provider_card_id)
            .where(RateCardParent.customer_card_id.in_(ids))
            .order_by(func.lower(parent.c.name))):
        parents.setdefault(cid, []).append(pname)
    return [RateCardRow(c.id, c.version, c.name, c.currency, c.direction, c.precision,
                        c.rounding, c.provider_id, pname or "",
                        tuple(parents.get(c.id, ())), int(rows.get(c.id, 0)))
            for c, pname in found]


def check_card_change(current: RateCard, data: RateCardInput) -> None:
    """Currency and direction decide which routes, parents and CDRs fit the card: changing
    them would silently break those links."""
    if data.currency != current.currency:
        raise ValidationError({"currency": f"cannot change after creation (the card is in "
                                           f"{current.currency})"})
    if data.direction != current.direction:
        raise ValidationError({"direction": f"cannot change after creation ('{current.name}' "
                                            f"is a {current.direction} card)"})


async def resolve_card(s: AsyncSession, data: RateCardInput,
                       own_id: int | None) -> tuple[int | None, list[int]]:
    """Provider id and parent-card ids of validated input; field errors for unknown or
    unfit names."""
    errors: dict[str, str] = {}
    provider_id = None
    if data.provider:
        provider_id = await s.scalar(select(Provider.id).where(
            func.lower(Provider.name) == data.provider.lower()))
        if provider_id is None:
            errors["provider"] = f"no provider named '{data.provider}'"
    parent_ids: list[int] = []
    for pname in data.parents:
        p = (await s.execute(select(RateCard.id, RateCard.direction, RateCard.currency)
                             .where(func.lower(RateCard.name) == pname.lower()))).first()
        if p is None or p.direction != "provider":
            errors.setdefault("parents", f"no provider rate card named '{pname}'")
        elif p.currency != data.currency:
            errors.setdefault("parents", f"'{pname}' is in {p.currency}, not "
                                         f"{data.currency}")
        elif p.id not in parent_ids:
            parent_ids.append(p.id)
    try:
        await check_unique(s, RateCard.name, data.name, own_id, field="name",
                           message="a rate card with this name already exists")
    except ValidationError as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    return provider_id, parent_ids


def card_values(data: RateCardInput, provider_id: int | None) -> dict:
    """The rate_cards columns of validated input."""
    return {"name": data.name, "currency": data.currency, "direction": data.direction,
            "precision": data.precision, "rounding": data.rounding, "provider_id": provider_id}


async def set_parents(s: AsyncSession, card_id: int, parent_ids: list[int]) -> None:
    await s.execute(delete(RateCardParent).where(RateCardParent.customer_card_id == card_id))
    if parent_ids:
        await s.execute(insert(RateCardParent), [
            {"customer_card_id": card_id, "provider_card_id": p} for p in parent_ids])


async def parent_names(s: AsyncSession, card_id: int) -> list[str]:
    return list(await s.scalars(
        select(RateCard.name).join(RateCardParent, RateCardParent.provider_card_id == RateCard.id)
        .where(RateCardParent.customer_card_id == card_id).order_by(RateCard.name)))


async def card_usage(s: AsyncSession, card_id: int) -> int:
    """How many routes use the card: as their rate card, lock/exclude card, or in a
    strategy row (JSON, matched by id)."""
    route_ids = set(await s.scalars(select(IngressRoute.id)
                                    .where(IngressRoute.rate_card_id == card_id)))
    route_ids |= set(await s.scalars(select(RouteCardFilter.route_id)
                                     .where(RouteCardFilter.card_id == card_id)))
    for route_id, cards in await s.execute(select(RouteStrategy.route_id, RouteStrategy.cards)
                                            .where(RouteStrategy.cards != "[]")):
        if any(c.get("card") == card_id for c in json.loads(cards or "[]")):
            route_ids.add(route_id)
    return len(route_ids)


async def card_in_use(s: AsyncSession, card_id: int) -> str | None:
    """Why the card may not be deleted, or None. A route left without its card (or its
    lock card) would send traffic anywhere; a customer card whose parent vanished would
    silently lose that provider (the link goes with the card)."""
    used = await card_usage(s, card_id)
    if used:
        return f"used by {used} route{'s' * (used != 1)}"
    children = list(await s.scalars(
        select(RateCard.name).join(RateCardParent,
                                   RateCardParent.customer_card_id == RateCard.id)
        .where(RateCardParent.provider_card_id == card_id).order_by(func.lower(RateCard.name))))
    if children:
        n = len(children)
        return f"a parent of {n} customer card{'s' * (n != 1)} ({', '.join(children)})"
    return None


async def remove_card(s: AsyncSession, card_id: int) -> None:
    """Delete a card and its rows; ValidationError({"name": why}) while it is in use."""
    reason = await card_in_use(s, card_id)
    if reason:
        raise ValidationError({"name": reason})
    await s.execute(delete(RateRow).where(RateRow.card_id == card_id))
    await s.execute(delete(RateCard).where(RateCard.id == card_id))


async def touch_card(s: AsyncSession, card_id: int, now: datetime) -> None:
    """The card's rows changed: a new version makes snapshot caches reload its index."""
    await s.execute(update(RateCard).where(RateCard.id == card_id)
                    .values(version=RateCard.version + 1, updated_at=now)
                    .execution_options(synchronize_session=False))


async def cards_by_name(s: AsyncSession) -> dict[str, RateCard]:
    """Every card by lower-case name (names are unique across both directions)."""
    return {c.name.lower(): c for c in await s.scalars(select(RateCard).order_by(RateCard.id))}


async def add_card(w: ConfigWrites, data: RateCardInput, provider_id: int | None,
                   parent_ids: list[int]) -> int:
    """A card from validated input resolved by resolve_card."""
    values = card_values(data, provider_id)
    card_id = await w.insert(RateCard, values)
    await set_parents(w.s, card_id, parent_ids)
    await w.audit("create", "rate_cards", card_id, None,
                  {**values, "parents": sorted(data.parents, key=str.lower)})
    return card_id


async def change_card(w: ConfigWrites, current: RateCard, data: RateCardInput,
                      provider_id: int | None, parent_ids: list[int]) -> None:
    """Write `data` over `current` (as read); check_card_change first."""
    before = {**snapshot_of(current, CARD_FIELDS),
              "parents": await parent_names(w.s, current.id)}
    values = card_values(data, provider_id)
    await w.update(RateCard, current, values, "rate card")
    await set_parents(w.s, current.id, parent_ids)
    await w.audit("update", "rate_cards", current.id, before,
                  {**values, "parents": sorted(data.parents, key=str.lower)})


async def drop_card(w: ConfigWrites, current: RateCard) -> None:
    """Delete a card and its rows; ValidationError({"name": why}) while it is in use."""
    w.actor.require("delete")
    before = snapshot_of(current, CARD_FIELDS)
    await remove_card(w.s, current.id)
    await w.audit("delete", "rate_cards", current.id, before, None)


async def rows_replaced(w: ConfigWrites, card_id: int, before: dict, after: dict) -> None:
    """A card's rows were rewritten in bulk (import, apply): one audit row of counts."""
    await touch_card(w.s, card_id, w.now)
    await w.audit("import", "rate_cards", card_id, before, after)


class RatesService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    # -- cards: reading -------------------------------------------------------------------
    async def cards(self, direction: str | None = None) -> list[RateCardRow]:
        async with self.db.sessions() as s:
            return await card_rows(s, direction=direction)

    async def card(self, card_id: int, *, counts: bool = True) -> RateCardRow:
        async with self.db.sessions() as s:
            found = await card_rows(s, card_id=card_id, counts=counts)
        if not found:
            raise NotFound(f"rate card {card_id} not found")
        return found[0]

    async def card_by_name(self, name: str) -> RateCardRow:
        async with self.db.sessions() as s:
            found = await card_rows(s, name=name)
        if not found:
            raise NotFound(f"no rate card named {name!r}")
        return found[0]

    # -- cards: writing -------------------------------------------------------------------
    async def create_card(self, raw: dict) -> int:
        self.actor.require("write")
        data = validate_rate_card(raw)
        async with self.db.sessions() as s, s.begin():
            provider_id, parent_ids = await resolve_card(s, data, None)
            w = ConfigWrites(s, self.actor, self.clock())
            card_id = await add_card(w, data, provider_id, parent_ids)
            await w.finish()
        return card_id

    async def update_card(self, card_id: int, version: int, raw: dict) -> None:
        self.actor.require("write")
        data = validate_rate_card(raw)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, RateCard, card_id, "rate card")
            if current.version != version:
                raise StaleError("rate card")
            check_card_change(current, data)
            provider_id, parent_ids = await resolve_card(s, data, card_id)
            w = ConfigWrites(s, self.actor, self.clock())
            await change_card(w, current, data, provider_id, parent_ids)
            await w.finish()

    async def delete_card(self, card_id: int) -> None:
        """Refused while any route uses the card (rate card, lock/exclude, strategy) or it
        is a parent of a customer card (see card_in_use)."""
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            w = ConfigWrites(s, self.actor, self.clock())
            await drop_card(w, await get_or_404(s, RateCard, card_id, "rate card"))
            await w.finish()

    # -- rows -----------------------------------------------------------------------------
    async def rows(self, card_id: int, prefix: str = "", limit: int = 200,
                   after: str | None = None) -> list[RateRowView]:
        """Rows in prefix order (then effective_from, undated first). `after` is the last
        prefix shown: the next page starts past it. A page never splits one prefix's
        dated rows, so keyset paging by prefix loses none."""
        stmt = _prefix_range(select(RateRow).where(RateRow.card_id == card_id), prefix)
        if after is not None:
            stmt = stmt.where(RateRow.prefix > after)
        order = (RateRow.prefix, RateRow.effective_from.asc().nulls_first(), RateRow.id)
        async with self.db.sessions() as s:
            found = list((await s.scalars(stmt.order_by(*order).limit(limit))).all())
            if len(found) == limit and found:
                last = found[-1]
                found += (await s.scalars(
                    select(RateRow).where(RateRow.card_id == card_id,
                                          RateRow.prefix == last.prefix,
                                          RateRow.id.not_in([r.id for r in found
                                                             if r.prefix == last.prefix]))
                    .order_by(*order))).all()
        return [_row_view(r) for r in found]

    async def count_rows(self, card_id: int, prefix: str = "") -> int:
        stmt = _prefix_range(select(func.count()).select_from(RateRow)
                             .where(RateRow.card_id == card_id), prefix)
        async with self.db.sessions() as s:
            return int(await s.scalar(stmt) or 0)

    async def _check_row_key(self, s: AsyncSession, card_id: int, data: RateRowInput,
                             own_id: int | None) -> None:
        """(prefix, effective_from) is a row's key in its card, as the importers use it."""
        same_time = (RateRow.effective_from.is_(None) if data.effective_from is None
                     else RateRow.effective_from == data.effective_from)
        stmt = select(RateRow.id).where(RateRow.card_id == card_id,
                                        RateRow.prefix == data.prefix, same_time)
        if own_id is not None:
            stmt = stmt.where(RateRow.id != own_id)
        if await s.scalar(stmt.limit(1)) is not None:
            when = moment_text(data.effective_from) or "without a start date"
            if data.effective_from is not None:
                when = f"from {when}"
            raise ValidationError({"prefix": f"the card already has {data.prefix} {when}"})

    def _row_values(self, data: RateRowInput) -> dict:
        return {f: getattr(data, f) for f in ROW_FIELDS}

    async def add_row(self, card_id: int, raw: dict) -> int:
        self.actor.require("write")
        data = validate_rate_row(raw)
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            await get_or_404(s, RateCard, card_id, "rate card")
            await self._check_row_key(s, card_id, data, None)
            values = self._row_values(data)
            row_id = await s.scalar(insert(RateRow).values(card_id=card_id, **values)
                                    .returning(RateRow.id))
            await self._row_written(s, card_id, row_id, "create", None, values, now)
        return row_id

    async def update_row(self, row_id: int, raw: dict) -> None:
        self.actor.require("write")
        data = validate_rate_row(raw)
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, RateRow, row_id, "rate row")
            await self._check_row_key(s, current.card_id, data, row_id)
            before = snapshot_of(current, ROW_FIELDS)
            values = self._row_values(data)
            await s.execute(update(RateRow).where(RateRow.id == row_id).values(**values)
                            .execution_options(synchronize_session=False))
            await self._row_written(s, current.card_id, row_id, "update", before, values, now)

    async def delete_row(self, row_id: int) -> None:
        self.actor.require("delete")
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, RateRow, row_id, "rate row")
            before = snapshot_of(current, ROW_FIELDS)
            await s.execute(delete(RateRow).where(RateRow.id == row_id))
            await self._row_written(s, current.card_id, row_id, "delete", before, None, now)

    async def _row_written(self, s: AsyncSession, card_id: int, row_id: int, action: str,
                           before: dict | None, after: dict | None, now: datetime) -> None:
        await touch_card(s, card_id, now)
        keyed = {"card_id": card_id}  # which card, in the audit row of any action
        await audit.record(s, self.actor, action, "rate_rows", row_id, customer_id=None,
                           before=before and {**before, **keyed},
                           after=after and {**after, **keyed}, at=now)
        await changed(s)


def _row_view(r: RateRow) -> RateRowView:
    return RateRowView(r.id, r.prefix, r.destination, r.rate, r.connect_fee, r.mcd, r.pulse,
                       r.blocked, r.effective_from)
