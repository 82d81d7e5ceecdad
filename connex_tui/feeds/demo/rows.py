"""Bulk inserts of prepared rows for the seeder (ids assigned here, not by RETURNING)."""

from __future__ import annotations

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.models import (
    Alert,
    Customer,
    IngressRoute,
    IpAuth,
    Package,
    Payment,
    Provider,
    RateCard,
)


def _full(table, rows: list[dict]) -> list[dict]:
    """Every row with every column but the key (Core defaults filled, keys uniform)."""
    defaults = {c.name: c.default.arg for c in table.columns
                if c.default is not None and c.default.is_scalar}
    return [{**defaults, **r} for r in rows]


async def insert_rows(session: AsyncSession, model, rows: list[dict], *,
                      returning: bool = False) -> list[int]:
    """Executemany insert in slices; `returning` numbers the rows after max(id) and says so.

    Explicit keys instead of RETURNING: SQLite answers an ordered RETURNING one row per
    statement, which is 30x slower. The seed is the only writer (same transaction), and
    `fix_sequences` moves PostgreSQL's sequences past the keys at the end.
    """
    if not rows:
        return []
    table = model.__table__
    rows = _full(table, rows)
    ids: list[int] = []
    if returning:
        first = (await session.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
        rows = [{**r, "id": i} for i, r in zip(ids, rows, strict=True)]
    for i in range(0, len(rows), 5000):
        await session.execute(insert(table), rows[i:i + 5000])
    return ids


_NUMBERED = (Provider, RateCard, Package, Customer, IpAuth, IngressRoute, Alert, Payment)


async def fix_sequences(session: AsyncSession) -> None:
    """PostgreSQL: next ids after the explicit ones `insert_rows` wrote (SQLite needs nothing)."""
    if session.bind.dialect.name != "postgresql":
        return
    for model in _NUMBERED:
        name = model.__tablename__
        await session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name} "
            "HAVING max(id) IS NOT NULL"))
