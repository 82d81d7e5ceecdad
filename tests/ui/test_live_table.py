"""LiveTable changes only what changed between two refreshes, and keeps the cursor on the
same row whatever moved around it."""

from __future__ import annotations

from datetime import timedelta

from textual.app import App

from connex_tui.data.dialogs import LiveCall
from connex_tui.screens.live_calls import LiveTotal, duration_cell, live_totals, ordered
from connex_tui.widgets.live_table import REBUILD_AT, LiveColumn, LiveTable
from tests.ui.conftest import FROZEN


class One(App):
    def compose(self):
        yield LiveTable(id="t")

    def on_mount(self):
        self.query_one(LiveTable).set_columns([LiveColumn("a", "A", 6),
                                               LiveColumn("b", "B", 6, right=True)])


def row(key: str, b: str = "0:01") -> tuple[str, tuple]:
    return key, ((key, ""), (b, "dim"))


def show(t: LiveTable, rows) -> None:
    t.show(rows, lambda cells: cells)  # the rows are their cells already


def cells(t: LiveTable) -> list[tuple[str, str]]:
    return [tuple(str(c) for c in t.get_row_at(i)) for i in range(t.row_count)]


async def test_only_changed_cells_are_updated_and_the_cursor_follows_its_row():
    app = One()
    async with app.run_test() as pilot:
        t = app.query_one(LiveTable)
        show(t, [row("x"), row("y"), row("z")])
        assert t.changed_cells == 6 and cells(t) == [("x", "0:01"), ("y", "0:01"),
                                                      ("z", "0:01")]
        t.move_cursor(row=1)
        await pilot.pause()
        show(t, [row("x"), row("y", "0:02"), row("z")])
        assert t.changed_cells == 1 and cells(t)[1] == ("y", "0:02")
        show(t, [row("w"), row("z"), row("y", "0:02")])  # x gone, w new, y moved down
        assert t.changed_cells == 2
        assert cells(t) == [("w", "0:01"), ("z", "0:01"), ("y", "0:02")]
        assert t.current_key == "y" and t.cursor_row == 2
        show(t, [row("w"), row("z")])  # y gone: the cursor stays on the same line (last)
        assert t.current_key == "z"
        show(t, [row(str(i)) for i in range(REBUILD_AT + 5)])  # many gone and new at once
        show(t, [row("a")])
        assert cells(t) == [("a", "0:01")] and t.current_key == "a"
        show(t, [])
        assert t.row_count == 0 and t.current_key is None


async def test_rows_out_of_view_get_their_cells_when_they_scroll_in():
    app = One()
    async with app.run_test(size=(40, 12)) as pilot:
        t = app.query_one(LiveTable)
        keys = [f"r{i:03d}" for i in range(200)]
        show(t, [row(k, "0:01") for k in keys])
        await pilot.pause()
        show(t, [row(k, "0:02") for k in keys])  # every duration ticked
        assert t.changed_cells < 60  # the rows in view and a margin, not 200
        assert cells(t)[0] == ("r000", "0:02") and cells(t)[199] == ("r199", "0:01")
        await pilot.press("end")  # G: the last row comes into view, current
        await pilot.pause()
        assert cells(t)[199] == ("r199", "0:02")


def call(call_id: str, cid: int, name: str, state: str, age: int, talk: int | None = None):
    started = FROZEN - timedelta(seconds=age)
    return LiveCall(call_id, cid, name, state, "4930", "44", "P", "192.0.2.1", started,
                    None if talk is None else FROZEN - timedelta(seconds=talk))


def test_totals_per_customer_busiest_first_and_the_two_orders():
    rows = [call("a1", 2, "Zed", "answered", 90, 80), call("a2", 2, "Zed", "ringing", 5),
            call("b1", 1, "alpha", "answered", 60, 30), call("c1", 3, "Beta", "trying", 2),
            call("b2", 1, "alpha", "answered", 70, 65)]
    assert live_totals(rows) == [LiveTotal(1, "alpha", 2, 2), LiveTotal(2, "Zed", 2, 1),
                                 LiveTotal(3, "Beta", 1, 0)]
    assert live_totals([]) == []
    newest = [r.call_id for r in ordered(rows, "start")]
    assert newest == ["c1", "a2", "b1", "b2", "a1"]
    # longest first: the duration shown (talk time, or time since the INVITE)
    assert [r.call_id for r in ordered(rows, "duration")] == ["a1", "b2", "b1", "a2", "c1"]


def test_durations_tick_as_talk_time_or_dim_setup_time_and_stale_calls_in_days():
    assert duration_cell(call("a", 1, "A", "answered", 100, 65), FROZEN) == ("1:05", "")
    assert duration_cell(call("r", 1, "A", "ringing", 12), FROZEN) == ("0:12", "dim")
    assert duration_cell(call("s", 1, "A", "answered", 5 * 86400, 5 * 86400 - 9),
                         FROZEN) == ("4 d", "")  # a dead switch's call: fits 8 columns
