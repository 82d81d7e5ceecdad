"""Read-only views of the live dialogs for the screens: per-customer totals (the Live calls
screen) and live channel counts (the customer list's Chan column, refreshed on a timer).

Each is one grouped query over the dialogs table (no join per row), so a timer can run
them every second. Ending a call is `data/dialogs.DialogsService.end`, the only writer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import case, func, select

from connex_tui.data.access import Actor
from connex_tui.data.db import Database
from connex_tui.data.models import Customer, Dialog
from connex_tui.engine.clock import Clock, utcnow

CHUNK = 500  # ids per IN (...) list: well inside every backend's bound-parameter limit


@dataclass(frozen=True, slots=True)
class LiveTotal:
    """One customer's live calls: all of them, and those answered."""

    customer_id: int
    name: str
    calls: int
    answered: int


class DialogsView:
    def __init__(self, db: Database, actor: Actor | None = None, clock: Clock = utcnow):
        self.db, self.actor, self.clock = db, actor, clock

    async def totals(self) -> list[LiveTotal]:
        """Every customer with a live call, most calls first (then by name)."""
        answered = func.sum(case((Dialog.state == "answered", 1), else_=0))
        stmt = (select(Dialog.customer_id, Customer.name, func.count(), answered)
                .join(Customer, Customer.id == Dialog.customer_id)
                .group_by(Dialog.customer_id, Customer.name))
        async with self.db.sessions() as s:
            found = (await s.execute(stmt)).all()
        rows = [LiveTotal(cid, name, int(n), int(a or 0)) for cid, name, n, a in found]
        rows.sort(key=lambda t: (-t.calls, t.name.lower(), t.customer_id))
        return rows

    async def channels(self, customer_ids: Iterable[int]) -> dict[int, int]:
        """Live calls per customer for `customer_ids` (absent: none)."""
        ids = sorted(set(customer_ids))
        out: dict[int, int] = {}
        if not ids:
            return out
        async with self.db.sessions() as s:
            for i in range(0, len(ids), CHUNK):
                stmt = (select(Dialog.customer_id, func.count())
                        .where(Dialog.customer_id.in_(ids[i:i + CHUNK]))
                        .group_by(Dialog.customer_id))
                out.update((cid, int(n)) for cid, n in await s.execute(stmt))
        return out
