"""Free-minutes packages consumed as CDRs are written (docs/domain.md §12), and what is left.

`consume` runs inside the CDR writer's transaction, before the CDRs are stored: it decides
which calls a package pays for (engine/free_minutes.py), moves the packages' usage rows
(`free_minute_usage`, one per customer package and interval) and hands back each such
call's free seconds and new charge. So the usage lands with the CDRs, their rollups and
their ledger entry or not at all: a call is never free twice, and a batch that fails (a
call id already stored, a lost connection) and is written again consumes once.

Two writers (PostgreSQL) meet on the usage rows: each creates the rows it needs (ON
CONFLICT DO NOTHING) and then locks them (FOR UPDATE), both in key order, before reading
what is used; the second waits for the first and reads what it left. SQLite has one writer
at a time (the INSERT takes its write lock first).

Cost: a batch makes one small query (is any free-minutes package assigned at all?) and
does nothing per CDR when none is; otherwise one query for its customers' packages and,
only when a call matches, the usage and the routes of the matching calls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, select, tuple_, update

from connex_tui.data.models import (
    CustomerPackage,
    FreeMinuteUsage,
    IngressRoute,
    Package,
    RateCard,
)
from connex_tui.engine.free_minutes import (
    KIND,
    Allowance,
    Call,
    allocate,
    allowance,
    candidates,
    charge_after_free,
)

# Asked of every batch, as plain SQL on the session's connection: SQLAlchemy's compiled
# select costs several times the query itself on an empty table.
_ANY = ("SELECT 1 FROM customer_packages JOIN packages ON packages.id = "
        f"customer_packages.package_id WHERE packages.kind = '{KIND}' AND "
        "packages.free_minutes > 0 LIMIT 1")
_DEFAULT_CARD = (4, "up")  # a call whose route is gone: RateCard's defaults


def _allowances_query(customer_ids):
    return (select(CustomerPackage.id, CustomerPackage.customer_id, Package.name,
                   CustomerPackage.start, CustomerPackage.end, Package.frequency,
                   Package.free_minutes, CustomerPackage.quantity, Package.destination_regex,
                   Package.match_days)
            .join(Package, Package.id == CustomerPackage.package_id)
            .where(Package.kind == KIND, Package.free_minutes > 0,
                   CustomerPackage.customer_id.in_(customer_ids))
            .order_by(CustomerPackage.id))


async def _allowances(s, customer_ids) -> dict[int, list[Allowance]]:
    out: dict[int, list[Allowance]] = defaultdict(list)
    for row in await s.execute(_allowances_query(customer_ids)):
        a = allowance(*row)
        out[a.customer_id].append(a)
    return out


async def _routes(s, route_ids) -> dict[int, tuple[str, int, str]]:
    """route id -> (tech prefix, card precision, card rounding)."""
    if not route_ids:
        return {}
    rows = await s.execute(
        select(IngressRoute.id, IngressRoute.tech_prefix, RateCard.precision,
               RateCard.rounding)
        .join(RateCard, RateCard.id == IngressRoute.rate_card_id)
        .where(IngressRoute.id.in_(sorted(route_ids))))
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _number(dialled: str, tech_prefix: str) -> str:
    if tech_prefix and dialled.startswith(tech_prefix):
        return dialled[len(tech_prefix):]  # as the pipeline rates it
    return dialled


async def _lock_usage(s, keys: list[tuple[int, datetime]]) -> dict[tuple[int, datetime], int]:
    """Create the usage rows of `keys` when missing, lock them, and read what is used."""
    table = FreeMinuteUsage.__table__
    if (await s.connection()).dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    await s.execute(insert(table).on_conflict_do_nothing(), [
        {"customer_package_id": cp, "interval_start": begin, "used_s": 0}
        for cp, begin in keys])
    rows = await s.execute(
        select(table.c.customer_package_id, table.c.interval_start, table.c.used_s)
        .where(tuple_(table.c.customer_package_id, table.c.interval_start).in_(keys))
        .order_by(table.c.customer_package_id, table.c.interval_start)
        .with_for_update())
    return {(cp, begin): used for cp, begin, used in rows}


@dataclass(frozen=True, slots=True)
class Free:
    """A call some package paid for: its free seconds and its charge now."""

    free_s: int
    charge: Decimal


async def consume(s, cdrs: Sequence) -> dict[int, Free]:
    """Free seconds and new charge per batch index of `cdrs` (CdrInput) that a
    free-minutes package pays for, in part or whole; the packages' usage moved with them,
    in the session's transaction. Empty (after one small query) when no customer has a
    free-minutes package."""
    if (await (await s.connection()).exec_driver_sql(_ANY)).first() is None:
        return {}
    customer_ids = {c.customer_id for c in cdrs if c.answered_at is not None
                    and c.billed_s > 0 and not c.simulated}
    if not customer_ids:
        return {}
    allowances = await _allowances(s, sorted(customer_ids))
    if not allowances:
        return {}
    mine = [(i, c) for i, c in enumerate(cdrs) if c.customer_id in allowances
            and c.answered_at is not None and c.billed_s > 0 and not c.simulated]
    routes = await _routes(s, {c.route_id for _, c in mine if c.route_id is not None})
    calls = [Call(i, c.customer_id, c.started_at,
                  _number(c.dialled, routes.get(c.route_id, ("",))[0]), c.billed_s)
             for i, c in mine]
    wanted = candidates(calls, allowances)
    if not wanted:
        return {}
    keys = sorted({k for _, ks in wanted for k in ks})
    used = await _lock_usage(s, keys)
    before = dict(used)
    limits = {a.customer_package_id: a.seconds for alist in allowances.values() for a in alist}
    free = allocate(wanted, limits, used)
    moved = [{"cp": k[0], "begin": k[1], "used": v} for k, v in sorted(used.items())
             if v != before.get(k)]
    if moved:
        t = FreeMinuteUsage.__table__
        await s.execute(update(t).where(t.c.customer_package_id == bindparam("cp"),
                                        t.c.interval_start == bindparam("begin"))
                        .values(used_s=bindparam("used")), moved)
    out: dict[int, Free] = {}
    for i, free_s in free.items():
        c = cdrs[i]
        _, precision, rounding = routes.get(c.route_id, ("", *_DEFAULT_CARD))
        out[i] = Free(free_s, charge_after_free(c.billed_s, free_s, c.rate, c.connect_fee,
                                                precision, rounding))
    return out


@dataclass(frozen=True, slots=True)
class Left:
    """One free-minutes package of a customer in the interval holding a moment."""

    package: str
    interval_start: datetime
    allowance_s: int
    used_s: int

    @property
    def left_s(self) -> int:
        return max(self.allowance_s - self.used_s, 0)


async def free_minutes_left(s, customer_id: int, at: datetime) -> list[Left]:
    """The customer's free-minutes packages active at `at`: package name, the interval's
    start, the allowance and the seconds used in it (for the Packages tab and
    `connex-tui packages usage`)."""
    allowances = (await _allowances(s, [customer_id])).get(customer_id, [])
    current = [(a, begin) for a in allowances if (begin := a.interval(at)) is not None]
    if not current:
        return []
    t = FreeMinuteUsage.__table__
    keys = [(a.customer_package_id, begin) for a, begin in current]
    used = {(cp, begin): u for cp, begin, u in await s.execute(
        select(t.c.customer_package_id, t.c.interval_start, t.c.used_s)
        .where(tuple_(t.c.customer_package_id, t.c.interval_start).in_(keys)))}
    return [Left(a.name, begin, a.seconds, used.get((a.customer_package_id, begin), 0))
            for a, begin in current]


async def customer_usage(db, name: str, at: datetime) -> tuple[str, list[Left]]:
    """(the customer's name, free_minutes_left) for the customer named `name` (any case,
    archived ones too); NotFound otherwise. Reads only: any role may."""
    from connex_tui.data.access import NotFound
    from connex_tui.data.models import Customer

    async with db.sessions() as s:
        row = (await s.execute(select(Customer.id, Customer.name)
                               .where(Customer.name_key == name.lower()))).first()
        if row is None:
            raise NotFound(f"no customer named {name!r}")
        return row[1], await free_minutes_left(s, row[0], at)
