"""Writes rated CDRs in batches and, in the same transaction, the rollups and the ledger.

Peak CPS is the busiest second seen within a batch, merged with max() across batches; a
second split over two batches is counted as two smaller peaks (writers batch by time, so
that is rare and only ever under-reports).

Speed (bench/cdr_writer.py): the database adds up the batch, not Python. Python only turns
each CDR into its stored row (money to micro-units through a small cache, times to the
stored form); the rollups, per-code and per-prefix counts, the ledger entry per customer
and the customers' cached balance and last call are then computed by SQL from the rows
just stored, as sums of exact integer micro-units (the same sums as adding the Decimals:
to_micro refuses anything finer than a micro-unit). On SQLite that is one executemany and
five INSERT/UPDATE ... SELECT statements over the batch's rowid range (one writer holds the
lock, so the batch's ids are contiguous); on PostgreSQL one statement: the batch as column
arrays through unnest(), with the rollups, ledger and customers as data-modifying CTEs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.models import Cdr
from connex_tui.engine.money import to_micro


@dataclass(frozen=True, slots=True)
class CdrInput:
    call_id: str
    customer_id: int
    started_at: datetime
    ended_at: datetime
    dialled: str
    sip_code: int
    answered_at: datetime | None = None
    duration_ms: int = 0
    billed_s: int = 0
    cli_in: str = ""
    cli_out: str = ""
    prefix: str = ""
    destination: str = ""
    rate: Decimal = Decimal(0)
    connect_fee: Decimal = Decimal(0)
    charge: Decimal = Decimal(0)
    provider_cost: Decimal = Decimal(0)
    sip_reason: str = ""
    release_reason: str = ""
    pdd_ms: int | None = None
    switch_ip: str = ""
    source_ip: str = ""
    route_id: int | None = None
    provider_id: int | None = None
    simulated: bool = False


_FIELDS = tuple(f.name for f in fields(CdrInput))
_TIMES = ("started_at", "answered_at", "ended_at")
_MONEY = ("rate", "connect_fee", "charge", "provider_cost")
assert set(_FIELDS) <= set(Cdr.__table__.c.keys()), "every CdrInput field is a cdrs column"


# -- a CDR as its stored row ----------------------------------------------------------------
# Charges repeat (one rate, billed in whole increments; every failed call is 0): converting
# each distinct value once saves most of to_micro's cost. Bounded; cleared when full.
_micro_cache: dict[Decimal, int] = {}
_MICRO_CACHE_MAX = 50_000


def _micro(value: Decimal | None) -> int | None:
    if value.__class__ is float:  # a float equals its Decimal: the cache would let it in
        raise TypeError("money must be Decimal, not float")
    try:
        return _micro_cache[value]
    except KeyError:
        pass
    if value is None:
        return None  # the NOT NULL column refuses it, as before
    units = to_micro(Decimal(value))
    if len(_micro_cache) >= _MICRO_CACHE_MAX:
        _micro_cache.clear()
    _micro_cache[value] = units
    return units


# "YYYY-MM-DD HH:MM:" per UTC minute: the rest of the stored form is two numbers
_minute_cache: dict[tuple, str] = {}


def _sqlite_time(t: datetime | None) -> str | None:
    """As SQLAlchemy's SQLite DATETIME stores a UTCDateTime: naive UTC, with microseconds."""
    if t is None:
        return None
    if t.tzinfo is not UTC:
        if t.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        t = t.astimezone(UTC)
    key = (t.minute, t.hour, t.day, t.month, t.year)
    head = _minute_cache.get(key)
    if head is None:
        if len(_minute_cache) >= _MICRO_CACHE_MAX:
            _minute_cache.clear()
        head = _minute_cache[key] = t.strftime("%Y-%m-%d %H:%M:")
    return f"{head}{t.second:02d}.{t.microsecond:06d}"


def _sqlite_rows(cdrs: Sequence[CdrInput]) -> list[tuple]:
    """The rows in _FIELDS order, as SQLite stores them."""
    m, t = _micro, _sqlite_time
    return [(c.call_id, c.customer_id, t(c.started_at), t(c.ended_at), c.dialled, c.sip_code,
             t(c.answered_at), c.duration_ms, c.billed_s, c.cli_in, c.cli_out, c.prefix,
             c.destination, m(c.rate), m(c.connect_fee), m(c.charge), m(c.provider_cost),
             c.sip_reason, c.release_reason, c.pdd_ms, c.switch_ip, c.source_ip, c.route_id,
             c.provider_id, c.simulated)
            for c in cdrs]


def _pg_columns(cdrs: Sequence[CdrInput]) -> list[list]:
    """One list per field in _FIELDS order, for unnest(). Times stay aware (timestamptz
    arrays, turned into naive UTC by the statement); naive ones are refused here, as the
    column type refuses them."""
    columns = []
    for name in _FIELDS:
        values = [getattr(c, name) for c in cdrs]
        if name in _MONEY:
            values = [_micro(v) for v in values]
        elif name in _TIMES and any(v is not None and v.tzinfo is None for v in values):
            raise ValueError("naive datetime: use timezone-aware UTC")
        columns.append(values)
    return columns


def _ledger_ref(cdrs: Sequence[CdrInput]) -> str:
    """The batch's ledger reference: its first counted call (ledger.ref is 64 wide; a SIP
    Call-ID up to 128)."""
    first = next((c for c in cdrs if not c.simulated), cdrs[0])
    return f"cdr:{first.call_id}"[:64]


# -- SQLite: the batch is the rowid range just inserted --------------------------------------
_BATCH = "FROM cdrs WHERE id BETWEEN ? AND ? AND NOT simulated"  # first, last id
_SQLITE_MINUTE = "substr({0}, 1, 16) || ':00.000000'"
_SQLITE_HOUR = "substr({0}, 1, 13) || ':00:00.000000'"

_SQLITE_INSERT = (f"INSERT INTO cdrs ({', '.join(_FIELDS)}) "
                  f"VALUES ({', '.join('?' * len(_FIELDS))})")

# per second first (the peak is the busiest second), then per minute and per hour
_SQLITE_ROLLUPS = f"""
INSERT INTO stats_rollups (customer_id, grain, bucket, attempts, connected, duration_ms,
    billed_s, pdd_sum_ms, pdd_count, charge, cost, peak_cps)
SELECT customer_id, g, CASE g WHEN 'm' THEN {_SQLITE_MINUTE.format('sec')}
                             ELSE {_SQLITE_HOUR.format('sec')} END AS b,
       sum(n), sum(connected), sum(duration_ms), sum(billed_s), sum(pdd_sum_ms),
       sum(pdd_count), sum(charge), sum(cost), max(n)
FROM (SELECT customer_id, substr(started_at, 1, 19) AS sec, count(*) AS n,
             count(answered_at) AS connected, sum(duration_ms) AS duration_ms,
             sum(billed_s) AS billed_s, coalesce(sum(pdd_ms), 0) AS pdd_sum_ms,
             count(pdd_ms) AS pdd_count, sum(charge) AS charge, sum(provider_cost) AS cost
      {_BATCH} GROUP BY customer_id, sec)
CROSS JOIN (SELECT 'm' AS g UNION ALL SELECT 'h')
WHERE true
GROUP BY customer_id, g, b
ON CONFLICT (customer_id, grain, bucket) DO UPDATE SET
    attempts = attempts + excluded.attempts, connected = connected + excluded.connected,
    duration_ms = duration_ms + excluded.duration_ms, billed_s = billed_s + excluded.billed_s,
    pdd_sum_ms = pdd_sum_ms + excluded.pdd_sum_ms, pdd_count = pdd_count + excluded.pdd_count,
    charge = charge + excluded.charge, cost = cost + excluded.cost,
    peak_cps = max(peak_cps, excluded.peak_cps)
"""

_SQLITE_CODES = f"""
INSERT INTO stats_codes (customer_id, grain, bucket, sip_code, count)
SELECT customer_id, g, CASE g WHEN 'm' THEN minute || ':00.000000'
                             ELSE {_SQLITE_HOUR.format('minute')} END AS b,
       sip_code, sum(n)
FROM (SELECT customer_id, substr(started_at, 1, 16) AS minute, sip_code, count(*) AS n
      {_BATCH} GROUP BY customer_id, minute, sip_code)
CROSS JOIN (SELECT 'm' AS g UNION ALL SELECT 'h')
WHERE true
GROUP BY customer_id, g, b, sip_code
ON CONFLICT (customer_id, grain, bucket, sip_code) DO UPDATE SET
    count = count + excluded.count
"""

# The destination is the one of the key's first CDR in the batch (SQLite takes a bare
# column from the row that gave min()), and replaces the stored one.
_SQLITE_PREFIXES = f"""
INSERT INTO stats_prefixes (customer_id, grain, bucket, prefix, destination, attempts,
    connected, duration_ms, billed_s, charge, cost)
SELECT customer_id, g, b, prefix, destination, n, connected, duration_ms, billed_s, charge,
       cost
FROM (SELECT customer_id, g, CASE g WHEN 'h' THEN hour || ':00:00.000000'
                                   ELSE substr(hour, 1, 10) || ' 00:00:00.000000' END AS b,
             prefix, min(first), destination, sum(n) AS n, sum(connected) AS connected,
             sum(duration_ms) AS duration_ms, sum(billed_s) AS billed_s,
             sum(charge) AS charge, sum(cost) AS cost
      FROM (SELECT customer_id, substr(started_at, 1, 13) AS hour, prefix, min(id) AS first,
                   destination, count(*) AS n, count(answered_at) AS connected,
                   sum(duration_ms) AS duration_ms, sum(billed_s) AS billed_s,
                   sum(charge) AS charge, sum(provider_cost) AS cost
            {_BATCH} GROUP BY customer_id, hour, prefix)
      CROSS JOIN (SELECT 'h' AS g UNION ALL SELECT 'd')
      GROUP BY customer_id, g, b, prefix)
WHERE true
ON CONFLICT (customer_id, grain, bucket, prefix) DO UPDATE SET
    destination = excluded.destination, attempts = attempts + excluded.attempts,
    connected = connected + excluded.connected,
    duration_ms = duration_ms + excluded.duration_ms, billed_s = billed_s + excluded.billed_s,
    charge = charge + excluded.charge, cost = cost + excluded.cost
"""

# One ledger row per customer whose calls cost something, in the order the customers first
# appear in the batch; the cached balance moves by the same sum (docs/decisions.md).
_SQLITE_LEDGER = f"""
INSERT INTO ledger (customer_id, kind, amount, ref, note, at)
SELECT customer_id, 'calls', -sum(charge), ?, count(*) || ' calls', ?
{_BATCH} GROUP BY customer_id HAVING sum(charge) <> 0 ORDER BY min(id)
"""

_SQLITE_CUSTOMERS = f"""
UPDATE customers SET balance = balance - batch.charge,
    last_call_at = CASE WHEN last_call_at IS NULL OR last_call_at < batch.last
                        THEN batch.last ELSE last_call_at END
FROM (SELECT customer_id, sum(charge) AS charge, max(started_at) AS last
      {_BATCH} GROUP BY customer_id) AS batch
WHERE customers.id = batch.customer_id
"""


async def _write_sqlite(conn, cdrs: Sequence[CdrInput], at: datetime) -> None:
    await conn.exec_driver_sql(_SQLITE_INSERT, _sqlite_rows(cdrs))
    if all(c.simulated for c in cdrs):
        return
    last = (await conn.exec_driver_sql("SELECT last_insert_rowid()")).scalar_one()
    span = (last - len(cdrs) + 1, last)
    for sql in (_SQLITE_ROLLUPS, _SQLITE_CODES, _SQLITE_PREFIXES):
        await conn.exec_driver_sql(sql, span)
    await conn.exec_driver_sql(_SQLITE_LEDGER, (_ledger_ref(cdrs), _sqlite_time(at), *span))
    await conn.exec_driver_sql(_SQLITE_CUSTOMERS, span)


# -- PostgreSQL: one statement ----------------------------------------------------------------
_PG_TYPES = {"call_id": "text", "customer_id": "int", "started_at": "timestamptz",
             "ended_at": "timestamptz", "dialled": "text", "sip_code": "int",
             "answered_at": "timestamptz", "duration_ms": "int", "billed_s": "int",
             "cli_in": "text", "cli_out": "text", "prefix": "text", "destination": "text",
             "rate": "bigint", "connect_fee": "bigint", "charge": "bigint",
             "provider_cost": "bigint", "sip_reason": "text", "release_reason": "text",
             "pdd_ms": "int", "switch_ip": "text", "source_ip": "text", "route_id": "int",
             "provider_id": "int", "simulated": "bool"}
assert tuple(_PG_TYPES) == _FIELDS
_N = len(_FIELDS)


def _pg_select(name: str) -> str:
    return f"{name} AT TIME ZONE 'UTC' AS {name}" if name in _TIMES else name


_PG_STATEMENT = f"""
WITH src AS MATERIALIZED (
    SELECT {', '.join(_pg_select(n) for n in _FIELDS)}, ord
    FROM unnest({', '.join(f'${i}::{t}[]' for i, t in enumerate(_PG_TYPES.values(), 1))})
         WITH ORDINALITY AS s({', '.join(_FIELDS)}, ord)),
ins AS (
    INSERT INTO cdrs ({', '.join(_FIELDS)})
    SELECT {', '.join(_FIELDS)} FROM src ORDER BY ord),
real AS MATERIALIZED (SELECT * FROM src WHERE NOT simulated),
sec AS (
    SELECT customer_id, date_trunc('second', started_at) AS sec, count(*) AS n,
           count(answered_at) AS connected, sum(duration_ms) AS duration_ms,
           sum(billed_s) AS billed_s, coalesce(sum(pdd_ms), 0) AS pdd_sum_ms,
           count(pdd_ms) AS pdd_count, sum(charge) AS charge, sum(provider_cost) AS cost
    FROM real GROUP BY 1, 2),
rollups AS (
    INSERT INTO stats_rollups (customer_id, grain, bucket, attempts, connected, duration_ms,
        billed_s, pdd_sum_ms, pdd_count, charge, cost, peak_cps)
    SELECT customer_id, g, date_trunc(unit, sec), sum(n), sum(connected), sum(duration_ms),
           sum(billed_s), sum(pdd_sum_ms), sum(pdd_count), sum(charge), sum(cost), max(n)
    FROM sec CROSS JOIN (VALUES ('m', 'minute'), ('h', 'hour')) AS grains(g, unit)
    GROUP BY 1, 2, 3
    ON CONFLICT (customer_id, grain, bucket) DO UPDATE SET
        attempts = stats_rollups.attempts + excluded.attempts,
        connected = stats_rollups.connected + excluded.connected,
        duration_ms = stats_rollups.duration_ms + excluded.duration_ms,
        billed_s = stats_rollups.billed_s + excluded.billed_s,
        pdd_sum_ms = stats_rollups.pdd_sum_ms + excluded.pdd_sum_ms,
        pdd_count = stats_rollups.pdd_count + excluded.pdd_count,
        charge = stats_rollups.charge + excluded.charge,
        cost = stats_rollups.cost + excluded.cost,
        peak_cps = greatest(stats_rollups.peak_cps, excluded.peak_cps)),
codes AS (
    INSERT INTO stats_codes (customer_id, grain, bucket, sip_code, count)
    SELECT customer_id, g, date_trunc(unit, started_at), sip_code, count(*)
    FROM real CROSS JOIN (VALUES ('m', 'minute'), ('h', 'hour')) AS grains(g, unit)
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (customer_id, grain, bucket, sip_code) DO UPDATE SET
        count = stats_codes.count + excluded.count),
prefixes AS (
    INSERT INTO stats_prefixes (customer_id, grain, bucket, prefix, destination, attempts,
        connected, duration_ms, billed_s, charge, cost)
    SELECT customer_id, g, date_trunc(unit, started_at), prefix,
           (array_agg(destination ORDER BY ord))[1], count(*), count(answered_at),
           sum(duration_ms), sum(billed_s), sum(charge), sum(provider_cost)
    FROM real CROSS JOIN (VALUES ('h', 'hour'), ('d', 'day')) AS grains(g, unit)
    GROUP BY 1, 2, 3, 4
    ON CONFLICT (customer_id, grain, bucket, prefix) DO UPDATE SET
        destination = excluded.destination,
        attempts = stats_prefixes.attempts + excluded.attempts,
        connected = stats_prefixes.connected + excluded.connected,
        duration_ms = stats_prefixes.duration_ms + excluded.duration_ms,
        billed_s = stats_prefixes.billed_s + excluded.billed_s,
        charge = stats_prefixes.charge + excluded.charge,
        cost = stats_prefixes.cost + excluded.cost),
per_customer AS MATERIALIZED (
    SELECT customer_id, sum(charge) AS charge, count(*) AS n, max(started_at) AS last,
           min(ord) AS first
    FROM real GROUP BY customer_id),
ledger_rows AS (
    INSERT INTO ledger (customer_id, kind, amount, ref, note, at)
    SELECT customer_id, 'calls', -charge, ${_N + 1}::text, n || ' calls', ${_N + 2}::timestamptz AT TIME ZONE 'UTC'
    FROM per_customer WHERE charge <> 0 ORDER BY first),
balances AS (
    UPDATE customers SET balance = customers.balance - per_customer.charge,
        last_call_at = greatest(customers.last_call_at, per_customer.last)
    FROM per_customer WHERE customers.id = per_customer.customer_id)
SELECT 1
"""


async def _write_pg(conn, cdrs: Sequence[CdrInput], at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("naive datetime: use timezone-aware UTC")
    await conn.exec_driver_sql(_PG_STATEMENT, (*_pg_columns(cdrs), _ledger_ref(cdrs), at))


async def write_batch(session: AsyncSession, cdrs: list[CdrInput], *, at: datetime) -> None:
    """Insert CDRs, add them to the minute and hour rollups and the hour and day per-prefix
    rollups, debit charges to the ledger.

    Runs in the caller's transaction: all of it lands or none of it. Simulations are stored
    (Latest Calls shows them) but count in neither the rollups nor the ledger.
    """
    if not cdrs:
        return
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await _write_pg(conn, cdrs, at)
    else:
        await _write_sqlite(conn, cdrs, at)
