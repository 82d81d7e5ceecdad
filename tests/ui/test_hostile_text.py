"""Text from outside (a customer's name, a note, a CLI in a stored result) reaches the
screen escaped: ESC, C1 and bidi controls show as \\x1b, \\x9b, \\u202e, never raw."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static

from connex_tui.engine.snapshot import Result
from connex_tui.engine.textsafe import safe_text
from connex_tui.screens.customer_detail.screen import CustomerDetailScreen
from connex_tui.screens.dialogs.simulate_result import ResultScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import Db, list_ready, wait_for

HOSTILE = "Acme\x1b[2J\x9b31m\u202eEvil\x1b]52;c;aGk=\x07"
SHOWN = "Acme\\x1b[2J\\x9b31m\\u202eEvil\\x1b]52;c;aGk=\\x07"


def screen_text(screen) -> str:
    """Everything the screen's Statics and tables render, as plain text."""
    parts = [str(w.render()) for w in screen.query(Static)]
    for table in screen.query(DataTable):
        parts += [str(cell) for row in range(table.row_count)
                  for cell in table.get_row_at(row)]
    return "\n".join(parts)


def assert_escaped(text: str) -> None:
    raw = {ch for ch in text.replace("\n", "") if safe_text(ch) != ch}
    assert not raw, f"raw control characters on screen: {raw!r}"


@pytest.fixture
async def hostile_id(demo_path) -> int:
    db = Db(demo_path)
    try:
        (cid,) = (await db.rows("SELECT id FROM customers WHERE name = 'Acme Telecom'"))[0]
        async with db.db.engine.begin() as conn:
            from sqlalchemy import text

            await conn.execute(text("UPDATE customers SET name = :n, notes_private = :n, "
                                    "address = :n WHERE id = :id"), {"n": HOSTILE, "id": cid})
    finally:
        await db.close()
    return cid


async def test_a_hostile_name_shows_escaped_in_the_list_the_customer_and_a_toast(
        demo_path, hostile_id):
    app = make_app(demo_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)
        shown = screen_text(screen)
        assert_escaped(shown)
        assert "Acme\\x1b[" in shown  # the list cell, clipped
        app.open_customer(hostile_id)
        await wait_for(pilot, lambda: isinstance(app.screen, CustomerDetailScreen)
                       and app.screen.loaded > 0, what="customer screen")
        shown = screen_text(app.screen)
        assert_escaped(shown)
        assert f"Customers › {SHOWN} › Main" in shown  # the breadcrumb, whole
        assert SHOWN in shown  # the Main tab's name
        app.flash(f"{HOSTILE} restored")
        await pilot.pause()
        assert [n.message for n in app._notifications][-1] == f"{SHOWN} restored"


async def test_a_stored_result_with_hostile_text_shows_escaped(db_path):
    result = Result(decision="reject", sip_code=403, reason="CLI Restriction In Effect",
                    number_in="4420", cli_in=HOSTILE, customer=HOSTILE,
                    trace=(f"1. Authenticate: {HOSTILE}", f"5. CLI: {HOSTILE} refused"))
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(ResultScreen(result, "SIM-1"))
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), what="result")
        shown = screen_text(app.screen)
        assert_escaped(shown)
        assert f"Customer {SHOWN}" in shown.replace("\n", " ")
        assert f"CLI: {SHOWN} refused" in shown


async def test_a_dialog_of_several_lines_keeps_them_and_escapes_the_rest():
    """A confirm dialog listing two warnings shows two lines (not a literal \\x0a), and a
    control character inside a line is still escaped."""
    from textual.app import App

    from connex_tui.widgets.confirm import ConfirmScreen

    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(ConfirmScreen("Save?", f"! first warning\n! {HOSTILE}"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        shown = str(app.screen.query_one("#message").render())
        assert shown == f"! first warning\n! {SHOWN}"
