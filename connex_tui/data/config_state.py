"""The routing-configuration generation: bumped by every configuration write, read before
each simulated call so a change made by any operator is in effect for the next call."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.models import ConfigState
from connex_tui.data.upsert import upsert_add


async def bump(s: AsyncSession) -> None:
    """Call inside the writing transaction (after the change). An upsert, so a database
    whose row went missing (a truncated test schema) still counts up."""
    stmt = upsert_add(s.bind.dialect.name, ConfigState.__table__, ("id",), ("generation",))
    await s.execute(stmt.values(id=1, generation=1))


async def current(s: AsyncSession) -> int:
    return int(await s.scalar(select(ConfigState.generation).where(ConfigState.id == 1)) or 0)
