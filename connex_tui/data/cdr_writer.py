"""Writes rated CDRs in batches and, in the same transaction, the rollups and the ledger.

Peak CPS is the busiest second seen within a batch, merged with max() across batches; a
second split over two batches is counted as two smaller peaks (writers batch by time, so
that is rare and only ever under-reports).

Speed (bench/cdr_writer.py, against a bare insert of the same rows): each CDR becomes its
stored row once (data/bulk.py's cached conversions: micro-units, UTC) and the
rows go to the database in one call: sqlite3's executemany, or asyncpg's binary COPY on
PostgreSQL. One pass over those rows adds up the rollups, per-code and per-prefix counts,
ledger entries and customers' balance and last call, in exact integer micro-units (the same
sums as adding the Decimals: to_micro refuses anything finer than a micro-unit); they are
written as a few small upserts (one statement of data-modifying CTEs on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from operator import itemgetter

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from connex_tui.data.bulk import money_units, naive_utc, utc_text
from connex_tui.data.free_minutes import consume
from connex_tui.data.models import Cdr


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
    free_s: int = 0  # billed seconds a free-minutes package paid for (data/free_minutes.py)


# The columns in the order _rows() builds them: a field added to CdrInput goes there too.
_FIELDS = ("call_id", "customer_id", "started_at", "ended_at", "dialled", "sip_code",
           "answered_at", "duration_ms", "billed_s", "cli_in", "cli_out", "prefix",
           "destination", "rate", "connect_fee", "charge", "provider_cost", "sip_reason",
           "release_reason", "pdd_ms", "switch_ip", "source_ip", "route_id", "provider_id",
           "simulated", "free_s")
assert tuple(f.name for f in fields(CdrInput)) == _FIELDS, "add the new field to _rows()"
assert set(_FIELDS) <= set(Cdr.__table__.c.keys()), "every CdrInput field is a cdrs column"
_ADD = ("attempts", "connected", "duration_ms", "billed_s", "pdd_sum_ms", "pdd_count",
        "charge", "cost")
_PREFIX_ADD = ("attempts", "connected", "duration_ms", "billed_s", "charge", "cost")
_ROLLUP_KEYS = ("customer_id", "grain", "bucket")
_CODE_KEYS = (*_ROLLUP_KEYS, "sip_code")
_PREFIX_KEYS = (*_ROLLUP_KEYS, "prefix")


# -- a CDR as its stored row ----------------------------------------------------------------
def _rows(cdrs: Sequence[CdrInput], t) -> list[tuple]:
    """The rows in _FIELDS order, times converted by `t`."""
    m = money_units
    return [(c.call_id, c.customer_id, t(c.started_at), t(c.ended_at), c.dialled, c.sip_code,
             t(c.answered_at), c.duration_ms, c.billed_s, c.cli_in, c.cli_out, c.prefix,
             c.destination, m(c.rate), m(c.connect_fee), m(c.charge), m(c.provider_cost),
             c.sip_reason, c.release_reason, c.pdd_ms, c.switch_ip, c.source_ip, c.route_id,
             c.provider_id, c.simulated, c.free_s)
            for c in cdrs]


def _ledger_ref(cdrs: Sequence[CdrInput]) -> str:
    """The batch's ledger reference: its first counted call (ledger.ref is 64 wide; a SIP
    Call-ID up to 128)."""
    first = next((c for c in cdrs if not c.simulated), cdrs[0])
    return f"cdr:{first.call_id}"[:64]


# -- the sums, in one pass over the stored rows ---------------------------------------------
# Positions in a stored row (_FIELDS order).
_CID, _START, _CODE, _ANSWER, _DUR, _BILLED = 1, 2, 5, 6, 7, 8
_PREFIX, _DEST, _CHARGE, _COST, _PDD, _SIM = 11, 12, 15, 16, 19, 24
assert [_FIELDS[i] for i in (_CID, _START, _CODE, _ANSWER, _DUR, _BILLED, _PREFIX, _DEST,
                             _CHARGE, _COST, _PDD, _SIM)] == [
    "customer_id", "started_at", "sip_code", "answered_at", "duration_ms", "billed_s",
    "prefix", "destination", "charge", "provider_cost", "pdd_ms", "simulated"]

# Buckets from the UTC text "YYYY-MM-DD HH:MM:SS.ffffff": a prefix of it, completed.
_MINUTE, _HOUR, _DAY = (16, ":00.000000"), (13, ":00:00.000000"), (10, " 00:00:00.000000")


def _sums(rows: list[tuple], starts: Iterable[str], ref: str, at: str) -> tuple[list, ...]:
    """The upserts' rows for the counted CDRs among `rows` (stored rows, `starts` their
    start times in UTC text): rollups, codes, prefixes, ledger entries and customers'
    (balance delta, last call, id). Buckets and times are UTC text.

    Written at hang-up, a batch's calls started over the last minutes or hours: sums are
    kept per minute (few keys, added in place), the per-second and per-code counts are
    tuples counted by Counter in C."""
    minutes: dict[tuple, list] = {}  # (customer, minute) -> _ADD sums, latest start
    hours: dict[tuple, list] = {}  # (customer, hour, prefix) -> _PREFIX_ADD sums, destination
    seconds: list[tuple] = []  # (customer, second) per CDR
    coded: list[tuple] = []  # (customer, minute, SIP code) per CDR
    for r, start in zip(rows, starts, strict=True):
        if r[_SIM]:
            continue
        cid, answered, duration, billed, pdd, charge, cost = (
            r[_CID], r[_ANSWER] is not None, r[_DUR], r[_BILLED], r[_PDD],
            r[_CHARGE], r[_COST])
        minute = start[:16]
        seconds.append((cid, start[:19]))
        coded.append((cid, minute, r[_CODE]))
        m = minutes.get(key := (cid, minute))
        if m is None:
            minutes[key] = [1, answered, duration, billed, pdd or 0, pdd is not None, charge,
                            cost, start]
        else:
            m[0] += 1
            m[1] += answered
            m[2] += duration
            m[3] += billed
            if pdd is not None:
                m[4] += pdd
                m[5] += 1
            m[6] += charge
            m[7] += cost
            if start > m[8]:  # the text orders as time does
                m[8] = start
        h = hours.get(key := (cid, start[:13], r[_PREFIX]))
        if h is None:
            hours[key] = [1, answered, duration, billed, charge, cost, r[_DEST]]
        else:
            h[0] += 1
            h[1] += answered
            h[2] += duration
            h[3] += billed
            h[4] += charge
            h[5] += cost

    peaks: dict[tuple, int] = {}  # (customer, minute) -> busiest second, where above 1
    for (cid, second), n in Counter(seconds).items():
        if n > 1 and n > peaks.get(key := (cid, second[:16]), 1):
            peaks[key] = n
    rollups: dict[tuple, list] = {}
    customers: dict[int, list] = {}  # in order of first appearance, as their minutes are
    for (cid, minute), m in minutes.items():
        peak = peaks.get((cid, minute), 1)
        rollups[cid, "m", minute + _MINUTE[1]] = [*m[:8], peak]
        r = rollups.get(key := (cid, "h", minute[:13] + _HOUR[1]))
        if r is None:
            rollups[key] = [*m[:8], peak]
        else:
            for i in range(8):
                r[i] += m[i]
            if peak > r[8]:
                r[8] = peak
        c = customers.get(cid)
        if c is None:
            customers[cid] = [m[6], m[0], m[8]]
        else:
            c[0] += m[6]
            c[1] += m[0]
            if m[8] > c[2]:
                c[2] = m[8]
    code_rows: Counter = Counter()
    for (cid, minute, code), n in Counter(coded).items():
        code_rows[cid, "m", minute + _MINUTE[1], code] += n
        code_rows[cid, "h", minute[:13] + _HOUR[1], code] += n
    prefixes: dict[tuple, list] = {}
    for (cid, hour, prefix), h in hours.items():
        prefixes[cid, "h", hour + _HOUR[1], prefix] = h
        d = prefixes.get(key := (cid, "d", hour[:10] + _DAY[1], prefix))
        if d is None:
            prefixes[key] = h[:]  # the first CDR's destination
        else:
            for i in range(6):
                d[i] += h[i]
    # Upserts in key order: concurrent writers (PostgreSQL) then lock shared rows in the
    # same order and cannot deadlock on them. Ledger rows keep first-appearance order.
    return (
        [(*k, *v) for k, v in sorted(rollups.items())],
        [(*k, n) for k, n in sorted(code_rows.items())],
        [(*k, v[6], *v[:6]) for k, v in sorted(prefixes.items())],
        [(cid, -total, ref, f"{n} calls", at) for cid, (total, n, _) in customers.items()
         if total],
        [(-total, last, cid) for cid, (total, _, last) in sorted(customers.items())],
    )


# -- SQLite: an executemany per table --------------------------------------------------------
def _upsert(table: str, keys: tuple[str, ...], add: tuple[str, ...], *,
            greatest: tuple[str, ...] = (), replace: tuple[str, ...] = ()) -> str:
    columns = (*keys, *replace, *add, *greatest)
    sets = [f"{c} = excluded.{c}" for c in replace]
    sets += [f"{c} = {c} + excluded.{c}" for c in add]
    sets += [f"{c} = max({c}, excluded.{c})" for c in greatest]  # SQLite's scalar max
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}")


_SQLITE_INSERT = (f"INSERT INTO cdrs ({', '.join(_FIELDS)}) "
                  f"VALUES ({', '.join('?' * len(_FIELDS))})")
_SQLITE_ROLLUPS = _upsert("stats_rollups", _ROLLUP_KEYS, _ADD, greatest=("peak_cps",))
_SQLITE_CODES = _upsert("stats_codes", _CODE_KEYS, ("count",))
_SQLITE_PREFIXES = _upsert("stats_prefixes", _PREFIX_KEYS, _PREFIX_ADD,
                           replace=("destination",))
_SQLITE_LEDGER = ("INSERT INTO ledger (customer_id, kind, amount, ref, note, at) "
                  "VALUES (?, 'calls', ?, ?, ?, ?)")
# the cached balance moves with its ledger row; the last call only moves forward
_SQLITE_CUSTOMER = ("UPDATE customers SET balance = balance + ?1, last_call_at = CASE WHEN "
                    "last_call_at IS NULL OR last_call_at < ?2 THEN ?2 ELSE last_call_at END "
                    "WHERE id = ?3")


async def _write_sqlite(conn: AsyncConnection, cdrs: Sequence[CdrInput], at: datetime) -> None:
    """The statements go straight to aiosqlite, on the session's connection and so in its
    transaction (sqlite3 opens it on the first write, as it does for SQLAlchemy): SQLAlchemy's
    own execute costs five times aiosqlite's hop to its thread, per statement. Errors come
    back as SQLAlchemy's, for the session to translate and roll back."""
    rows = _rows(cdrs, utc_text)
    sums = _sums(rows, map(itemgetter(_START), rows), _ledger_ref(cdrs), utc_text(at))
    driver = (await conn.get_raw_connection()).driver_connection
    for sql, params in zip((_SQLITE_INSERT, _SQLITE_ROLLUPS, _SQLITE_CODES, _SQLITE_PREFIXES,
                            _SQLITE_LEDGER, _SQLITE_CUSTOMER), (rows, *sums), strict=True):
        if params:
            try:
                await driver.executemany(sql, params)
            except sqlite3.Error as error:
                raise DBAPIError.instance(sql, None, error, sqlite3.Error) from error


# -- PostgreSQL: one statement for the sums, then COPY ---------------------------------------
_BIG = "bigint"
_PG_ROLLUPS = (("int", "text", "timestamp", *[_BIG] * len(_ADD), "int"),
               (*_ROLLUP_KEYS, *_ADD, "peak_cps"))
_PG_CODES = (("int", "text", "timestamp", "int", _BIG), (*_CODE_KEYS, "count"))
_PG_PREFIXES = (("int", "text", "timestamp", "text", "text", *[_BIG] * len(_PREFIX_ADD)),
                (*_PREFIX_KEYS, "destination", *_PREFIX_ADD))


def _pg_unnest(types: tuple[str, ...], names: tuple[str, ...], first: int) -> str:
    """unnest() of one array parameter per column, from $first; text times cast. Each array
    comes as the text of an array literal (_pg_array)."""
    arrays = ", ".join(f"${first + i}::text::{'text' if t == 'timestamp' else t}[]"
                       for i, t in enumerate(types))
    cols = ", ".join(f"{n}::timestamp" if t == "timestamp" else n
                     for t, n in zip(types, names, strict=True))
    return f"SELECT {cols} FROM unnest({arrays}) AS u({', '.join(names)})"


def _pg_upsert(table: str, spec: tuple, keys: tuple[str, ...], first: int, *,
               greatest: tuple[str, ...] = (), replace: tuple[str, ...] = ()) -> str:
    types, names = spec
    sets = [f"{c} = excluded.{c}" for c in replace]
    sets += [f"{c} = greatest({table}.{c}, excluded.{c})" for c in greatest]
    sets += [f"{c} = {table}.{c} + excluded.{c}" for c in names
             if c not in keys and c not in greatest and c not in replace]
    return (f"INSERT INTO {table} ({', '.join(names)}) {_pg_unnest(types, names, first)} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}")


_P_CODES = 1 + len(_PG_ROLLUPS[0])
_P_PREFIXES = _P_CODES + len(_PG_CODES[0])
_P_LEDGER = _P_PREFIXES + len(_PG_PREFIXES[0])
_P_CUSTOMERS = _P_LEDGER + 5
_PG_SUMS = f"""
WITH rollups AS ({_pg_upsert("stats_rollups", _PG_ROLLUPS, _ROLLUP_KEYS, 1,
                             greatest=("peak_cps",))}),
codes AS ({_pg_upsert("stats_codes", _PG_CODES, _CODE_KEYS, _P_CODES)}),
prefixes AS ({_pg_upsert("stats_prefixes", _PG_PREFIXES, _PREFIX_KEYS, _P_PREFIXES,
                         replace=("destination",))}),
ledger_rows AS (
    INSERT INTO ledger (customer_id, kind, amount, ref, note, at)
    SELECT c, 'calls', a, ${_P_LEDGER + 2}::text, n, ${_P_LEDGER + 4}::text::timestamp
    FROM unnest(${_P_LEDGER}::text::int[], ${_P_LEDGER + 1}::text::bigint[],
                ${_P_LEDGER + 3}::text::text[])
         WITH ORDINALITY AS u(c, a, n, o)
    ORDER BY o),
balances AS (
    UPDATE customers SET balance = customers.balance + u.d,
        last_call_at = greatest(customers.last_call_at, u.l::timestamp)
    FROM unnest(${_P_CUSTOMERS}::text::bigint[], ${_P_CUSTOMERS + 1}::text::text[],
                ${_P_CUSTOMERS + 2}::text::int[]) AS u(d, l, c)
    WHERE customers.id = u.c)
SELECT 1
"""


def _quoted(value: str | None) -> str:
    if value is None:
        return "NULL"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pg_array(values: Sequence, kind: str) -> str:
    """An array literal: asyncpg checks every element of a list parameter against the
    collection ABCs (about 1 us each, several ms a batch); one string is one check."""
    if kind in ("int", _BIG):
        return "{" + ",".join(map("%d".__mod__, values)) + "}"  # bool sums are ints
    return "{" + ",".join(map(_quoted, values)) + "}"


def _pg_arrays(rows: list[tuple], types: Sequence[str]) -> list[str]:
    """One array literal per column of `rows`."""
    columns = zip(*rows, strict=True) if rows else [()] * len(types)
    return [_pg_array(c, t) for c, t in zip(columns, types, strict=True)]


# A batch goes by COPY in parts: the server stores one part while Python builds the next
# (in slices of _PG_SLICE, yielding to the event loop in between so that asyncpg's writes
# go out), and adds up the sums while it stores the last. The first part is small, as
# nothing overlaps its making; the server stores a row slower than Python makes one.
_PG_FIRST = 100
_PG_PART = 500
_PG_SLICE = 100


def _parts(n: int) -> list[tuple[int, int]]:
    """(start, end) of each part of a batch of n rows."""
    bounds = [0, *range(min(_PG_FIRST, n), n, _PG_PART), n]
    return list(pairwise(bounds))


async def _copy(driver, rows: list[tuple]) -> None:
    """COPY rows into cdrs; asyncpg's errors raised as SQLAlchemy's, for the session."""
    try:
        await driver.copy_records_to_table("cdrs", records=rows, columns=_FIELDS)
    except Exception as error:
        import asyncpg  # only ever loaded with PostgreSQL

        if isinstance(error, asyncpg.IntegrityConstraintViolationError):
            raise IntegrityError("COPY cdrs", None, error) from error
        if isinstance(error, asyncpg.PostgresError | asyncpg.InterfaceError):
            raise DBAPIError("COPY cdrs", None, error) from error
        raise


async def _write_pg(conn: AsyncConnection, cdrs: Sequence[CdrInput], at: datetime) -> None:
    driver = (await conn.get_raw_connection()).driver_connection
    if not driver.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")  # SQLAlchemy opens its transaction lazily
        if not driver.is_in_transaction():
            raise RuntimeError("write_batch needs the caller's transaction")
    rows: list[tuple] = []
    copying: asyncio.Future | None = None
    try:
        for first, end in _parts(len(cdrs)):
            part: list[tuple] = []
            for j in range(first, end, _PG_SLICE):
                part += _rows(cdrs[j:min(j + _PG_SLICE, end)], naive_utc)
                if copying is not None:
                    await asyncio.sleep(0)  # the part being copied goes out meanwhile
            if copying is not None:
                await copying
            rows += part
            copying = asyncio.ensure_future(_copy(driver, part))
            await asyncio.sleep(0)  # COPY and its rows sent: the server works from here
        ref, when = _ledger_ref(cdrs), utc_text(at)
        rollups, codes, prefixes, ledger, customers = _sums(
            rows, [utc_text(c.started_at) for c in cdrs], ref, when)
    finally:
        if copying is not None:
            await copying
    params = [*_pg_arrays(rollups, _PG_ROLLUPS[0]), *_pg_arrays(codes, _PG_CODES[0]),
              *_pg_arrays(prefixes, _PG_PREFIXES[0])]
    customer, amount, _, note, _ = _pg_arrays(ledger, ("int", _BIG, "", "text", ""))
    params += [customer, amount, ref, note, when,
               *_pg_arrays(customers, (_BIG, "timestamp", "int"))]
    await conn.exec_driver_sql(_PG_SUMS, tuple(params))


async def write_batch(session: AsyncSession, cdrs: list[CdrInput], *, at: datetime) -> None:
    """Insert CDRs, add them to the minute and hour rollups and the hour and day per-prefix
    rollups, debit charges to the ledger.

    Runs in the caller's transaction: all of it lands or none of it. Simulations are stored
    (Latest Calls shows them) but count in neither the rollups nor the ledger. Calls a
    free-minutes package covers are first given their free seconds and their lower charge,
    and the package's usage moves with them (data/free_minutes.py).
    """
    if not cdrs:
        return
    await session.flush()  # what the caller staged lands first: the rows below skip the ORM
    free = await consume(session, cdrs)
    if free:
        cdrs = [replace(c, free_s=f.free_s, charge=f.charge)
                if (f := free.get(i)) is not None else c for i, c in enumerate(cdrs)]
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await _write_pg(conn, cdrs, at)
    else:
        await _write_sqlite(conn, cdrs, at)
