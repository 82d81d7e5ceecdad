"""Recalc of a customer's CDRs over a range of UTC days (docs/domain.md §7), admin only.

Each batch is one transaction that reads the next CDRs after the run's cursor, works out
what each becomes (engine/recalc.rerate: the rates in force at its start), and then, for the
CDRs that change: corrects the rows, moves the minute/hour rollups and the per-prefix
hour/day rollups by the difference, refunds the old charges and debits the new ones on the
ledger (kind `recalc`), and moves the run's cursor and totals. So a batch lands whole or not
at all, and a run killed between batches resumes after its cursor when started again with
the same customer, range and parameters. Even a fresh run cannot charge twice: the refund is
of the charge the CDR holds now, so a CDR already recalculated refunds and debits the same
amount, and nothing is posted for it. SIP codes never change, so the per-code counts stay.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import BigInteger, bindparam, func, insert, select, tuple_, type_coerce, update

from connex_tui.data import bulk, ledger
from connex_tui.data.access import Actor, NotFound
from connex_tui.data.cdrs import day_bounds
from connex_tui.data.db import Database
from connex_tui.data.models import (
    Cdr,
    Customer,
    IngressRoute,
    RecalcRun,
    StatsPrefix,
    StatsRollup,
)
from connex_tui.data.snapshot import SnapshotCache
from connex_tui.data.upsert import upsert_add
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.rating import micro_to_decimal
from connex_tui.engine.recalc import (
    RecalcSpec,
    Rerated,
    RouteRef,
    StoredCdr,
    changed,
    rerate,
)
from connex_tui.engine.snapshot import CardS

BATCH = 2000
MAX_DAYS = 366
_ZERO = Decimal(0)
_ROLLUP_ADD = ("duration_ms", "billed_s", "charge", "cost")
_PREFIX_ADD = ("attempts", "connected", "duration_ms", "billed_s", "charge", "cost")


@dataclass(frozen=True, slots=True)
class RecalcPreview:
    calls: int  # CDRs the recalc reads
    changed: int  # of them, those whose duration or charge would change
    skipped: int  # no route, card or rate row any more: left as they are
    old_total: Decimal
    new_total: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class RecalcSummary:
    run_id: int
    status: str  # done | cancelled
    calls: int
    changed: int
    skipped: int
    old_total: Decimal
    new_total: Decimal
    resumed: bool


@dataclass(frozen=True, slots=True)
class RecalcHistoryRow:
    id: int
    at: datetime
    operator: str
    first: date
    last: date
    what: str
    calls: int
    skipped: int
    old_total: Decimal
    new_total: Decimal
    status: str


def check_range(first: date, last: date) -> None:
    if last < first:
        raise ValueError("the last day is before the first")
    if (last - first).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once")


def _spec_of(params: str) -> str:
    try:
        p = json.loads(params)
        return RecalcSpec(p.get("min_duration_s"), p.get("new_duration_s"),
                          p.get("release_reason") or "").describe()
    except (ValueError, TypeError, AttributeError):
        return "?"


def _micro(col):
    """A money column read as its stored micro-units (turned into Decimal through the
    rating engine's memo: a batch repeats a few rates and charges many times)."""
    return type_coerce(col, BigInteger())


_READ = (Cdr.id, Cdr.customer_id, Cdr.started_at, Cdr.answered_at, Cdr.duration_ms,
         Cdr.billed_s, Cdr.dialled, Cdr.prefix, Cdr.destination, _micro(Cdr.rate),
         _micro(Cdr.connect_fee), _micro(Cdr.charge), _micro(Cdr.provider_cost),
         Cdr.route_id, Cdr.provider_id, Cdr.free_s)
_MONEY_AT = (9, 10, 11, 12)
_SET = ("duration_ms", "billed_s", "ended_at", "prefix", "destination", "rate",
        "connect_fee", "charge", "provider_cost")


def _stored(row) -> StoredCdr:
    values = list(row)
    for i in _MONEY_AT:
        values[i] = micro_to_decimal(values[i])
    return StoredCdr(*values)


def _matching(customer_id: int, start: datetime, end: datetime, spec: RecalcSpec):
    """The CDRs a recalc works on: the customer's answered, real calls in the range (and
    at or above the minimum duration, of the release reason, when given)."""
    conds = [Cdr.customer_id == customer_id, Cdr.started_at >= start, Cdr.started_at < end,
             Cdr.simulated.is_(False), Cdr.answered_at.is_not(None)]
    if not spec.rerate_only:
        conds.append(Cdr.duration_ms >= spec.min_duration_ms)
    if spec.release_reason:
        conds.append(Cdr.release_reason == spec.release_reason)
    return conds


class RecalcService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow,
                 cache: SnapshotCache | None = None):
        self.db, self.actor, self.clock = db, actor, clock
        self.cache = cache or SnapshotCache(db)  # the rate cards, as the pipeline sees them

    async def _rating(self, customer_id: int
                      ) -> tuple[dict[int, CardS], dict[int, RouteRef]]:
        """Every rate card (with its rows of every effective_from), and every route of the
        customer, enabled or not: a CDR is rated on the route it went through, whatever
        has become of the customer's auth or routes since (the snapshot leaves out
        customers that cannot authenticate now, so routes are read here)."""
        cards = (await self.cache.get()).cards
        async with self.db.sessions() as s:
            routes = {r.id: RouteRef(r.rate_card_id, r.tech_prefix) for r in await s.execute(
                select(IngressRoute.id, IngressRoute.rate_card_id, IngressRoute.tech_prefix)
                .where(IngressRoute.customer_id == customer_id))}
        return cards, routes

    async def _currency(self, customer_id: int) -> str:
        async with self.db.sessions() as s:
            currency = await s.scalar(select(Customer.currency).where(
                Customer.id == customer_id))
        if currency is None:
            raise NotFound("That customer no longer exists")
        return currency

    async def _batch(self, s, customer_id: int, start: datetime, end: datetime,
                     spec: RecalcSpec, after: tuple[datetime, int] | None, size: int,
                     lock: bool = False) -> list[StoredCdr]:
        stmt = select(*_READ).where(*_matching(customer_id, start, end, spec))
        if after is not None:
            stmt = stmt.where(tuple_(Cdr.started_at, Cdr.id) > tuple_(*after))
        stmt = stmt.order_by(Cdr.started_at, Cdr.id).limit(size)
        if lock:
            stmt = stmt.with_for_update()  # PostgreSQL: two recalcs never refund one CDR twice
        conn = await s.connection()  # Core: no ORM result machinery per row
        return [_stored(r) for r in await conn.execute(stmt)]

    async def preview(self, customer_id: int, first: date, last: date, spec: RecalcSpec, *,
                      batch: int = BATCH) -> RecalcPreview:
        """What run() would do, writing nothing."""
        self.actor.require("recalc")
        check_range(first, last)
        currency = await self._currency(customer_id)
        cards, routes = await self._rating(customer_id)
        start, end = day_bounds(first, last)
        calls = n_changed = skipped = 0
        old = new = _ZERO
        after = None
        while True:
            async with self.db.sessions() as s:
                rows = await self._batch(s, customer_id, start, end, spec, after, batch)
            for cdr in rows:
                calls += 1
                old += cdr.charge
                r = rerate(cards, routes, cdr, spec)
                if r is None:
                    skipped += 1
                    new += cdr.charge
                    continue
                new += r.charge
                n_changed += changed(cdr, r)
            if len(rows) < batch:
                return RecalcPreview(calls, n_changed, skipped, old, new, currency)
            after = (rows[-1].started_at, rows[-1].id)

    async def run(self, customer_id: int, first: date, last: date, spec: RecalcSpec, *,
                  progress: Callable[[int, int], None] | None = None,
                  cancelled: Callable[[], bool] | None = None, batch: int = BATCH,
                  after_batch: Callable[[int], None] | None = None) -> RecalcSummary:
        """Recalculate, a batch per transaction. `progress(done, total)` after each batch;
        `cancelled()` is asked between batches (a batch is never cut in half);
        `after_batch(n)` is for tests (a kill after batch n)."""
        self.actor.require("recalc")
        check_range(first, last)
        await self._currency(customer_id)
        rating = await self._rating(customer_id)
        start, end = day_bounds(first, last)
        run_id, after, resumed = await self._open_run(customer_id, start, end, spec)
        async with self.db.sessions() as s:
            total = await s.scalar(select(func.count()).select_from(Cdr).where(
                *_matching(customer_id, start, end, spec)))
            if after is not None:
                done = await s.scalar(select(func.count()).select_from(Cdr).where(
                    *_matching(customer_id, start, end, spec),
                    tuple_(Cdr.started_at, Cdr.id) <= tuple_(*after)))
            else:
                done = 0
        n_changed = 0
        status = "done"
        n = 0
        while True:
            if cancelled is not None and cancelled():
                status = "cancelled"
                break
            async with self.db.sessions() as s, s.begin():
                rows = await self._batch(s, customer_id, start, end, spec, after, batch,
                                         lock=s.bind.dialect.name == "postgresql")
                if not rows:
                    break
                n_changed += await self._apply(s, rating, spec, run_id, rows)
            after = (rows[-1].started_at, rows[-1].id)
            done += len(rows)
            n += 1
            if progress is not None:
                progress(done, max(total, done))
            if after_batch is not None:
                after_batch(n)
            if len(rows) < batch:
                break
        async with self.db.sessions() as s, s.begin():
            await s.execute(update(RecalcRun).where(RecalcRun.id == run_id).values(
                status=status, finished_at=self.clock()))
            run = await s.get(RecalcRun, run_id)
            summary = RecalcSummary(run_id, status, run.calls, n_changed, run.skipped,
                                    run.old_total, run.new_total, resumed)
        return summary

    async def _open_run(self, customer_id: int, start: datetime, end: datetime,
                        spec: RecalcSpec) -> tuple[int, tuple[datetime, int] | None, bool]:
        """The run to go on with: an unfinished one (its process died, or it raised) of the
        same customer, range and parameters resumes after its cursor; otherwise a new one."""
        params = json.dumps(spec.params(), sort_keys=True)
        async with self.db.sessions() as s, s.begin():
            old = (await s.execute(select(RecalcRun.id, RecalcRun.cursor_at,
                                          RecalcRun.cursor_id).where(
                RecalcRun.customer_id == customer_id, RecalcRun.range_from == start,
                RecalcRun.range_to == end, RecalcRun.params == params,
                RecalcRun.status == "running")
                .order_by(RecalcRun.id.desc()).limit(1))).first()
            if old is not None:
                await s.execute(update(RecalcRun).where(RecalcRun.id == old.id).values(
                    status="running", operator=self.actor.name))
                after = (old.cursor_at, old.cursor_id) if old.cursor_id is not None else None
                return old.id, after, True
            run_id = (await s.execute(insert(RecalcRun).values(
                customer_id=customer_id, operator=self.actor.name, at=self.clock(),
                range_from=start, range_to=end, params=params, calls=0, old_total=_ZERO,
                new_total=_ZERO, status="running", skipped=0)
                .returning(RecalcRun.id))).scalar_one()
            return run_id, None, False

    async def _apply(self, s, rating: tuple[dict[int, CardS], dict[int, RouteRef]],
                     spec: RecalcSpec, run_id: int, rows: list[StoredCdr]) -> int:
        """One batch, in the caller's transaction; returns how many CDRs changed."""
        pairs: list[tuple[StoredCdr, Rerated]] = []
        old_total = new_total = _ZERO
        skipped = 0
        for cdr in rows:
            old_total += cdr.charge
            r = rerate(*rating, cdr, spec)
            if r is None:
                skipped += 1
                new_total += cdr.charge
                continue
            new_total += r.charge
            if changed(cdr, r):
                pairs.append((cdr, r))
        last = rows[-1]
        await s.execute(update(RecalcRun).where(RecalcRun.id == run_id).values(
            cursor_at=last.started_at, cursor_id=last.id, calls=RecalcRun.calls + len(rows),
            skipped=RecalcRun.skipped + skipped, old_total=RecalcRun.old_total + old_total,
            new_total=RecalcRun.new_total + new_total))
        if not pairs:
            return 0
        await _update_cdrs(s, pairs)
        await _correct_rollups(s, pairs)
        refunds: dict[int, Decimal] = defaultdict(Decimal)
        debits: dict[int, Decimal] = defaultdict(Decimal)
        counts: dict[int, int] = defaultdict(int)
        for c, r in pairs:
            refunds[c.customer_id] += c.charge
            debits[c.customer_id] += r.charge
            counts[c.customer_id] += 1
        entries = []
        for cid, n in counts.items():
            if refunds[cid] != debits[cid]:
                ref = f"recalc:{run_id}"
                entries.append((cid, "recalc", refunds[cid], ref,
                                f"recalc #{run_id}: refund of {n} calls"))
                entries.append((cid, "recalc", -debits[cid], ref,
                                f"recalc #{run_id}: debit of {n} calls"))
        await ledger.post_many(s, entries, at=self.clock())
        return len(pairs)

    async def history(self, customer_id: int, limit: int = 20) -> list[RecalcHistoryRow]:
        async with self.db.sessions() as s:
            rows = (await s.execute(select(
                RecalcRun.id, RecalcRun.at, RecalcRun.operator, RecalcRun.range_from,
                RecalcRun.range_to, RecalcRun.params, RecalcRun.calls, RecalcRun.skipped,
                RecalcRun.old_total, RecalcRun.new_total, RecalcRun.status)
                .where(RecalcRun.customer_id == customer_id)
                .order_by(RecalcRun.id.desc()).limit(limit))).all()
        return [RecalcHistoryRow(
            r.id, r.at, r.operator, r.range_from.astimezone(UTC).date(),
            (r.range_to.astimezone(UTC) - timedelta(days=1)).date(), _spec_of(r.params),
            r.calls, r.skipped, r.old_total, r.new_total, r.status) for r in rows]


async def _update_cdrs(s, pairs: list[tuple[StoredCdr, Rerated]]) -> None:
    """One executemany of UPDATE ... WHERE id = ?, the parameters converted once per column
    as data/bulk.py converts them for inserts (SQLAlchemy's per-row processing was a third
    of a batch)."""
    conn = await s.connection()
    dialect = conn.dialect
    table = Cdr.__table__
    stmt = update(table).where(table.c.id == bindparam("b_id")).values(
        {c: bindparam(f"b_{c}") for c in _SET})
    compiled = stmt.compile(dialect=dialect)
    order = [name.removeprefix("b_") for name in compiled.positiontup]
    convert = [(i, c) for i, name in enumerate(order)
               if (c := bulk._converter(table, name, dialect)) is not None]
    params = []
    for c, r in pairs:
        values = {"id": c.id, "duration_ms": r.duration_ms, "billed_s": r.billed_s,
                  "ended_at": c.answered_at + timedelta(milliseconds=r.duration_ms),
                  "prefix": r.prefix, "destination": r.destination, "rate": r.rate,
                  "connect_fee": r.connect_fee, "charge": r.charge,
                  "provider_cost": r.provider_cost}
        row = [values[name] for name in order]
        for i, conv in convert:
            row[i] = conv(row[i])
        params.append(tuple(row))
    await conn.exec_driver_sql(compiled.string, params)


async def _correct_rollups(s, pairs: list[tuple[StoredCdr, Rerated]]) -> None:
    """Move the rollups the CDR writer keeps by what each CDR changed by. Recalc only
    touches answered calls and never their start or SIP code: attempts, connected, PDD,
    peak CPS and the per-code counts stay; a rerate that moves a call to another prefix
    takes it out of the old prefix's rollup and into the new one's."""
    roll: dict[tuple, list] = defaultdict(lambda: [0, 0, _ZERO, _ZERO])
    pref: dict[tuple, dict] = {}

    def add(key: tuple, destination: str, sign: int, c) -> None:
        p = pref.get(key)
        if p is None:
            p = pref[key] = {"destination": destination, "attempts": 0, "connected": 0,
                             "duration_ms": 0, "billed_s": 0, "charge": _ZERO, "cost": _ZERO}
        p["attempts"] += sign
        p["connected"] += sign
        p["duration_ms"] += sign * c.duration_ms
        p["billed_s"] += sign * c.billed_s
        p["charge"] += sign * c.charge
        p["cost"] += sign * c.provider_cost

    for c, r in pairs:
        second = int(c.started_at.timestamp())
        minute, hour, day = second - second % 60, second - second % 3600, second - second % 86400
        for key in ((c.customer_id, "m", minute), (c.customer_id, "h", hour)):
            d = roll[key]
            d[0] += r.duration_ms - c.duration_ms
            d[1] += r.billed_s - c.billed_s
            d[2] += r.charge - c.charge
            d[3] += r.provider_cost - c.provider_cost
        for grain, bucket in (("h", hour), ("d", day)):
            add((c.customer_id, grain, bucket, c.prefix), c.destination, -1, c)
            add((c.customer_id, grain, bucket, r.prefix), r.destination, 1, r)
    dialect = s.bind.dialect.name
    rollup, prefix = StatsRollup.__table__, StatsPrefix.__table__
    at = _bucket
    await bulk.executemany(
        s, upsert_add(dialect, rollup, ("customer_id", "grain", "bucket"), _ROLLUP_ADD),
        rollup, [{"customer_id": k[0], "grain": k[1], "bucket": at(k[2]), "attempts": 0,
                  "connected": 0, "duration_ms": v[0], "billed_s": v[1], "pdd_sum_ms": 0,
                  "pdd_count": 0, "charge": v[2], "cost": v[3], "peak_cps": 0}
                 for k, v in roll.items() if any(v)])
    await bulk.executemany(
        s, upsert_add(dialect, prefix, ("customer_id", "grain", "bucket", "prefix"),
                      _PREFIX_ADD), prefix,
        [{"customer_id": k[0], "grain": k[1], "bucket": at(k[2]), "prefix": k[3], **v}
         for k, v in pref.items()
         if any(v[f] for f in _PREFIX_ADD)])


def _bucket(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
