"""DIDs (docs/domain.md §11): a customer's numbers, the global number search, and the writes.

Every write is role-checked, audited (table `dids`, under the owning customer) and reindexes
the customers it touches (their search text holds their DIDs). DIDs are not part of the
routing engine's configuration, so a DID write does not bump the configuration generation.
Edits are optimistic-locked on `version`; assigning and unassigning are edits too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connex_tui.data.access import Actor, NotFound, StaleError
from connex_tui.data.config_write import ConfigWrites, get_or_404, snapshot_of
from connex_tui.data.customers import customers_named
from connex_tui.data.db import Database
from connex_tui.data.models import Customer, Did, RateCard
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.did_validation import (
    DESTINATION_FIELDS,
    DidInput,
    e164,
    ext_customer,
    margin,
    validate_did,
)
from connex_tui.engine.present import plain_decimal
from connex_tui.engine.validation import ValidationError

CARD_FIELDS = ("provider_card", "customer_card")  # names in the input, ids in the table
DID_FIELDS = tuple(f for f in DidInput.__dataclass_fields__ if f not in CARD_FIELDS)
DID_COLUMNS = (*DID_FIELDS, "provider_id", "provider_card_id", "customer_card_id")
PAGE = 50
NAMED_IDS = 500  # a name search matching more customers keeps the subquery
MAX_BULK = 10_000  # numbers in one `did add` (a file above it is refused unread)


@dataclass(frozen=True, slots=True)
class DidRow:
    id: int
    version: int
    number: str
    destination: str
    destination2: str
    destination3: str
    monthly_cost: Decimal
    monthly_retail: Decimal
    max_duration: int
    enabled: bool
    customer_id: int | None
    customer: str  # "" when unassigned
    currency: str  # the customer's ("" when unassigned): rent is charged in it
    archived: bool  # the customer is archived
    provider_card: str = ""  # names, "" for none
    customer_card: str = ""

    @property
    def margin(self) -> Decimal:
        return margin(self.monthly_cost, self.monthly_retail)

    def form_values(self) -> dict[str, str | bool]:
        return {"number": "+" + self.number, "destination": self.destination,
                "destination2": self.destination2, "destination3": self.destination3,
                "monthly_cost": plain_decimal(self.monthly_cost),
                "monthly_retail": plain_decimal(self.monthly_retail),
                "max_duration": str(self.max_duration), "enabled": self.enabled,
                "provider_card": self.provider_card, "customer_card": self.customer_card}


class BulkRefused(Exception):
    """`did add` found bad rows: one line each ("line 3: number: ..."); nothing written."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


_PCARD = aliased(RateCard, name="pcard")
_CCARD = aliased(RateCard, name="ccard")
_ROW_COLUMNS = (Did.id, Did.version, Did.number, Did.destination, Did.destination2,
                Did.destination3, Did.monthly_cost, Did.monthly_retail, Did.max_duration,
                Did.enabled, Did.customer_id, Customer.name, Customer.currency,
                Customer.archived_at, _PCARD.name, _CCARD.name)


def _rows_stmt():
    return (select(*_ROW_COLUMNS).outerjoin(Customer, Customer.id == Did.customer_id)
            .outerjoin(_PCARD, _PCARD.id == Did.provider_card_id)
            .outerjoin(_CCARD, _CCARD.id == Did.customer_card_id))


def _row(r) -> DidRow:
    return DidRow(*r[:11], r[11] or "", r[12] or "", r[13] is not None, r[14] or "",
                  r[15] or "")


def search_digits(query: str) -> str:
    """The digits an operator's number search means: "+44 20-79" -> "442079"."""
    q = query.strip()
    for junk in " -.()+":
        q = q.replace(junk, "")
    return q.removeprefix("00") if q.startswith("00") and len(q) > 2 else q


# -- session-level operations (the service wraps each in a role check and a transaction) --
async def check_number(s: AsyncSession, number: str, own_id: int | None) -> None:
    stmt = (select(Did.id, Customer.name).outerjoin(Customer, Customer.id == Did.customer_id)
            .where(Did.number == number))
    if own_id is not None:
        stmt = stmt.where(Did.id != own_id)
    found = (await s.execute(stmt.limit(1))).first()
    if found is not None:
        whose = f"of {found[1]}" if found[1] else "unassigned"
        raise ValidationError({"number": f"+{number} is already a DID ({whose})"})


async def check_extensions(s: AsyncSession, data: DidInput) -> None:
    """An `ext:CUSTOMER/1234` destination must name a customer of ours."""
    names = data.ext_customers()
    if not names:
        return
    known = await customers_named(s, names)
    for field in DESTINATION_FIELDS:
        value = getattr(data, field)
        if value.startswith("ext:") and ext_customer(value).lower() not in known:
            raise ValidationError({field: f"no customer named {ext_customer(value)}"})


async def card_ids(s: AsyncSession, data: DidInput) -> dict:
    """The table's provider_id, provider_card_id and customer_card_id of the input's card
    names: a provider card gives the DID its provider too."""
    out: dict = {"provider_id": None, "provider_card_id": None, "customer_card_id": None}
    for field, direction in (("provider_card", "provider"), ("customer_card", "customer")):
        name = getattr(data, field)
        if not name:
            continue
        card = (await s.execute(select(RateCard.id, RateCard.direction, RateCard.provider_id)
                                .where(func.lower(RateCard.name) == name.lower()))).first()
        if card is None:
            raise ValidationError({field: f"no rate card named {name}"})
        if card.direction != direction:
            raise ValidationError({field: f"{name} is a {card.direction} card, not a "
                                          f"{direction} card"})
        if direction == "provider":
            out["provider_id"], out["provider_card_id"] = card.provider_id, card.id
        else:
            out["customer_card_id"] = card.id
    return out


def did_values(data: DidInput, cards: dict) -> dict:
    """The table's columns of validated input and its card_ids."""
    values = asdict(data)
    for f in CARD_FIELDS:
        del values[f]
    return {**values, **cards}


async def add_did(w: ConfigWrites, data: DidInput, customer_id: int | None, *,
                  cards: dict | None = None) -> int:
    """`cards`: the card_ids of `data`, given when the number's uniqueness, the extensions
    and the cards were checked already (a bulk add)."""
    if cards is None:
        await check_number(w.s, data.number, None)
        await check_extensions(w.s, data)
        cards = await card_ids(w.s, data)
    values = {**did_values(data, cards), "customer_id": customer_id}
    did_id = await w.insert(Did, values)
    await w.audit("create", "dids", did_id, None, values, customer_id=customer_id,
                  routing=False)
    return did_id


async def change_did(w: ConfigWrites, current: Did, values: dict) -> None:
    """Write `values` (DID_COLUMNS and/or customer_id) over `current` as read (its
    version); a DID moved between customers reindexes both."""
    if "number" in values:
        await check_number(w.s, values["number"], current.id)
    before = snapshot_of(current, (*DID_COLUMNS, "customer_id"))
    await w.update(Did, current, values, "DID")
    owner = values.get("customer_id", current.customer_id)
    if current.customer_id is not None:
        w.touched.add(current.customer_id)
    await w.audit("update", "dids", current.id, before, {**before, **values},
                  customer_id=owner if owner is not None else current.customer_id,
                  routing=False)


async def drop_did(w: ConfigWrites, current: Did) -> None:
    before = snapshot_of(current, (*DID_COLUMNS, "customer_id"))
    await w.delete(Did, current.id)
    await w.audit("delete", "dids", current.id, before, None,
                  customer_id=current.customer_id, routing=False)


async def customer_id_named(s: AsyncSession, name: str) -> int:
    found = await customers_named(s, [name.strip()])
    customer = found.get(name.strip().lower())
    if customer is None:
        raise NotFound(f"no customer named {name.strip()}")
    return customer.id


class DidsService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    # -- reads ----------------------------------------------------------------------------
    async def for_customer(self, customer_id: int) -> list[DidRow]:
        """A customer's DIDs in number order."""
        async with self.db.sessions() as s:
            found = await s.execute(_rows_stmt().where(Did.customer_id == customer_id)
                                    .order_by(Did.number))
            return [_row(r) for r in found]

    async def search(self, query: str = "", *, unassigned: bool = False,
                     after: str | None = None, limit: int = PAGE) -> list[DidRow]:
        """Every customer's DIDs in number order, a page at a time (keyset: the next page
        starts `after` the last number shown). `query`: digits anywhere in the number
        ("20 79" finds 442079...), digits after `+` or `00` at its start ("+44 20" finds
        4420..., through the number's index), or else part of the owner's name."""
        stmt = _rows_stmt()
        q = query.strip()
        if q:
            digits = search_digits(q)
            if digits.isdigit() and q.startswith(("+", "00")):  # the start: an index range
                stmt = stmt.where(Did.number >= digits, Did.number < digits + ":")
            elif digits.isdigit():
                stmt = stmt.where(Did.number.contains(digits, autoescape=True))
        if unassigned:
            stmt = stmt.where(Did.customer_id.is_(None))
        if after is not None:
            stmt = stmt.where(Did.number > after)
        async with self.db.sessions() as s:
            if q and not search_digits(q).isdigit():
                # the customers first: a few ids are read through (customer_id, number),
                # where a subquery had PostgreSQL walk every number checking each owner
                named = select(Customer.id).where(
                    Customer.name_key.contains(q.lower(), autoescape=True))
                ids = list(await s.scalars(named.limit(NAMED_IDS + 1)))
                stmt = stmt.where(Did.customer_id.in_(ids if len(ids) <= NAMED_IDS
                                                      else named))
            found = await s.execute(stmt.order_by(Did.number).limit(limit))
            return [_row(r) for r in found]

    async def customer_named(self, name: str) -> int:
        """The id of the customer named (any case); NotFound."""
        async with self.db.sessions() as s:
            return await customer_id_named(s, name)

    async def get(self, did_id: int) -> DidRow:
        async with self.db.sessions() as s:
            found = (await s.execute(_rows_stmt().where(Did.id == did_id))).first()
        if found is None:
            raise NotFound(f"DID {did_id} not found")
        return _row(found)

    async def by_number(self, number: str) -> DidRow:
        """The DID of a number as typed (any form phonenumbers reads)."""
        try:
            digits = e164(number)
        except ValueError as exc:
            raise ValidationError({"number": str(exc)}) from None
        async with self.db.sessions() as s:
            found = (await s.execute(_rows_stmt().where(Did.number == digits))).first()
        if found is None:
            raise NotFound(f"+{digits} is not a DID of ours")
        return _row(found)

    # -- writes ---------------------------------------------------------------------------
    async def create(self, raw: dict, customer_id: int | None = None) -> int:
        """A new DID, the customer's (or unassigned with None)."""
        self.actor.require("write")
        data = validate_did(raw)
        async with self.db.sessions() as s, s.begin():
            if customer_id is not None:
                await get_or_404(s, Customer, customer_id, "customer")
            w = ConfigWrites(s, self.actor, self.clock())
            did_id = await add_did(w, data, customer_id)
            await w.finish()
        return did_id

    async def update(self, did_id: int, version: int, raw: dict) -> None:
        self.actor.require("write")
        data = validate_did(raw)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Did, did_id, "DID")
            if current.version != version:
                raise StaleError("DID")
            await check_extensions(s, data)
            w = ConfigWrites(s, self.actor, self.clock())
            await change_did(w, current, did_values(data, await card_ids(s, data)))
            await w.finish()

    async def assign(self, did_id: int, customer_id: int | None,
                     version: int | None = None) -> None:
        """Give the DID to `customer_id`, or take it back (None: unassigned). `version`:
        the one the operator saw (None: whatever it is now, for `did assign`)."""
        self.actor.require("write")
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Did, did_id, "DID")
            if version is not None and current.version != version:
                raise StaleError("DID")
            if customer_id is not None:
                await get_or_404(s, Customer, customer_id, "customer")
            if current.customer_id == customer_id:
                return
            w = ConfigWrites(s, self.actor, self.clock())
            await change_did(w, current, {"customer_id": customer_id})
            await w.finish()

    async def assign_number(self, number: str, customer: str | None) -> tuple[str, str]:
        """`did assign`: the DID of `number` to the customer named (None: unassign).
        Returns (E.164 digits, the customer's name as stored or "")."""
        row = await self.by_number(number)
        if customer is None:
            await self.assign(row.id, None)
            return row.number, ""
        return row.number, await self.assign_named(row.id, customer)

    async def assign_named(self, did_id: int, customer: str, version: int | None = None
                           ) -> str:
        """The DID to the customer named (any case; NotFound); returns the name as
        stored."""
        async with self.db.sessions() as s:
            customer_id = await customer_id_named(s, customer)
            name = (await s.get(Customer, customer_id)).name
        await self.assign(did_id, customer_id, version)
        return name

    async def delete(self, did_id: int) -> None:
        """Delete the DID (admin): the number leaves the stock."""
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            w = ConfigWrites(s, self.actor, self.clock())
            await drop_did(w, await get_or_404(s, Did, did_id, "DID"))
            await w.finish()

    async def add_many(self, rows: Sequence[tuple[int, dict]]) -> list[int]:
        """Bulk add (`did add`, a CSV): (line, raw values with an optional "customer"
        name). Every row is checked first; BulkRefused lists each bad one and nothing is
        written. One transaction."""
        self.actor.require("write")
        if len(rows) > MAX_BULK:
            raise BulkRefused([f"at most {MAX_BULK} numbers at once (got {len(rows)})"])
        problems: list[str] = []
        valid: list[tuple[int, DidInput, str]] = []
        first_line: dict[str, int] = {}
        for line, raw in rows:
            try:
                data = validate_did(raw)
            except ValidationError as exc:
                problems.extend(f"line {line}: {f}: {m}" for f, m in exc.errors.items())
                continue
            if data.number in first_line:
                problems.append(f"line {line}: number: +{data.number} is also on line "
                                f"{first_line[data.number]}")
                continue
            first_line[data.number] = line
            valid.append((line, data, str(raw.get("customer") or "").strip()))
        async with self.db.sessions() as s, s.begin():
            names = [c for _, _, c in valid if c] + [n for _, d, _ in valid
                                                     for n in d.ext_customers()]
            known = await customers_named(s, names) if names else {}
            taken = await _numbers_taken(s, [d.number for _, d, _ in valid])
            cards: dict[tuple[str, str], dict | ValidationError] = {}
            for line, data, customer in valid:
                if data.number in taken:
                    whose = f"of {taken[data.number]}" if taken[data.number] else "unassigned"
                    problems.append(f"line {line}: number: +{data.number} is already a DID "
                                    f"({whose})")
                if customer and customer.lower() not in known:
                    problems.append(f"line {line}: customer: no customer named {customer}")
                for field in DESTINATION_FIELDS:
                    value = getattr(data, field)
                    if value.startswith("ext:") and ext_customer(value).lower() not in known:
                        problems.append(f"line {line}: {field}: no customer named "
                                        f"{ext_customer(value)}")
                key = (data.provider_card.lower(), data.customer_card.lower())
                if key not in cards:
                    try:
                        cards[key] = await card_ids(s, data)
                    except ValidationError as exc:
                        cards[key] = exc
                if isinstance(cards[key], ValidationError):
                    problems.extend(f"line {line}: {f}: {m}"
                                    for f, m in cards[key].errors.items())
            if problems:
                raise BulkRefused(sorted(problems, key=_line_of))
            w = ConfigWrites(s, self.actor, self.clock())
            ids = [await add_did(w, data, known[c.lower()].id if c else None,
                                 cards=cards[(data.provider_card.lower(),
                                              data.customer_card.lower())])
                   for _, data, c in valid]
            await w.finish()
        return ids


def _line_of(problem: str) -> int:
    head = problem.split(":", 1)[0]
    return int(head.removeprefix("line ")) if head.startswith("line ") else 0


async def _numbers_taken(s: AsyncSession, numbers: list[str]) -> dict[str, str]:
    """Which of `numbers` are DIDs already: number -> owner's name ("" if unassigned)."""
    out: dict[str, str] = {}
    for chunk in (numbers[i:i + 500] for i in range(0, len(numbers), 500)):
        for number, name in await s.execute(
                select(Did.number, Customer.name)
                .outerjoin(Customer, Customer.id == Did.customer_id)
                .where(Did.number.in_(chunk))):
            out[number] = name or ""
    return out
