"""DID rent (docs/domain.md §11): each assigned, enabled DID's monthly retail, charged to its
customer once per calendar month (UTC) through the ledger by `connex-tui jobs run`.

Reserved interface: the DID work fills it in; the jobs command calls these two.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.engine.jobs import DueCharge


async def due_rent(s: AsyncSession, at: datetime) -> list[DueCharge]:
    """The rent due at `at` and not yet charged (what a dry run shows)."""
    return []


async def charge_rent(s: AsyncSession, at: datetime) -> list[DueCharge]:
    """Charge every rent due at `at` in the caller's transaction, recording each month so a
    rerun charges nothing twice; returns what it charged."""
    return []
