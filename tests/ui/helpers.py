"""Pilot helpers: wait for what the operator would see, read the database afterwards."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import text

from connex_tui.data.access import Actor
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database
from tests.ui.conftest import frozen_clock, sqlite_url


async def wait_for(pilot, condition, timeout: float = 15.0, what: str = "condition"):
    # generous: CI shares two cores with whatever else runs; a pass returns at once
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause()
        try:
            if condition():
                return
        except Exception:  # widget not mounted yet
            pass
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def list_ready(pilot):
    from connex_tui.screens.customer_list import CustomerListScreen

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CustomerListScreen)
                   and pilot.app.screen.render_count > 0, what="customer list")
    return pilot.app.screen


async def open_customer(pilot, name: str):
    """From the list: search `name`, open the first match, wait for its screen."""
    from connex_tui.screens.customer_detail.screen import CustomerDetailScreen

    await list_ready(pilot)
    await pilot.press("slash")
    await type_text(pilot, name)
    await pilot.press("enter", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CustomerDetailScreen)
                   and pilot.app.screen.loaded > 0, what="customer")
    return pilot.app.screen


async def open_customer_tab(pilot, name: str, digit: str, tab_type):
    """From the list: search `name`, open the first match, press `digit`; the tab of
    `tab_type` once it has loaded (its `loads` counter moved)."""
    await open_customer(pilot, name)
    await pilot.press(digit)
    tab = pilot.app.screen.query_one(tab_type)
    await wait_for(pilot, lambda: tab.loads > 0, what=f"{tab_type.__name__} loaded")
    return tab


async def rendered_after(pilot, screen, count: int):
    await wait_for(pilot, lambda: screen.render_count > count and not screen._loading,
                   what="table refresh")


def table_names(screen) -> list[str]:
    """Full names of the rows the table shows, in order (cells are cut at 80 columns)."""
    t = screen.table
    names = {str(r.id): r.name for r in screen.rows}
    return [names[t.coordinate_to_cell_key((i, 0)).row_key.value] for i in range(t.row_count)]


def table_cells(screen) -> list[str]:
    t = screen.table
    return [str(t.get_row_at(i)[0]).strip() for i in range(t.row_count)]


async def type_text(pilot, text_: str) -> None:
    await pilot.press(*[{" ": "space", "@": "at", ".": "full_stop", "-": "minus",
                         "/": "slash"}.get(ch, ch) for ch in text_])


class Db:
    """The test's own view of the database file the app uses."""

    def __init__(self, path: Path):
        self.db = Database(sqlite_url(path))
        self.customers = CustomerService(self.db, Actor("other", "admin"), frozen_clock)

    async def rows(self, sql: str, **params):
        async with self.db.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).all()

    async def scalar(self, sql: str, **params):
        async with self.db.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def close(self):
        await self.db.dispose()


def screen_lines(app) -> list[str]:
    """The text of the terminal as the operator sees it now, one string per row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
