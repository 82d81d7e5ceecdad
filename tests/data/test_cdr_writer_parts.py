"""A batch larger than one COPY part (PostgreSQL sends a batch in parts while it builds the
next; SQLite in one executemany): it lands whole, or not at all when a late part fails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from connex_tui.data.access import ConstraintFailed
from connex_tui.data.cdr_writer import _parts
from connex_tui.data.models import Cdr, LedgerEntry, StatsRollup
from tests.data.test_cdr_writer_rows import T, full, raw, write

N = 1_234  # five parts: 100, then 500 at a time, the last short


def _many(cid: int, tag: str, n: int = N) -> list:
    return [full(cid, f"{tag}-{i}", started_at=T + timedelta(milliseconds=i)) for i in range(n)]


def test_a_batch_is_cut_into_parts_that_cover_it_once():
    assert _parts(1) == [(0, 1)]
    bounds = _parts(N)
    assert len(bounds) == 4 and bounds[0] == (0, 100) and bounds[-1][1] == N
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))


async def _counts(db, cid: int) -> tuple:
    async with db.sessions() as s:
        return (await s.scalar(select(func.count()).select_from(Cdr)),
                await s.scalar(select(func.sum(StatsRollup.attempts))
                               .where(StatsRollup.grain == "h")),
                await s.scalar(select(func.count()).select_from(LedgerEntry)))


async def test_a_batch_of_many_parts_is_stored_whole(admin, db):
    cid = await admin.create(raw("A"))
    await write(db, _many(cid, "ok"))
    assert await _counts(db, cid) == (N, N, 1)
    customer = await admin.get(cid)
    assert customer.balance == -N * full(cid, "x").charge


async def test_a_duplicate_in_the_last_part_leaves_nothing_of_the_batch(admin, db):
    cid = await admin.create(raw("A"))
    await write(db, [full(cid, "first")])
    before = await _counts(db, cid), (await admin.get(cid)).balance
    batch = _many(cid, "late")
    batch[-1] = full(cid, "first")  # refused by the last part, after the others were sent
    with pytest.raises(ConstraintFailed):
        await write(db, batch)
    assert (await _counts(db, cid), (await admin.get(cid)).balance) == before
    await write(db, _many(cid, "again", 150))  # the database takes the next batch
    assert (await _counts(db, cid))[0] == 151
