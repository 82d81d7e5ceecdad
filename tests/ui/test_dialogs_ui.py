"""Live calls on screen: the Dialogs tab, the Live calls screen, the list's live Chan
column; ending a call writes its CDR; a second app on the same database file sees the
same calls and what the first one did to them."""

from __future__ import annotations

import re

from sqlalchemy import text

from connex_tui.data.access import Actor
from connex_tui.data.dialogs import Admitted, DialogsService
from connex_tui.engine.pipeline import decide
from connex_tui.engine.snapshot import CallInput
from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.screens.help import HelpScreen
from connex_tui.screens.live_calls import LiveCallsPanel, LiveCallsScreen
from connex_tui.widgets.text_view import TextScreen
from tests.ui.conftest import FROZEN, frozen_clock, make_app
from tests.ui.helpers import Db, list_ready, screen_lines, type_text, wait_for


async def open_dialogs(pilot, name: str = "Acme") -> LiveCallsPanel:
    await list_ready(pilot)
    await pilot.press("slash")
    await type_text(pilot, name)
    await pilot.press("enter", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CustomerDetailScreen)
                   and pilot.app.screen.loaded > 0, what="customer")
    await pilot.press("6")
    panel = pilot.app.screen.query_one("#dialogs-live", LiveCallsPanel)
    await wait_for(pilot, lambda: panel.polls > 0 and panel.table.has_focus, what="dialogs")
    return panel


async def live_of(db: Db, customer: str) -> list[str]:
    return [r[0] for r in await db.rows(
        "SELECT d.call_id FROM dialogs d JOIN customers c ON c.id = d.customer_id "
        "WHERE c.name = :n ORDER BY d.started_at DESC", n=customer)]


def flashes(app) -> list[str]:
    seen: list[str] = []
    flash = app.flash
    app.flash = lambda message, **kw: (seen.append(message), flash(message, **kw))[1]
    return seen


async def test_ending_a_call_from_the_dialogs_tab_writes_its_cdr(demo_path):
    db = Db(demo_path)
    before = await live_of(db, "Acme Telecom")
    assert len(before) == 4
    app = make_app(demo_path)
    seen = flashes(app)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await open_dialogs(pilot)
        assert [r.call_id for r in panel.shown] == before  # newest first
        assert panel.table.row_count == 4
        await pilot.press("j")  # the second call
        victim = panel.current.call_id
        assert victim == before[1]
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: "End this call?" in str(
            app.screen.query_one("#title").render()), what="confirm")
        await pilot.press("n")  # kept: nothing happens
        await pilot.pause()
        assert await live_of(db, "Acme Telecom") == before
        await pilot.press("delete")
        await wait_for(pilot, lambda: app.screen.query("#title"), what="confirm again")
        await pilot.press("y")
        await wait_for(pilot, lambda: victim not in [r.call_id for r in panel.shown],
                       what="call gone from the tab")
        assert panel.table.row_count == 3
        assert f"Call {victim} ended" in seen
        header = app.screen.query_one("#header")
        await wait_for(pilot, lambda: "Channels 3/" in str(header.render()), what="header")
    assert await live_of(db, "Acme Telecom") == [c for c in before if c != victim]
    assert await db.rows("SELECT release_reason, sip_code FROM cdrs WHERE call_id = :c",
                         c=victim) == [("operator", 200)]
    await db.close()


async def test_a_viewer_cannot_end_a_call(demo_path):
    app = make_app(demo_path, role="viewer")
    seen = flashes(app)
    db = Db(demo_path)
    before = await live_of(db, "Acme Telecom")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dialogs(pilot)
        await pilot.press("ctrl+d")  # refused before any question
        await wait_for(pilot, lambda: seen, what="refusal")
        assert isinstance(app.screen, CustomerDetailScreen)
        assert "viewer" in seen[0].lower() or "not allowed" in seen[0].lower(), seen
    assert await live_of(db, "Acme Telecom") == before
    await db.close()


async def test_filter_and_sort_on_the_dialogs_tab(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await open_dialogs(pilot)
        rows = panel.shown
        await pilot.press("question_mark")  # help lists the tab's keys
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        for keys, what in (("ctrl+d, del", "End call"), ("s", "Sort"), ("/", "Filter"),
                           ("enter", "Call details")):
            assert re.search(rf"{re.escape(keys)}\s+{what}", text), (keys, what, text)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen), what="tab")
        await pilot.press("s")  # longest first: the earliest answer on top
        assert panel.shown == sorted(rows, key=lambda r: r.answered_at or r.started_at)
        assert "longest first" in str(panel.query_one(".live-count").render())
        target = rows[2]
        await pilot.press("slash")
        await type_text(pilot, target.dialled[-6:])
        await wait_for(pilot, lambda: panel.table.row_count == 1, what="filtered")
        assert panel.current.call_id == target.call_id
        await pilot.press("enter", "enter")  # to the table; every field of the call
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="details")
        text = "\n".join(screen_lines(app))
        assert target.call_id in text and f"Number       {target.dialled}" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen), what="tab")
        await pilot.press("slash")
        await pilot.press("escape")  # clears the filter, stays on the tab
        await wait_for(pilot, lambda: panel.table.row_count == len(rows), what="unfiltered")
        assert isinstance(app.screen, CustomerDetailScreen)
        await pilot.press("slash")
        await type_text(pilot, "no-such-call")
        await wait_for(pilot, lambda: panel.table.row_count == 0, what="nothing")
        assert "No live call matches" in str(panel.query_one(".live-empty").render())


async def test_live_calls_screen_lists_every_customer_filters_and_opens_one(demo_path):
    db = Db(demo_path)
    everyone = await db.rows("SELECT c.name, count(*), sum(d.state = 'answered') FROM dialogs "
                             "d JOIN customers c ON c.id = d.customer_id GROUP BY c.name")
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveCallsScreen)
                       and app.screen.panel.polls > 0, what="live calls")
        screen = app.screen
        assert screen.panel.table.row_count == sum(n for _, n, _ in everyone)
        assert {(t.name, t.calls, t.answered) for t in screen.totals_shown} == set(everyone)
        await pilot.press("slash")
        await type_text(pilot, "lynx tel")
        await wait_for(pilot, lambda: {r.customer for r in screen.panel.shown}
                       == {"Lynx Telekom"}, what="filtered")
        lynx = next(e for e in everyone if e[0] == "Lynx Telekom")
        assert [(t.name, t.calls, t.answered) for t in screen.totals_shown] == [lynx]
        assert screen.panel.table.row_count == lynx[1]
        await pilot.press("enter")  # back in the table; enter opens the call's customer
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and app.screen.active_tab == "dialogs" and app.screen.loaded,
                       what="customer on Dialogs")
        assert app.screen.detail.name == "Lynx Telekom"
        await pilot.press("escape")  # back to the Live calls screen
        await wait_for(pilot, lambda: app.screen is screen, what="back")
    await db.close()


async def test_the_palette_opens_live_calls(demo_path):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await list_ready(pilot)
        await pilot.press("ctrl+p")
        await type_text(pilot, "Live calls")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveCallsScreen), what="screen")


async def test_two_apps_on_one_database_see_the_same_calls(demo_path):
    """A call started by another process (here: another connection, the switch's
    DialogsService) shows on the list's Chan column and on the Live calls screen of one app
    and on the Dialogs tab of another; ended in the second app, it leaves the first."""
    db = Db(demo_path)
    [(cid, ip, number)] = await db.rows(  # a number its history shows was put through
        "SELECT c.id, a.host, (SELECT dialled FROM cdrs WHERE customer_id = c.id AND "
        "sip_code = 200 ORDER BY started_at DESC LIMIT 1) FROM customers c JOIN ip_auth a ON "
        "a.customer_id = c.id WHERE c.name = 'Falcon Connect'")
    assert not await live_of(db, "Falcon Connect")
    switch = DialogsService(db.db, Actor("switch", "admin"), frozen_clock)
    one, two = make_app(demo_path), make_app(demo_path)
    async with one.run_test(size=(80, 24)) as p1, two.run_test(size=(80, 24)) as p2:
        listing = await list_ready(p1)
        panel = await open_dialogs(p2, "Falcon Connect")
        assert not panel.shown and "No live calls" in str(
            panel.query_one(".live-empty").render())

        def chan() -> str:
            return str(listing.table.get_cell(str(cid), "chan")).strip()

        assert chan().startswith("0/")
        call = CallInput(number, "447700900123", ip, at=FROZEN)
        result = decide(await switch.cache.get(), call)
        assert result.allowed, result.reason
        await switch.start(Admitted("other-process-1", call, result))
        await wait_for(p1, lambda: chan().startswith("1/"), what="Chan 1 on the list")
        await wait_for(p2, lambda: [r.call_id for r in panel.shown] == ["other-process-1"],
                       what="the call on the other app's tab")
        await p1.press("L")
        await wait_for(p1, lambda: isinstance(one.screen, LiveCallsScreen) and any(
            r.call_id == "other-process-1" for r in one.screen.panel.shown), what="listed")
        live = one.screen.panel
        await p2.press("ctrl+d")
        await wait_for(p2, lambda: two.screen.query("#title"), what="confirm")
        await p2.press("y")
        await wait_for(p1, lambda: all(r.call_id != "other-process-1" for r in live.shown),
                       what="gone from the first app")
    assert await db.rows("SELECT release_reason FROM cdrs WHERE call_id = 'other-process-1'"
                         ) == [("operator",)]
    await db.close()


async def test_hostile_text_in_a_live_call_is_shown_as_text(demo_path):
    """A CLI, number or IP from a switch is outside text: markup stays literal, control
    characters never reach the terminal."""
    db = Db(demo_path)
    [(cid,)] = await db.rows("SELECT id FROM customers WHERE name = 'Acme Telecom'")
    async with db.db.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO dialogs (call_id, customer_id, dialled, cli, state, started_at, "
            "source_ip) VALUES ('[b]evil', :c, '[red]49', :cli, 'trying', :at, '[/]')"),
            {"c": cid, "cli": "\x1b[31m44\x07", "at": FROZEN.replace(tzinfo=None)})
    app = make_app(demo_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await list_ready(pilot)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveCallsScreen)
                       and any(r.call_id == "[b]evil" for r in app.screen.panel.shown),
                       what="listed")
        await pilot.pause()
        shown = "\n".join(screen_lines(app))
        assert "[red]49" in shown and "[/]" in shown and "[b]evil" in shown
        assert "\x1b" not in shown and "\x07" not in shown
    await db.close()


async def test_the_tab_s_keys_reach_the_table_not_an_empty_filter(demo_path):
    """Main -> 6 left the (empty) filter box focused: `s` or `?` became a filter."""
    from connex_tui.screens.customer_detail.dialogs_tab import DialogsTab

    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await open_dialogs(pilot)
        tab = app.screen.query_one(DialogsTab)
        panel.filter_box.focus()  # where the screen's first-widget focus puts it
        await pilot.pause()
        tab._take_focus()
        await wait_for(pilot, lambda: panel.table.has_focus, what="table")
        panel.filter_box.focus()
        await type_text(pilot, "44")  # a filter being typed keeps the focus
        tab._take_focus()
        await pilot.pause()
        assert panel.filter_box.has_focus
