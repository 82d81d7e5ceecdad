"""The TUI when the database fails: a form keeps its input and says the database is busy,
an uncaught storage error is flashed (the app keeps running), and a viewer's start on a
missing or old database ends with one line and creates nothing."""

from __future__ import annotations

import re
import sqlite3

import pytest

from connex_tui.app import ConnexApp
from connex_tui.config import Config
from connex_tui.data.access import DatabaseBusy
from connex_tui.widgets.form import FormScreen
from tests.ui.conftest import frozen_clock, make_app, sqlite_url
from tests.ui.helpers import Db, list_ready, type_text, wait_for


@pytest.fixture
async def db(db_path):
    d = Db(db_path)
    yield d
    await d.close()


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_save_while_another_writer_holds_the_lock_keeps_the_form(db_path, db):
    app = ConnexApp(Config(database_url=sqlite_url(db_path), operator="tester",
                           busy_timeout=0.3), clock=frozen_clock)
    holder = sqlite3.connect(db_path, timeout=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await list_ready(pilot)
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="form")
            form = app.screen
            await type_text(pilot, "Blocked Co")
            holder.execute("BEGIN IMMEDIATE")  # a long import elsewhere
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: "busy" in str(
                form.query_one("#form-message").render()), what="busy message")
            assert re.fullmatch(  # the wait is measured: a busy machine adds a little
                r"Not saved: the database is busy: another writer holds the lock "
                r"\(waited 0\.\d s\); try again", str(form.query_one("#form-message").render()))
            assert app.screen is form
            assert await db.scalar("SELECT count(*) FROM customers") == 0
            holder.rollback()  # the import is done: the same keys save
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), what="saved")
    finally:
        holder.close()
    assert await db.rows("SELECT name FROM customers") == [("Blocked Co",)]


async def test_a_storage_error_no_worker_caught_is_flashed_not_fatal(db_path, db):
    await db.customers.create({"name": "Acme", "currency": "USD"})
    app = make_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await list_ready(pilot)

        async def busy(_customer_id):
            raise DatabaseBusy("the database is busy: another writer holds the lock "
                               "(waited 5.0 s); try again")

        app.services.customers.delete_mode = busy
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: any("busy" in m for m in messages(app)), what="flash")
        assert app.is_running and app.screen is screen
        assert app.return_code is None
    assert await db.scalar("SELECT count(*) FROM customers") == 1


@pytest.mark.parametrize("state", ["missing", "old"])
async def test_a_viewer_start_never_creates_nor_migrates(tmp_path, state):
    path = tmp_path / "data" / "connex.db"
    if state == "old":
        path.parent.mkdir()
        sqlite3.connect(path).close()  # an empty file, never migrated
    app = make_app(path, role="viewer")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.return_code is not None, what="exit")
    assert app.return_code == 2
    if state == "missing":
        assert str(app.failed) == f"no database at {path}"
        assert not path.parent.exists()
    else:
        assert "has no connex-tui schema: run `connex-tui db upgrade`" in str(app.failed)
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
