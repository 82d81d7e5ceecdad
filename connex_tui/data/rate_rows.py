"""A rate card's rows in bulk (docs/domain.md §3): the one write path of the CSV import and the
YAML apply, and the streamed read of the CSV export. The feeds compose these session-level
operations in their own transaction; they hold no SQL of their own.

Bringing a card's rows in line with validated incoming rows:
Rows are keyed by (prefix, effective_from). An incoming row updates the card's row with
its key in place, or is added; with `replace` the card's rows whose key did not come in
are deleted. Works in the caller's transaction in chunks (Core executemany), so a
1,000,000-row file never sits in memory as ORM objects; `write=False` only counts what
would change (dry runs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import audit, config_state
from connex_tui.data.access import Actor, NotFound
from connex_tui.data.models import RateCard, RateRow
from connex_tui.data.rate_cards import touch_card
from connex_tui.engine.routing_validation import RateRowInput

CHUNK = 2000  # rows per executemany / IN (...) list: well inside SQLite's variable limit
VALUE_FIELDS = ("destination", "rate", "connect_fee", "mcd", "pulse", "blocked")
_T = RateRow.__table__


@dataclass(slots=True)
class RowCounts:
    added: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.deleted)

    def __str__(self) -> str:
        return (f"{self.added} added, {self.changed} changed, {self.deleted} deleted, "
                f"{self.unchanged} unchanged")


class RowSync:
    """Feed rows with `add`, then `finish`. Incoming keys must be unique (the readers
    report duplicates as errors before rows get here)."""

    def __init__(self, s: AsyncSession, card_id: int, *, write: bool = True):
        self.s = s
        self.card_id = card_id
        self.write = write
        self.counts = RowCounts()
        self._pending: list[RateRowInput] = []
        self._handled: set[int] = set()
        self._max_before: int | None = None

    async def add(self, row: RateRowInput) -> None:
        self._pending.append(row)
        if len(self._pending) >= CHUNK:
            await self._flush()

    async def finish(self, *, replace: bool) -> RowCounts:
        await self._flush()
        if replace:
            await self._delete_rest()
        return self.counts

    async def _max_id(self) -> int:
        """Rows with ids above this were added by this sync: never matched or deleted."""
        if self._max_before is None:
            self._max_before = int(await self.s.scalar(
                select(func.max(RateRow.id)).where(RateRow.card_id == self.card_id)) or 0)
        return self._max_before

    async def _flush(self) -> None:
        rows, self._pending = self._pending, []
        if not rows:
            return
        max_id = await self._max_id()
        existing: dict[tuple, list] = defaultdict(list)
        found = await self.s.execute(
            select(RateRow.id, RateRow.prefix, RateRow.effective_from,
                   *(getattr(RateRow, f) for f in VALUE_FIELDS))
            .where(RateRow.card_id == self.card_id, RateRow.id <= max_id,
                   RateRow.prefix.in_(sorted({r.prefix for r in rows})))
            .order_by(RateRow.id))
        for r in found:
            existing[(r.prefix, r.effective_from)].append(r)
        inserts: list[dict] = []
        updates: list[dict] = []
        deletes: list[int] = []
        for row in rows:
            matches = existing.get((row.prefix, row.effective_from))
            if not matches:
                inserts.append({"card_id": self.card_id, "prefix": row.prefix,
                                "effective_from": row.effective_from,
                                **{f: getattr(row, f) for f in VALUE_FIELDS}})
                continue
            first, *extra = matches  # a key held twice (added by hand): the file's row wins
            self._handled.add(first.id)
            deletes.extend(m.id for m in extra)
            self._handled.update(m.id for m in extra)
            if all(getattr(first, f) == getattr(row, f) for f in VALUE_FIELDS):
                self.counts.unchanged += 1
            else:
                updates.append({"_id": first.id, **{f: getattr(row, f) for f in VALUE_FIELDS}})
        self.counts.added += len(inserts)
        self.counts.changed += len(updates)
        self.counts.deleted += len(deletes)
        if not self.write:
            return
        if inserts:
            await self.s.execute(insert(_T), inserts)
        if updates:
            await self.s.execute(update(_T).where(_T.c.id == bindparam("_id")), updates)
        await self._delete(deletes)

    async def _delete_rest(self) -> None:
        """Delete the card's earlier rows that no incoming row matched (nor were deleted as
        a second row of a matched key)."""
        max_id = await self._max_id()
        ids = await self.s.scalars(select(RateRow.id).where(
            RateRow.card_id == self.card_id, RateRow.id <= max_id))
        gone = [i for i in ids if i not in self._handled]
        self.counts.deleted += len(gone)
        if self.write:
            await self._delete(gone)

    async def _delete(self, ids: list[int]) -> None:
        for i in range(0, len(ids), CHUNK):
            await self.s.execute(delete(_T).where(_T.c.id.in_(ids[i:i + CHUNK])))


async def count_rows(s: AsyncSession, card_id: int) -> int:
    return int(await s.scalar(select(func.count()).select_from(RateRow)
                              .where(RateRow.card_id == card_id)) or 0)


async def card_id_by_name(s: AsyncSession, name: str) -> int:
    card_id = await s.scalar(select(RateCard.id).where(
        func.lower(RateCard.name) == name.lower()))  # names compare ignoring case
    if card_id is None:
        raise NotFound(f"unknown rate card {name!r}")
    return card_id


async def record_import(s: AsyncSession, actor: Actor, card_id: int, *, before: int,
                        counts: RowCounts, after: dict, now: datetime) -> None:
    """After a RowSync wrote a file's rows: the card's version and the configuration
    generation move on (if anything changed) and one audit entry records the counts."""
    if counts.touched:
        await touch_card(s, card_id, now)
        await config_state.bump(s)
    await audit.record(
        s, actor, "import", "rate_cards", card_id, customer_id=None,
        before={"rows": before},
        after={"rows": before + counts.added - counts.deleted, **after,
               "added": counts.added, "changed": counts.changed, "deleted": counts.deleted},
        at=now)


def rows_query(card_id: int):
    """The card's rows in file order: prefix, then undated before dated rows; each row is
    (prefix, destination, rate, connect_fee, mcd, pulse, effective_from, blocked)."""
    return (select(RateRow.prefix, RateRow.destination, RateRow.rate, RateRow.connect_fee,
                   RateRow.mcd, RateRow.pulse, RateRow.effective_from, RateRow.blocked)
            .where(RateRow.card_id == card_id)
            .order_by(RateRow.prefix, RateRow.effective_from.asc().nulls_first(), RateRow.id))


async def stream_rows(s: AsyncSession, card_id: int, *, part: int = 5000
                      ) -> AsyncIterator[Sequence[tuple]]:
    """rows_query's rows in parts of `part`, streamed: a million-row card is never held."""
    result = await s.stream(rows_query(card_id).execution_options(yield_per=part))
    async for rows in result.partitions():
        yield rows
