"""executemany handed straight to the driver, for the bulk writers (CDR batches, seeding).

SQLAlchemy builds and processes every parameter of every row in Python; for batches of
thousands of rows that was most of the time a batch took. Here each column's conversion is
chosen once per statement and the rows go to the DBAPI as tuples. The conversions are the
column types' own (data/types.py): Money -> micro-units, UTCDateTime -> naive UTC, in
SQLAlchemy's text form on SQLite; any other type with a bind processor keeps it.
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
from connex_tui.engine.money import to_micro


def _money(value: Decimal | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("money must be Decimal, not float")
    return to_micro(Decimal(value))


def _sqlite_time(t: datetime | None) -> str | None:
    """As SQLAlchemy's SQLite DATETIME stores it: naive UTC, always with microseconds."""
    if t is None:
        return None
    if t.tzinfo is not UTC:
        if t.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        t = t.astimezone(UTC)
    return t.isoformat(" ", "microseconds")[:-6]  # without "+00:00"


def _naive_utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    if t.tzinfo is None:
        raise ValueError("naive datetime: use timezone-aware UTC")
    return t.astimezone(UTC).replace(tzinfo=None)


def _converter(table: Table, name: str, dialect) -> Callable[[Any], Any] | None:
    kind = table.c[name].type
    if isinstance(kind, Money):
        return _money
    if isinstance(kind, UTCDateTime):
        return _sqlite_time if dialect.name == "sqlite" else _naive_utc
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
