"""executemany handed straight to the driver, for the bulk writers (CDR batches, seeding).

SQLAlchemy builds and processes every parameter of every row in Python; for batches of
thousands of rows that was most of the time a batch took. Here each column's conversion is
chosen once per statement and the rows go to the DBAPI as tuples. The conversions are the
column types' own (data/types.py): Money -> micro-units, UTCDateTime -> naive UTC, in
SQLAlchemy's text form on SQLite; any other type with a bind processor keeps it. The CDR
writer uses the money and time conversions on their own; they cache what repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.types import Money, UTCDateTime
from connex_tui.engine.money import MICRO, to_micro

# Money repeats (a rate, a zero charge, whole billing increments): each distinct value is
# converted once. Bounded; emptied when full.
_units: dict[Decimal, int] = {}
_CACHE_MAX = 50_000


def money_units(value: Decimal | None) -> int | None:
    """Money as stored: integer micro-units (to_micro, cached)."""
    if value.__class__ is float:  # checked first: 0.5 == Decimal("0.5") would hit the cache
        raise TypeError("money must be Decimal, not float")
    try:
        return _units[value]
    except KeyError:
        pass
    if value is None:
        return None
    exact = Decimal(value)
    if not exact.is_finite():
        return to_micro(exact)  # which refuses it
    num, den = exact.as_integer_ratio()  # reduced: den divides a power of ten
    scale, rest = divmod(MICRO, den)
    if rest:
        return to_micro(exact)  # finer than a micro-unit: to_micro says so
    if len(_units) >= _CACHE_MAX:
        _units.clear()
    units = _units[value] = num * scale
    return units


def _to_utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("naive datetime: use timezone-aware UTC")
    return t.astimezone(UTC)


# "YYYY-MM-DD HH:MM:" per UTC minute: the rest of the text is two numbers
_minutes: dict[int, str] = {}


def utc_text(t: datetime | None) -> str | None:
    """Naive UTC text, always with microseconds: as SQLAlchemy's SQLite DATETIME stores it
    (and as PostgreSQL reads a timestamp)."""
    if t is None:
        return None
    if t.tzinfo is not UTC:
        t = _to_utc(t)
    key = t.minute + 60 * (t.hour + 24 * t.toordinal())
    head = _minutes.get(key)
    if head is None:
        if len(_minutes) >= _CACHE_MAX:
            _minutes.clear()
        head = _minutes[key] = f"{t.year:04d}-{t.month:02d}-{t.day:02d} {t.hour:02d}:{t.minute:02d}:"
    return f"{head}{t.second:02d}.{t.microsecond:06d}"


def naive_utc(t: datetime | None) -> datetime | None:
    """As a PostgreSQL timestamp column takes it."""
    if t is None:
        return None
    if t.tzinfo is not UTC:
        t = _to_utc(t)
    return t.replace(tzinfo=None)


def _converter(table: Table, name: str, dialect) -> Callable[[Any], Any] | None:
    kind = table.c[name].type
    if isinstance(kind, Money):
        return money_units
    if isinstance(kind, UTCDateTime):
        return utc_text if dialect.name == "sqlite" else naive_utc
    return kind.dialect_impl(dialect).bind_processor(dialect)


async def executemany(session: AsyncSession, stmt, table: Table, rows: Sequence[Any],
                      attributes: Sequence[str] | None = None) -> None:
    """Run `stmt` (an INSERT or upsert into `table`) once per row, in the session's
    transaction. Rows are dicts with the same keys, or objects whose `attributes` are the
    columns (no dict per row)."""
    if not rows:
        return
    conn = await session.connection()
    dialect = conn.dialect
    keys = list(attributes) if attributes is not None else list(rows[0])
    compiled = stmt.compile(dialect=dialect, column_keys=keys)
    order = tuple(compiled.positiontup)
    pick = attrgetter if attributes is not None else itemgetter
    get = pick(*order) if len(order) > 1 else (lambda r, one=pick(order[0]): (one(r),))
    convert = [(i, c) for i, name in enumerate(order)
               if (c := _converter(table, name, dialect)) is not None]
    params = []
    for r in rows:
        values = list(get(r))
        for i, c in convert:
            values[i] = c(values[i])
        params.append(tuple(values))
    await conn.exec_driver_sql(compiled.string, params)
