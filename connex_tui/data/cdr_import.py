"""The data side of CDR import (docs/domain.md §7): which call ids are already stored, and
each batch written through the CDR writer in one transaction.

A batch is all or nothing (CDRs, rollups, ledger), and a call id already present is never
written again, so an import killed half way is resumed by running it again: the batches
that landed are found present and skipped, the rest are written and charged once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text

from connex_tui.data import audit
from connex_tui.data.access import Actor
from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.db import Database
from connex_tui.data.snapshot import load_snapshot
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.snapshot import Snapshot


class CdrImportStore:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    async def snapshot(self) -> Snapshot:
        """The routing configuration CDRs are rated against (loaded once per import)."""
        return await load_snapshot(self.db)

    async def present(self, call_ids: Sequence[str]) -> set[str]:
        """The call ids of `call_ids` already stored."""
        async with self.db.sessions() as s:
            return await _present(s, call_ids)

    async def write(self, cdrs: Sequence[CdrInput]) -> list[CdrInput]:
        """Write one batch in one transaction, leaving out the call ids already stored (by
        an earlier run, or another import meanwhile); returns the CDRs written."""
        self.actor.require("write")
        async with self.db.sessions() as s, s.begin():
            there = await _present(s, [c.call_id for c in cdrs])
            fresh = [c for c in cdrs if c.call_id not in there] if there else list(cdrs)
            await write_batch(s, fresh, at=self.clock())
        return fresh

    async def record(self, summary: dict, *, at: datetime | None = None) -> None:
        """The audit entry of a finished import: file, counts and totals."""
        self.actor.require("write")
        async with self.db.sessions() as s, s.begin():
            await audit.record(s, self.actor, "import", "cdrs", None, customer_id=None,
                               before=None, after=summary, at=at or self.clock())


async def _present(s, call_ids: Sequence[str]) -> set[str]:
    """One query per batch, the ids as one parameter (a JSON array on SQLite, an array on
    PostgreSQL): an IN list of 5,000 bound parameters spent more time being compiled than
    the unique index spends finding them."""
    if not call_ids:
        return set()
    if s.bind.dialect.name == "postgresql":
        sql, ids = _PRESENT_PG, list(call_ids)
    else:
        sql, ids = _PRESENT_SQLITE, json.dumps(list(call_ids))
    return set(await s.scalars(sql, {"ids": ids}))


_PRESENT_SQLITE = text("SELECT call_id FROM cdrs WHERE call_id IN "
                       "(SELECT value FROM json_each(:ids))")
# A join, not `= ANY(array)`: on a table the planner has not analysed yet (a first big
# import) the ANY form ran as a scan comparing each row with all 5,000 ids, seconds a batch;
# the join hashes the ids or probes the unique index, whichever the table's size favours.
_PRESENT_PG = text("SELECT c.call_id FROM unnest(CAST(:ids AS text[])) AS u(id) "
                   "JOIN cdrs c ON c.call_id = u.id")
