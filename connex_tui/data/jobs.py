"""`connex-tui jobs run`: the periodic charges (docs/domain.md §11 DID rent, §12 packages).

Packages are charged a batch of assignments per transaction (data/packages.BATCH): a kill
loses at most the batch in flight, which rolled back and is charged by the next run; memory
holds one batch. DID rent follows in one transaction of its own (data/did_rent). A dry run
asks the same questions and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from connex_tui.data import did_rent
from connex_tui.data.access import Actor
from connex_tui.data.db import Database
from connex_tui.data.models import CustomerPackage
from connex_tui.data.packages import BATCH, charge_packages, due_packages
from connex_tui.engine import packages as rules
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.jobs import DueCharge


@dataclass
class JobsSummary:
    count: int = 0
    totals: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (kind, currency)

    def add(self, charges: list[DueCharge]) -> None:
        for c in charges:
            self.count += 1
            key = (c.kind, c.currency)
            self.totals[key] = self.totals.get(key, Decimal(0)) + c.amount


async def run_jobs(db: Database, actor: Actor, at: datetime, *, dry_run: bool = False,
                   clock: Clock = utcnow,
                   on_charges: Callable[[list[DueCharge]], None] | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   batch: int = BATCH) -> JobsSummary:
    """Charge (or, dry, list) every package interval and DID rent due at `at`;
    `on_charges` sees each batch as it is done, `progress` (done, total) assignments."""
    if not dry_run:
        actor.require("write")
    summary = JobsSummary()

    def seen(charges: list[DueCharge]) -> None:
        summary.add(charges)
        if on_charges is not None and charges:
            on_charges(charges)

    horizon = at - timedelta(days=rules.CATCH_UP_DAYS)
    async with db.sessions() as s:
        total = int(await s.scalar(select(func.count()).select_from(CustomerPackage).where(
            CustomerPackage.start <= at,
            CustomerPackage.end.is_(None) | (CustomerPackage.end > horizon))) or 0)
    after, done = 0, 0
    while True:
        if dry_run:
            async with db.sessions() as s:
                charges, last = await due_packages(s, at, after_id=after, limit=batch)
        else:
            async with db.sessions() as s, s.begin():
                charges, last = await charge_packages(s, at, clock(), after_id=after,
                                                      limit=batch)
        if last is None:
            break
        seen(charges)
        after = last
        done = min(done + batch, total)
        if progress is not None:
            progress(done, total)
    if progress is not None and done < total:
        progress(total, total)
    if dry_run:
        async with db.sessions() as s:
            seen(await did_rent.due_rent(s, at))
    else:
        async with db.sessions() as s, s.begin():
            seen(await did_rent.charge_rent(s, at))
    return summary
