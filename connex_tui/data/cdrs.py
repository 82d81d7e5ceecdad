"""A customer's CDRs (docs/domain.md §7): the CDR tab's pages of one UTC day, one CDR's
every field, and the export of a range of UTC days.

Pages are keyset pages over (started_at, id), the order of index ix_cdrs_customer_started:
a page starts after the last row of the one before, so a page costs the same on the first
day as on a customer's millionth CDR, and rows sharing a millisecond are neither repeated
nor skipped (never OFFSET). Simulated CDRs (SIM-…) live on the Calls tab, not here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import or_, select, tuple_

from connex_tui.data import search
from connex_tui.data.access import Actor, NotFound
from connex_tui.data.calls import like_pattern
from connex_tui.data.db import Database
from connex_tui.data.models import Cdr, Customer, Provider
from connex_tui.engine.clock import Clock, utcnow

PAGE = 100
EXPORT_CHUNK = 2000
MAX_QUERY = 64  # a number or a call id; longer is not a search
OUTCOMES = ("all", "answered", "failed")


@dataclass(frozen=True, slots=True)
class CdrRecord:
    """Every stored field of a CDR, with its provider's name (EXPORT_FIELDS and more)."""

    id: int
    call_id: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    duration_ms: int
    billed_s: int
    dialled: str
    cli_in: str
    cli_out: str
    prefix: str
    destination: str
    rate: Decimal
    connect_fee: Decimal
    charge: Decimal
    provider: str
    provider_cost: Decimal
    sip_code: int
    sip_reason: str
    release_reason: str
    pdd_ms: int | None
    source_ip: str
    switch_ip: str
    route_id: int | None
    simulated: bool = False
    free_s: int = 0  # billed seconds a free-minutes package paid for

    @property
    def key(self) -> tuple[datetime, int]:
        return self.started_at, self.id


@dataclass(frozen=True, slots=True)
class CdrFilter:
    outcome: str = "all"  # all | answered | failed
    sip_code: int | None = None
    query: str = ""  # part of the dialled number, a CLI or the call id

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        if self.sip_code is not None and not 100 <= self.sip_code <= 699:
            raise ValueError("SIP code must be 100..699")
        if len(self.query) > MAX_QUERY:
            raise ValueError(f"search at most {MAX_QUERY} characters")

    @property
    def active(self) -> bool:
        return self != CdrFilter()

    def describe(self) -> str:
        parts = [] if self.outcome == "all" else [self.outcome]
        if self.sip_code is not None:
            parts.append(f"SIP {self.sip_code}")
        if self.query:
            parts.append(f"'{self.query}'")
        return ", ".join(parts) or "all calls"


@dataclass(frozen=True, slots=True)
class CdrPage:
    rows: list[CdrRecord]
    more: bool  # another page follows the last row

    @property
    def after(self) -> tuple[datetime, int] | None:
        return self.rows[-1].key if self.rows else None


def day_bounds(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in UTC."""
    start = datetime.combine(first, time(), UTC)
    return start, datetime.combine(last or first, time(), UTC) + timedelta(days=1)


_COLUMNS = (Cdr.id, Cdr.call_id, Cdr.started_at, Cdr.answered_at, Cdr.ended_at,
            Cdr.duration_ms, Cdr.billed_s, Cdr.dialled, Cdr.cli_in, Cdr.cli_out, Cdr.prefix,
            Cdr.destination, Cdr.rate, Cdr.connect_fee, Cdr.charge,
            Provider.name, Cdr.provider_cost, Cdr.sip_code, Cdr.sip_reason,
            Cdr.release_reason, Cdr.pdd_ms, Cdr.source_ip, Cdr.switch_ip, Cdr.route_id,
            Cdr.simulated, Cdr.free_s)


def _record(r) -> CdrRecord:
    values = list(r)
    values[15] = values[15] or ""  # provider gone, or none (a rejected call)
    return CdrRecord(*values)


def _select(customer_id: int, start: datetime, end: datetime, f: CdrFilter,
            after: tuple[datetime, int] | None, dialect: str = "sqlite"):
    stmt = (select(*_COLUMNS).outerjoin(Provider, Provider.id == Cdr.provider_id)
            .where(Cdr.customer_id == customer_id, Cdr.started_at >= start,
                   Cdr.started_at < end, Cdr.simulated.is_(False)))
    if after is not None:
        stmt = stmt.where(tuple_(Cdr.started_at, Cdr.id) > tuple_(*after))
    if f.outcome == "answered":
        stmt = stmt.where(Cdr.answered_at.is_not(None))
    elif f.outcome == "failed":
        stmt = stmt.where(Cdr.answered_at.is_(None))
    if f.sip_code is not None:
        stmt = stmt.where(Cdr.sip_code == f.sip_code)
    q = search.normalise(f.query)
    if q:
        pattern = like_pattern(q)
        # A search scans the day's rows, so each test counts. SQLite's LIKE ignores ASCII
        # case already (its ILIKE is lower() on both sides of every row); on PostgreSQL a
        # caseless ILIKE costs far more than LIKE, and digits have no case: numbers and
        # CLIs are matched caselessly only when the search has letters in it.
        def match(col, caseless: bool):
            if dialect == "sqlite" or not caseless:
                return col.like(pattern, escape="\\")
            return col.ilike(pattern, escape="\\")

        letters = not q.isdigit()
        stmt = stmt.where(or_(*(match(c, letters) for c in (
            Cdr.dialled, Cdr.cli_in, Cdr.cli_out)), match(Cdr.call_id, True)))
    return stmt.order_by(Cdr.started_at, Cdr.id)


class CdrService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db, self.actor, self.clock = db, actor, clock

    async def page(self, customer_id: int, day: date, f: CdrFilter = CdrFilter(), *,
                   after: tuple[datetime, int] | None = None, limit: int = PAGE) -> CdrPage:
        """The CDRs of `day` (UTC) in start order, from the one after `after` (a row's key)."""
        start, end = day_bounds(day)
        stmt = _select(customer_id, start, end, f, after, self.db.dialect).limit(limit + 1)
        async with self.db.sessions() as s:
            rows = [_record(r) for r in await s.execute(stmt)]
        return CdrPage(rows[:limit], len(rows) > limit)

    async def detail(self, cdr_id: int) -> CdrRecord:
        async with self.db.sessions() as s:
            r = (await s.execute(select(*_COLUMNS).outerjoin(
                Provider, Provider.id == Cdr.provider_id).where(Cdr.id == cdr_id))).first()
        if r is None:
            raise NotFound(f"CDR #{cdr_id} no longer exists")
        return _record(r)

    async def export(self, customer_id: int, first: date, last: date,
                     f: CdrFilter = CdrFilter(), *,
                     chunk: int = EXPORT_CHUNK) -> AsyncIterator[list[CdrRecord]]:
        """The CDRs of UTC days first..last (both included) in start order, a chunk at a
        time: one short read per chunk (keyset), so memory stays flat and no transaction
        is held open while the caller writes."""
        start, end = day_bounds(first, last)
        after = None
        while True:
            async with self.db.sessions() as s:
                rows = [_record(r) for r in await s.execute(
                    _select(customer_id, start, end, f, after, self.db.dialect)
                    .limit(chunk))]
            if rows:
                yield rows
            if len(rows) < chunk:
                return
            after = rows[-1].key

    async def customer_named(self, name: str) -> tuple[int, str, str]:
        """(id, name, currency) of the customer called `name` (any case), or NotFound."""
        async with self.db.sessions() as s:
            r = (await s.execute(select(Customer.id, Customer.name, Customer.currency).where(
                Customer.name_key == name.strip().lower()))).first()
        if r is None:
            raise NotFound(f"no customer named {name!r}")
        return r.id, r.name, r.currency
