"""Snapshots of the Payments tab and the balance history at 80x24 on demo data (frozen
clock), Silverline Networks as in the Routing snapshots.

Review a changed snapshot as text (python3 /work/wt/_tools/svgtext.py FILE.svg) before
accepting it with `pytest --snapshot-update`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from connex_tui.data.access import Actor
from connex_tui.data.db import Database
from connex_tui.data.payments import PaymentsService
from connex_tui.screens.customer_detail.balance_history import BalanceHistoryScreen
from tests.ui.conftest import FROZEN, make_app, sqlite_url
from tests.ui.helpers import wait_for
from tests.ui.test_snapshots_routing import silverline_tab


@pytest.fixture
def paid_path(demo_path):
    """The demo with four payments of Silverline Networks (the short demo has none): a
    completed wire with a private note, a card payment, a pending one and a cancelled one."""

    async def add():
        db = Database(sqlite_url(demo_path))
        now = [FROZEN - timedelta(days=3)]
        svc = PaymentsService(db, Actor("noc1", "admin"), lambda: now[0])
        try:
            cid, _, _ = await svc.find_customer("silverline networks")
            for raw in ({"amount": "2500", "fee": "25", "description": "Wire WT482211 # "
                                                                       "bank confirmed"},
                        {"amount": "99.99", "fee": "2.90", "description": "Card payment"},
                        {"amount": "300", "status": "pending",
                         "description": "PayPal top-up 4411-20931234"},
                        {"amount": "1250.5", "description": "Wire WT100932 # duplicate"}):
                now[0] += timedelta(hours=20)
                pid = await svc.add(cid, raw)
            now[0] += timedelta(hours=1)
            await svc.set_status(pid, 1, "cancelled")
        finally:
            await db.dispose()

    asyncio.run(add())
    return demo_path


def test_payments_tab(snap_compare, paid_path):
    async def ready(pilot):
        await silverline_tab(pilot, "7", "payments-tab")

    assert snap_compare(make_app(paid_path), terminal_size=(80, 24), run_before=ready)


def test_balance_history(snap_compare, paid_path):
    async def ready(pilot):
        await silverline_tab(pilot, "7", "payments-tab")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, BalanceHistoryScreen)
                       and pilot.app.screen.loaded, what="history")
        await pilot.pause()

    assert snap_compare(make_app(paid_path), terminal_size=(80, 24), run_before=ready)
