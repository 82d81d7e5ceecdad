"""Packages (docs/domain.md §12): the catalogue, customers' assignments, and the charging.

The interval rules are engine/packages.py's. Charging records one `package_runs` row per
assignment per interval (UNIQUE (customer_package_id, interval_start)) with INSERT ... ON
CONFLICT DO NOTHING, and posts to the ledger only the rows it actually inserted, in the
same transaction: a rerun, a kill and a rerun, or a second run at the same time (it waits
on the first one's rows, then inserts nothing) never charges an interval twice.

Minimum spend reads the interval's spend from the hourly stats rollups (the charge of the
customer's calls per hour), never from the CDRs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import ledger
from connex_tui.data.access import Actor, NotFound, StaleError
from connex_tui.data.config_write import (
    ConfigWrites,
    check_unique,
    get_or_404,
    moment_text,
    plain_decimal,
    snapshot_of,
)
from connex_tui.data.db import Database
from connex_tui.data.models import Customer, CustomerPackage, Package, PackageRun, StatsRollup
from connex_tui.engine import packages as rules
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.jobs import DueCharge
from connex_tui.engine.validation import ValidationError

PACKAGE_FIELDS = tuple(f.name for f in fields(rules.PackageInput))
ASSIGN_FIELDS = tuple(f.name for f in fields(rules.AssignmentInput))
BATCH = 5_000  # assignments per charging transaction
NAME_TAKEN = "a package with this name already exists"
NOT_POSTED = " (auto decrement off: recorded, not posted)"


@dataclass(frozen=True, slots=True)
class PackageRow:
    id: int
    version: int
    name: str
    kind: str
    currency: str
    cost: Decimal
    retail: Decimal
    setup_cost: Decimal
    setup_retail: Decimal
    frequency: str
    match_days: str
    minimum_spend: Decimal
    free_minutes: int
    destination_regex: str
    assigned: int  # customer assignments (ended ones too)

    def form_values(self) -> dict[str, str]:
        out = {}
        for f in PACKAGE_FIELDS:
            v = getattr(self, f)
            out[f] = plain_decimal(v) if isinstance(v, Decimal) else str(v)
        return out


@dataclass(frozen=True, slots=True)
class AssignmentRow:
    id: int
    version: int
    customer_id: int
    package_id: int
    package: str
    kind: str
    currency: str
    retail: Decimal
    setup_retail: Decimal
    frequency: str
    match_days: str
    minimum_spend: Decimal
    quantity: int
    start: datetime
    end: datetime | None
    auto_decrement: bool
    last_charged: datetime | None  # the latest interval charged

    def form_values(self) -> dict[str, str | bool]:
        return {"package_id": str(self.package_id), "quantity": str(self.quantity),
                "start": moment_text(self.start), "end": moment_text(self.end),
                "auto_decrement": self.auto_decrement}


@dataclass(frozen=True, slots=True)
class Preview:
    """What the package job would do for one customer: the charges due now (a run now
    posts them) and the next one after that."""

    due: tuple[DueCharge, ...]
    next_at: datetime | None
    next_amount: Decimal | None
    next_upto: bool  # minimum spend: at most this much (spend is taken off)
    currency: str


# -- the charging -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Candidate:
    cp_id: int
    auto_decrement: bool
    charge: DueCharge


_Q = (CustomerPackage.id, CustomerPackage.customer_id, CustomerPackage.quantity,
      CustomerPackage.start, CustomerPackage.end, CustomerPackage.auto_decrement,
      CustomerPackage.package_id)
_P = (Package.id, Package.name, Package.frequency, Package.match_days, Package.retail,
      Package.setup_retail, Package.minimum_spend, Package.currency)


def terms_of(frequency: str, match_days: str, retail: Decimal, setup_retail: Decimal,
             minimum_spend: Decimal, quantity: int, start: datetime,
             end: datetime | None, _cache: dict = {}) -> rules.Terms:  # noqa: B006
    key = (frequency, match_days)
    days = _cache.get(key)
    if days is None:
        try:
            days = rules.parse_match_days(frequency, match_days)
        except ValueError:  # stored before validation (hand-made rows): the start's day
            days = ()
        _cache[key] = days
    return rules.Terms(frequency, days, retail, setup_retail, minimum_spend, quantity,
                       start, end)


def _note(package: str, quantity: int, d: rules.Due, minimum: bool) -> str:
    times = f" x{quantity}" if quantity != 1 else ""
    what = "minimum spend " if minimum else ""
    setup = " + setup" if d.setup else ""
    return f"Package {package}{times} {what}{d.interval_start:%Y-%m-%d}{setup}"


async def _spends(s: AsyncSession, wanted: set[tuple[int, datetime, datetime]]
                  ) -> dict[tuple[int, datetime, datetime], Decimal]:
    """What each (customer, from, to) spent: the charge of its hourly rollups, one query
    per window (minimum-spend packages mostly share theirs: the 1st of the month)."""
    r = StatsRollup
    windows: dict[tuple[datetime, datetime], list[int]] = {}
    for cid, lo, hi in wanted:
        windows.setdefault((lo, hi), []).append(cid)
    out = dict.fromkeys(wanted, Decimal(0))
    for (lo, hi), cids in windows.items():
        for chunk in (cids[i:i + 1000] for i in range(0, len(cids), 1000)):
            for cid, total in await s.execute(
                    select(r.customer_id, func.sum(r.charge)).where(
                        r.customer_id.in_(chunk), r.grain == "h", r.bucket >= lo,
                        r.bucket < hi).group_by(r.customer_id)):
                out[cid, lo, hi] = total or Decimal(0)
    return out


async def _candidates(s: AsyncSession, at: datetime, *, after_id: int = 0,
                      limit: int = BATCH, customer_id: int | None = None
                      ) -> tuple[list[_Candidate], int | None]:
    """The uncharged intervals due at `at` of the next `limit` assignments after
    `after_id` (by id); and the last id read (None: no more assignments)."""
    horizon = at - timedelta(days=rules.CATCH_UP_DAYS)
    cp = CustomerPackage
    # The batch's id range first (the primary key alone), then its rows by that range.
    ids_q = select(cp.id).where(cp.id > after_id).order_by(cp.id).limit(limit)
    if customer_id is not None:
        ids_q = ids_q.where(cp.customer_id == customer_id)
    ids = list(await s.scalars(ids_q))
    if not ids:
        return [], None
    last = ids[-1]
    # No joins: the catalogue is small and read whole, customers by primary key. (One
    # query with the joins, before ANALYZE, had PostgreSQL loop over every customer for
    # each batch: 2.4 s a batch at 10,000 customers.)
    stmt = (select(*_Q).where(cp.id >= ids[0], cp.id <= last, cp.start <= at,
                              (cp.end.is_(None)) | (cp.end > horizon)).order_by(cp.id))
    if customer_id is not None:
        stmt = stmt.where(cp.customer_id == customer_id)
    assigned = (await s.execute(stmt)).all()
    packages = {r[0]: r[1:] for r in await s.execute(select(*_P))}
    customers: dict[int, tuple[str, str]] = {}
    cids = sorted({r[1] for r in assigned})
    c = select(Customer.id, Customer.name, Customer.currency).where(
        Customer.archived_at.is_(None))
    if cids and cids[-1] - cids[0] < 4 * len(cids):  # close together: one range read
        chunks = [c.where(Customer.id.between(cids[0], cids[-1]))]
    else:
        chunks = [c.where(Customer.id.in_(cids[i:i + 1000]))
                  for i in range(0, len(cids), 1000)]
    for stmt_ in chunks:
        customers.update((cid, (name, cur)) for cid, name, cur in await s.execute(stmt_))
    rows = [(*r[:6], *packages[r[6]], *customers[r[1]]) for r in assigned
            if r[1] in customers]
    if not rows:
        return [], last
    # Charged through: an assignment's intervals are charged oldest first, all those due
    # in one transaction, so everything up to its latest charged interval is done.
    # (A batch: by its id range, one index range read; one customer's: by its ids.)
    r = PackageRun
    mine = (r.customer_package_id.in_(ids) if customer_id is not None
            else r.customer_package_id.between(ids[0], last))
    done: dict[int, datetime] = dict(tuple(x) for x in await s.execute(
        select(r.customer_package_id, func.max(r.interval_start)).where(mine)
        .group_by(r.customer_package_id)))
    found = []
    for (cp_id, cid, qty, start, end, auto, pname, freq, mdays, retail, setup, minimum,
         pcur, cname, ccur) in rows:
        if pcur != ccur:  # refused at assignment; a hand-made row is never charged
            continue
        t = terms_of(freq, mdays, retail, setup, minimum, qty, start, end)
        upto = done.get(cp_id)
        for d in rules.due_intervals(t, at):
            if upto is None or d.interval_start > upto:
                found.append((cp_id, cid, qty, auto, pname, retail, cname, ccur, t, d))
    spent = await _spends(s, {(f[1], f[9].interval_start, f[9].interval_end)
                              for f in found if f[8].in_arrears})
    out = []
    for cp_id, cid, qty, auto, pname, retail, cname, ccur, t, d in found:
        amount = d.amount
        if t.in_arrears:
            amount = rules.minimum_spend_charge(
                retail, qty, spent[cid, d.interval_start, d.interval_end]) + d.setup
        out.append(_Candidate(cp_id, auto, DueCharge(
            cid, cname, "package", rules.interval_ref(cp_id, d.interval_start),
            d.interval_start, amount, ccur,
            _note(pname, qty, d, t.in_arrears) + ("" if auto else NOT_POSTED))))
    return out, last


def _insert_ignore(s: AsyncSession):
    table = PackageRun.__table__
    if s.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(
        index_elements=["customer_package_id", "interval_start"])


async def _record(s: AsyncSession, found: list[_Candidate], now: datetime) -> list[DueCharge]:
    """Insert the runs of `found` (those another run inserted first are skipped) and
    post the ledger for the inserted ones; returns what was charged."""
    if not found:
        return []
    table = PackageRun.__table__
    stmt = _insert_ignore(s).returning(table.c.customer_package_id, table.c.interval_start)
    inserted = {tuple(r) for r in await s.execute(stmt, [
        {"customer_package_id": c.cp_id, "interval_start": c.charge.interval_start,
         "amount": c.charge.amount, "at": now} for c in found])}
    charged = [c for c in found if (c.cp_id, c.charge.interval_start) in inserted]
    await ledger.post_many(s, [
        (c.charge.customer_id, "package", -c.charge.amount, c.charge.ref, c.charge.note)
        for c in charged if c.auto_decrement and c.charge.amount], at=now)
    return [c.charge for c in charged]


async def due_packages(s: AsyncSession, at: datetime, *, after_id: int = 0,
                       limit: int = BATCH, customer_id: int | None = None
                       ) -> tuple[list[DueCharge], int | None]:
    """What a run at `at` would charge for the next batch of assignments (a dry run,
    the preview); and the last assignment id read (None: done)."""
    found, last = await _candidates(s, at, after_id=after_id, limit=limit,
                                    customer_id=customer_id)
    return [c.charge for c in found], last


async def charge_packages(s: AsyncSession, at: datetime, now: datetime, *,
                          after_id: int = 0, limit: int = BATCH
                          ) -> tuple[list[DueCharge], int | None]:
    """Charge the next batch of assignments in the caller's transaction; returns what was
    charged (auto decrement off: recorded, not posted) and the last id read."""
    found, last = await _candidates(s, at, after_id=after_id, limit=limit)
    return await _record(s, found, now), last


# -- the service --------------------------------------------------------------------------------
def _package_row(p: Package, assigned: int) -> PackageRow:
    return PackageRow(p.id, p.version, *(getattr(p, f) for f in PACKAGE_FIELDS),
                      assigned)


class PackagesService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    # -- the catalogue ------------------------------------------------------------------------
    async def catalogue(self) -> list[PackageRow]:
        async with self.db.sessions() as s:
            counts = dict((await s.execute(
                select(CustomerPackage.package_id, func.count())
                .group_by(CustomerPackage.package_id))).all())
            found = await s.scalars(select(Package).order_by(Package.name))
            return [_package_row(p, counts.get(p.id, 0)) for p in found]

    async def package(self, package_id: int) -> PackageRow:
        async with self.db.sessions() as s:
            p = await get_or_404(s, Package, package_id, "package")
            n = await s.scalar(select(func.count()).select_from(CustomerPackage).where(
                CustomerPackage.package_id == package_id))
            return _package_row(p, int(n or 0))

    async def create_package(self, raw: dict) -> int:
        self.actor.require("write")
        data = rules.validate_package(raw)
        async with self.db.sessions() as s, s.begin():
            await check_unique(s, Package.name, data.name, None, field="name",
                               message=NAME_TAKEN)
            w = ConfigWrites(s, self.actor, self.clock())
            values = asdict(data)
            package_id = await w.insert(Package, values)
            await w.audit("create", "packages", package_id, None, values, routing=False)
        return package_id

    async def update_package(self, package_id: int, version: int, raw: dict) -> None:
        self.actor.require("write")
        data = rules.validate_package(raw)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Package, package_id, "package")
            if current.version != version:
                raise StaleError("package")
            await check_unique(s, Package.name, data.name, package_id, field="name",
                               message=NAME_TAKEN)
            if data.currency != current.currency and await self._assigned(s, package_id):
                raise ValidationError({"currency": "cannot change while customers have "
                                                   f"it (they pay in {current.currency})"})
            before = snapshot_of(current, PACKAGE_FIELDS)
            w = ConfigWrites(s, self.actor, self.clock())
            values = asdict(data)
            await w.update(Package, current, values, "package")
            await w.audit("update", "packages", package_id, before, values, routing=False)

    async def delete_package(self, package_id: int) -> None:
        """Only a package no customer has (nor had: its charges name it)."""
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Package, package_id, "package")
            n = await self._assigned(s, package_id)
            if n:
                raise ValidationError({"name": f"{n} customer assignment(s) use it: end "
                                               "them instead; the charges name it"})
            before = snapshot_of(current, PACKAGE_FIELDS)
            w = ConfigWrites(s, self.actor, self.clock())
            await w.delete(Package, package_id)
            await w.audit("delete", "packages", package_id, before, None, routing=False)

    @staticmethod
    async def _assigned(s: AsyncSession, package_id: int) -> int:
        return int(await s.scalar(select(func.count()).select_from(CustomerPackage).where(
            CustomerPackage.package_id == package_id)) or 0)

    # -- a customer's assignments -------------------------------------------------------------
    async def choices(self, customer_id: int) -> list[tuple[int, str]]:
        """(id, name) of the packages in the customer's currency."""
        async with self.db.sessions() as s:
            currency = await s.scalar(select(Customer.currency).where(
                Customer.id == customer_id))
            if currency is None:
                raise NotFound(f"customer {customer_id} not found")
            return [tuple(r) for r in await s.execute(
                select(Package.id, Package.name).where(Package.currency == currency)
                .order_by(Package.name))]

    async def assignments(self, customer_id: int) -> list[AssignmentRow]:
        cp, p = CustomerPackage, Package
        async with self.db.sessions() as s:
            mine = select(cp.id).where(cp.customer_id == customer_id)
            last = (select(PackageRun.customer_package_id,
                           func.max(PackageRun.interval_start).label("last"))
                    .where(PackageRun.customer_package_id.in_(mine))
                    .group_by(PackageRun.customer_package_id).subquery())
            rows = await s.execute(
                select(cp.id, cp.version, cp.customer_id, cp.package_id, p.name, p.kind,
                       p.currency, p.retail, p.setup_retail, p.frequency, p.match_days, p.minimum_spend,
                       cp.quantity, cp.start, cp.end, cp.auto_decrement, last.c.last)
                .join(p, p.id == cp.package_id)
                .outerjoin(last, last.c.customer_package_id == cp.id)
                .where(cp.customer_id == customer_id).order_by(cp.start, cp.id))
            return [AssignmentRow(*r[:-1], _aware(r[-1])) for r in rows]

    async def assignment(self, assignment_id: int) -> AssignmentRow:
        async with self.db.sessions() as s:
            cid = await s.scalar(select(CustomerPackage.customer_id).where(
                CustomerPackage.id == assignment_id))
        if cid is not None:
            for r in await self.assignments(cid):
                if r.id == assignment_id:
                    return r
        raise NotFound(f"package assignment {assignment_id} not found")

    async def _check_package(self, s: AsyncSession, customer_id: int,
                             data: rules.AssignmentInput) -> None:
        currency = await s.scalar(select(Customer.currency).where(Customer.id == customer_id))
        if currency is None:
            raise NotFound(f"customer {customer_id} not found")
        p = await s.get(Package, data.package_id)
        if p is None:
            raise ValidationError({"package_id": "no such package"})
        if p.currency != currency:
            raise ValidationError({"package_id": f"{p.name} is in {p.currency}; this "
                                                 f"customer pays in {currency}"})

    async def assign(self, customer_id: int, raw: dict) -> int:
        self.actor.require("write")
        data = rules.validate_assignment(raw)
        async with self.db.sessions() as s, s.begin():
            await self._check_package(s, customer_id, data)
            w = ConfigWrites(s, self.actor, self.clock())
            values = asdict(data)
            row_id = await w.insert(CustomerPackage, {"customer_id": customer_id, **values})
            await w.audit("create", "customer_packages", row_id, None, values,
                          customer_id=customer_id, routing=False)
        return row_id

    async def update_assignment(self, assignment_id: int, version: int, raw: dict) -> None:
        """An edit. The package and the start of an assignment that was charged stay: its
        charged intervals are keyed by them."""
        self.actor.require("write")
        data = rules.validate_assignment(raw)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, CustomerPackage, assignment_id,
                                       "package assignment")
            if current.version != version:
                raise StaleError("package assignment")
            await self._check_package(s, current.customer_id, data)
            charged = await s.scalar(select(func.count()).select_from(PackageRun).where(
                PackageRun.customer_package_id == assignment_id))
            if charged and data.package_id != current.package_id:
                raise ValidationError({"package_id": "already charged: end this one and "
                                                     "assign the other package"})
            if charged and data.start != current.start:
                raise ValidationError({"start": "already charged from "
                                                f"{moment_text(current.start)}: it stays"})
            await self._write(s, current, asdict(data))

    async def end_assignment(self, assignment_id: int, version: int,
                             at: datetime | None = None) -> datetime:
        """End it at `at` (default now; never before its start); returns the end."""
        self.actor.require("write")
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, CustomerPackage, assignment_id,
                                       "package assignment")
            if current.version != version:
                raise StaleError("package assignment")
            end = max(at or self.clock(), current.start + timedelta(seconds=1))
            if current.end is not None and current.end <= end:
                raise ValidationError({"end": f"already ended {moment_text(current.end)}"})
            await self._write(s, current, {"end": end})
        return end

    async def _write(self, s: AsyncSession, current: CustomerPackage, values: dict) -> None:
        before = snapshot_of(current, ASSIGN_FIELDS)
        w = ConfigWrites(s, self.actor, self.clock())
        await w.update(CustomerPackage, current, values, "package assignment")
        await w.audit("update", "customer_packages", current.id, before,
                      {**before, **values}, customer_id=current.customer_id, routing=False)

    # -- the preview ----------------------------------------------------------------------------
    async def preview(self, customer_id: int, at: datetime | None = None) -> Preview:
        """What a run at `at` (default now) charges this customer, and the next charge."""
        at = at or self.clock()
        async with self.db.sessions() as s:
            currency = await s.scalar(select(Customer.currency).where(
                Customer.id == customer_id))
            due, _ = await due_packages(s, at, limit=10_000, customer_id=customer_id)
        rows = await self.assignments(customer_id)
        nexts = []
        for r in rows:
            t = terms_of(r.frequency, r.match_days, r.retail, r.setup_retail,
                         r.minimum_spend, r.quantity, r.start, r.end)
            d = rules.next_interval(t, at)
            if d is not None:
                nexts.append((rules.due_on(t, d), d.amount, t.in_arrears))
        if not nexts:
            return Preview(tuple(due), None, None, False, currency or "")
        first = min(n[0] for n in nexts)
        same = [n for n in nexts if n[0] == first]
        return Preview(tuple(due), first, sum((n[1] for n in same), Decimal(0)),
                       any(n[2] for n in same), currency or "")


def _aware(t: datetime | None) -> datetime | None:
    return None if t is None else rules.utc(t)


def totals(charges: Iterable[DueCharge]) -> dict[str, Decimal]:
    """Sum per currency."""
    out: dict[str, Decimal] = {}
    for c in charges:
        out[c.currency] = out.get(c.currency, Decimal(0)) + c.amount
    return out
