"""CDR tab journeys on the demo data (frozen clock 2026-11-25 12:00 UTC): days, pages as
the cursor goes down, filters, the detail view, the CSV export and a recalc."""

from __future__ import annotations

import csv
from datetime import date

from connex_tui.engine.cdr_fields import EXPORT_FIELDS
from connex_tui.screens.customer_detail.cdr_tab import CdrTab
from connex_tui.screens.dialogs.recalc import RecalcProgressScreen
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.form import FormScreen
from connex_tui.widgets.text_view import TextScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import Db, open_customer, type_text, wait_for

TODAY = date(2026, 11, 25)


def capture_flash(app) -> list[str]:
    said: list[str] = []
    original = app.flash

    def flash(message, *, error=False):
        said.append(message)
        original(message, error=error)

    app.flash = flash
    return said


async def acme_cdrs(pilot) -> CdrTab:
    await open_customer(pilot, "Acme")
    await pilot.press("9")
    tab = pilot.app.screen.query_one(CdrTab)
    await wait_for(pilot, lambda: tab.loads > 0, what="CDRs")
    return tab


async def test_days_pages_and_filters(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await acme_cdrs(pilot)
        assert tab.day == TODAY and len(tab.rows) == 100 and tab.more
        while tab.more:  # going down reads the next page before the last row
            pages = tab.pages
            tab.table.move_cursor(row=len(tab.rows) - 1)
            await wait_for(pilot, lambda p=pages: tab.pages > p, what="next page")
        keys = [r.key for r in tab.rows]
        assert len(set(keys)) == len(keys) == tab.table.row_count > 100
        assert keys == sorted(keys)
        assert all(r.started_at.date() == TODAY for r in tab.rows)
        whole_day = len(tab.rows)

        loads = tab.loads
        await pilot.press("less_than_sign")
        await wait_for(pilot, lambda: tab.loads > loads, what="previous day")
        assert tab.day == date(2026, 11, 24)
        assert all(r.started_at.date() == tab.day for r in tab.rows)
        assert "Tue 2026-11-24 UTC" in str(tab.query_one("#cdr-day").render())
        loads = tab.loads
        await pilot.press("t")
        await wait_for(pilot, lambda: tab.loads > loads, what="today")
        assert tab.day == TODAY
        said = capture_flash(app)
        await pilot.press("greater_than_sign")  # went on into days that have no CDRs yet
        await wait_for(pilot, lambda: said, what="no day after today")
        assert tab.day == TODAY and said == [f"No CDRs after today, {TODAY}"]

        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="date form")
        app.screen.query_one("#input-day").value = "2026-11-3"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "YYYY-MM-DD" in str(
            app.screen.query_one("#error-day").render()), what="date error")
        app.screen.query_one("#input-day").value = "9999-12-31"  # its end overflowed
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "1970-01-01 and 2199-12-31" in str(
            app.screen.query_one("#error-day").render()), what="range error")
        app.screen.query_one("#input-day").value = "1970-01-01"
        loads = tab.loads
        await pilot.press("enter")
        await wait_for(pilot, lambda: tab.loads > loads, what="the first day")
        said = capture_flash(app)
        await pilot.press("less_than_sign")  # the day before year 1 ended the app
        await wait_for(pilot, lambda: said, what="no day before")
        assert tab.day == date(1970, 1, 1) and said == ["No day before 1970-01-01"]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="date form")
        app.screen.query_one("#input-day").value = "2026-11-23"
        loads = tab.loads
        await pilot.press("enter")  # a one-field question: enter answers it
        await wait_for(pilot, lambda: tab.loads > loads and not isinstance(
            app.screen, FormScreen), what="that day")
        assert tab.day == date(2026, 11, 23)
        await pilot.press("t")

        loads = tab.loads
        await pilot.press("f")  # answered only
        await wait_for(pilot, lambda: tab.loads > loads and tab.day == TODAY, what="answered")
        assert tab.rows and all(r.answered_at is not None for r in tab.rows)
        loads = tab.loads
        await pilot.press("f")  # failed only
        await wait_for(pilot, lambda: tab.loads > loads, what="failed")
        assert tab.rows and all(r.answered_at is None for r in tab.rows)
        await pilot.press("f")  # all again

        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="code form")
        app.screen.query_one("#input-code").value = "486"
        loads = tab.loads
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: tab.loads > loads and not isinstance(
            app.screen, FormScreen), what="486 only")
        assert tab.rows and {r.sip_code for r in tab.rows} == {486}
        assert len(tab.rows) < whole_day
        assert "SIP 486" in str(tab.query_one("#cdr-count").render())

        number = tab.rows[0].dialled
        await pilot.press("slash")
        await type_text(pilot, number)
        await wait_for(pilot, lambda: tab.rows and all(number in r.dialled
                                                       for r in tab.rows), what="search")
        # a long paste: the bar repeated it after "SIP 486", squeezing the search box to
        # nothing (neither what was typed nor the count could be seen)
        search = tab.query_one("#cdr-search")
        loads = tab.loads
        search.value = "5" * 64  # the most a search holds
        search.insert_text_at_cursor("5" * 3000)  # refused whole: no more is searched
        await wait_for(pilot, lambda: tab.loads > loads and "calls" in str(
            tab.query_one("#cdr-count").render()), what="long search")
        assert len(search.value) == 64 and search.size.width >= 20
        assert "555" not in str(tab.query_one("#cdr-count").render())


async def test_detail_shows_every_field(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await acme_cdrs(pilot)
        row = next(r for r in tab.rows if r.answered_at is not None)
        tab.table.move_cursor(row=tab.rows.index(row))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="detail")
        body = str(app.screen.query_one("#text-body").render())
        for name in (*EXPORT_FIELDS, "switch_ip", "route"):
            assert f"\n{name} " in f"\n{body}", name
        assert f"call_id        {row.call_id}" in body
        assert f"duration_ms    {row.duration_ms}" in body
        assert "USD" in body
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.query(CdrTab), what="back")


async def test_export_writes_the_day_shown(demo_path, tmp_path):
    app = make_app(demo_path)
    said = capture_flash(app)
    target = tmp_path / "acme.csv"
    async with app.run_test(size=(80, 24)) as pilot:
        tab = await acme_cdrs(pilot)
        loads = tab.loads
        await pilot.press("f")  # answered only: the export follows the filter
        await wait_for(pilot, lambda: tab.loads > loads, what="answered")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="export form")
        assert app.screen.query_one("#input-path").value == "cdr-Acme-Telecom-2026-11-25.csv"
        app.screen.query_one("#input-path").value = str(target)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any("written to" in m for m in said), what="export")
    rows = list(csv.reader(target.open()))
    assert tuple(rows[0]) == EXPORT_FIELDS
    assert len(rows) > 1 and all(r[2] for r in rows[1:])  # every one answered
    assert f"{len(rows) - 1:,} CDRs written to" in said[-1]


async def test_recalc_journey(demo_path):
    app = make_app(demo_path)
    said = capture_flash(app)
    db = Db(demo_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            tab = await acme_cdrs(pilot)
            cid = tab.customer_id
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
            form = app.screen
            assert form.query_one("#input-first").value == "2026-11-25"
            # its submit previews, and says so (it read "Save")
            assert str(form.query_one("#save").label) == "Preview ^s"
            form.query_one("#input-min_duration").value = "60"
            await pilot.press("ctrl+s")  # no new duration: refused, the input kept
            await wait_for(pilot, lambda: "together" in str(
                form.query_one("#error-new_duration").render()), what="error")
            form.query_one("#input-new_duration").value = "30"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="preview")
            message = str(app.screen.query_one("#message").render())
            assert "calls of 60 s or more get 30 s" in message and "Old total" in message
            await pilot.press("y")
            await wait_for(pilot, lambda: any("Recalc #1 done" in m for m in said),
                           what="recalc done")
            assert not isinstance(app.screen, RecalcProgressScreen)
            await wait_for(pilot, lambda: "Last recalc #1" in str(
                tab.query_one("#cdr-last").render()), what="history line")
            await pilot.press("h")
            await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="history")
            assert "by tester" in str(app.screen.query_one("#text-body").render())
        runs = await db.rows("SELECT operator, calls, status FROM recalc_runs")
        assert runs[0][0] == "tester" and runs[0][2] == "done" and runs[0][1] > 0
        today = ("SELECT count(*) FROM cdrs WHERE customer_id = :c AND started_at >= "
                 "'2026-11-25' AND simulated = 0 AND answered_at IS NOT NULL AND ")
        assert await db.scalar(today + "duration_ms >= 60000", c=cid) == 0
        assert await db.scalar(today + "duration_ms = 30000", c=cid) >= runs[0][1]
        cached = await db.scalar("SELECT balance FROM customers WHERE id = :c", c=cid)
        summed = await db.scalar("SELECT sum(amount) FROM ledger WHERE customer_id = :c",
                                 c=cid)
        assert cached == summed
    finally:
        await db.close()


async def test_recalc_refused_to_an_operator(demo_path):
    app = make_app(demo_path, role="operator")
    said = capture_flash(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await acme_cdrs(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: said, what="refusal")
        assert "needs the admin role" in said[-1]
        assert not isinstance(app.screen, FormScreen)


async def test_esc_on_the_progress_stops_between_batches(db_path):
    """The progress screen asks the run to stop; the run finishes the batch under way."""
    import asyncio
    from decimal import Decimal

    from connex_tui.data.recalc import RecalcSummary

    batches = []

    async def run(progress, cancelled):
        for n in range(1, 1000):
            await asyncio.sleep(0.01)  # a batch
            batches.append(n)
            progress(n * 10, 10_000)
            if cancelled():
                return RecalcSummary(7, "cancelled", n * 10, n * 10, 0, Decimal(1),
                                     Decimal(2), False)
        raise AssertionError("never cancelled")

    app = make_app(db_path)
    got = []
    async with app.run_test(size=(80, 24)) as pilot:
        screen = RecalcProgressScreen("Recalculating", run)
        app.push_screen(screen, got.append)
        await wait_for(pilot, lambda: len(batches) >= 2, what="two batches")
        await pilot.press("escape")
        await wait_for(pilot, lambda: got, what="stopped")
    assert got[0].status == "cancelled" and got[0].calls == 10 * len(batches)
    assert screen.batches == len(batches)


async def test_hostile_cdr_fields_are_shown_escaped(demo_path):
    from datetime import UTC, datetime

    from connex_tui.data.cdr_writer import CdrInput, write_batch
    from tests.ui.helpers import screen_lines

    db = Db(demo_path)
    try:
        cid = await db.scalar("SELECT id FROM customers WHERE name = 'Acme Telecom'")
        at = datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC)
        async with db.db.sessions() as s, s.begin():
            await write_batch(s, [CdrInput(
                call_id="evil\x1b[2J\u202e", customer_id=cid, started_at=at, ended_at=at,
                dialled="=1+2\x07", sip_code=404, sip_reason="Not \x1b]0;pwned\x07Found",
                destination="[bold]x[/]")], at=at)
    finally:
        await db.close()
    app = make_app(demo_path)
    async with app.run_test(size=(120, 40)) as pilot:
        tab = await acme_cdrs(pilot)
        assert tab.rows[0].call_id.startswith("evil")
        shown = "\n".join(screen_lines(app))
        assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
        assert "[bold]x[/]" in shown  # text, not markup
        tab.table.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="detail")
        shown = "\n".join(screen_lines(app))
        assert "\x1b" not in shown and "\x07" not in shown and "=1+2" in shown


def test_the_recalc_form_names_the_bounds_of_each_field():
    import pytest

    from connex_tui.engine.validation import ValidationError
    from connex_tui.screens.dialogs.recalc import parse_request

    with pytest.raises(ValidationError) as exc:
        parse_request({"first": "9999-12-31", "last": "2026-02-30", "release_reason": "r" * 40,
                       "min_duration": "abc", "new_duration": "99999999"})
    assert exc.value.errors == {
        "first": "must be between 1970-01-01 and 2199-12-31",
        "last": "day is out of range for month",
        "release_reason": "at most 32 printable characters",
        "min_duration": "whole seconds, 0 to 86,400",
        "new_duration": "whole seconds, 0 to 86,400"}
