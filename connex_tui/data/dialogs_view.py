"""Read-only views of the live dialogs for the screens: live channel counts for the customer
list's Chan column, read each second for the rows in view.

One grouped query over the dialogs table (no join), so a timer can run it every second.
The live calls themselves are `data/dialogs.DialogsService.live`; ending one is
`DialogsService.end`, the only writer.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from connex_tui.data.access import Actor
from connex_tui.data.db import Database
from connex_tui.data.models import Dialog
from connex_tui.engine.clock import Clock, utcnow

CHUNK = 500  # ids per IN (...) list: well inside every backend's bound-parameter limit


class DialogsView:
    def __init__(self, db: Database, actor: Actor | None = None, clock: Clock = utcnow):
        self.db, self.actor, self.clock = db, actor, clock

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
