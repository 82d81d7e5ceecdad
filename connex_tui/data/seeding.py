"""A demo seeding's footprint: the check that the database holds no business yet, the
marker a seeding leaves until it completes, and the clean-up of one that was interrupted.

The marker is an operator row (no schema change): present only while a seeding runs, so a
rerun that finds it knows every row came from the broken seeding and may remove them all.
A SQLite file is seeded into a staging file beside it and renamed when complete.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.models import Base, Customer, Operator, Provider, RateCard

MARKER = "(demo seeding)"


async def business_table(s: AsyncSession) -> str | None:
    """The first of customers, providers and rate cards that has rows (None: empty)."""
    for model in (Customer, Provider, RateCard):
        if await s.scalar(select(func.count()).select_from(model)):
            return model.__tablename__
    return None


async def interrupted(s: AsyncSession) -> bool:
    return bool(await s.scalar(select(func.count()).select_from(Operator).where(
        Operator.name == MARKER)))


async def mark(s: AsyncSession, at: datetime) -> None:
    await s.execute(insert(Operator).values(name=MARKER, role="viewer", version=1,
                                            created_at=at, updated_at=at))


async def unmark(s: AsyncSession) -> None:
    await s.execute(delete(Operator).where(Operator.name == MARKER))


async def wipe(s: AsyncSession) -> None:
    """Every row of every table, children first (only after `interrupted`)."""
    for table in reversed(Base.metadata.sorted_tables):
        await s.execute(table.delete())


def staging(url: str) -> tuple[str, Path, Path] | None:
    """For a SQLite file URL: (the staging file's URL, staging path, final path)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:" \
            or u.database.startswith("file:"):
        return None
    final = Path(u.database)
    tmp = final.with_name(final.name + ".tmp")
    return u.set(database=str(tmp)).render_as_string(hide_password=False), tmp, final
