"""The list's live channel counts (its Chan column), one grouped read of the dialogs table,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from connex_tui.data import dialogs_view
from connex_tui.data.dialogs_view import DialogsView
from connex_tui.data.models import Dialog
from tests.data import sim_world
from tests.data.sim_world import NOW


async def add_dialogs(db, rows: list[tuple[str, int, str]]) -> None:
    async with db.sessions() as s, s.begin():
        await s.execute(insert(Dialog), [
            {"call_id": call_id, "customer_id": cid, "dialled": "442071234567", "state": state,
             "started_at": NOW - timedelta(seconds=30),
             "answered_at": NOW if state == "answered" else None}
            for call_id, cid, state in rows])


async def test_channels_counts_live_calls_of_the_customers_asked_for(db, monkeypatch):
    ids = await sim_world.build(db)
    await add_dialogs(db, [("a1", ids["Alice"], "answered"), ("a2", ids["Alice"], "trying"),
                           ("c1", ids["Carol"], "ringing")])
    view = DialogsView(db)
    assert await view.channels([]) == {}
    assert await view.channels([ids["Alice"], ids["Bob"]]) == {ids["Alice"]: 2}
    monkeypatch.setattr(dialogs_view, "CHUNK", 1)  # many ids: read in chunks, all counted
    assert await view.channels(iter([ids["Carol"], ids["Alice"], ids["Bob"]])) == {
        ids["Alice"]: 2, ids["Carol"]: 1}
