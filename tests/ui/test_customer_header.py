"""The customer screen's header: it fits 80 columns whatever the status and balance, and
its balance follows money that moves while the operator looks (calls, jobs, another
console)."""

from __future__ import annotations

from decimal import Decimal

from textual.widgets import Static

from connex_tui.data import ledger
from connex_tui.screens.customer_detail import screen as customer_screen
from tests.ui.conftest import frozen_clock, make_app
from tests.ui.helpers import Db, wait_for
from tests.ui.test_routing_tab import open_tab


def header(app) -> str:
    return str(app.screen.query_one("#header", Static).render())


async def test_header_fits_80_columns_and_follows_the_balance(db_path, monkeypatch):
    monkeypatch.setattr(customer_screen, "BALANCE_POLL_S", 0.2)
    db = Db(db_path)
    try:
        cid = await db.customers.create({
            "name": "Acme Telecom", "currency": "USD", "status": "pending_approval",
            "debit_limit": "-10000", "channels": "300"})
        async with db.db.sessions() as s, s.begin():
            await ledger.post(s, cid, "adjust", Decimal("-12345.678901"), at=frozen_clock())
        app = make_app(db_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await open_tab(pilot, "7", "payments-tab")
            line = header(app)
            assert len(line) <= 78 and line.endswith("0/300")  # nothing cut off
            assert "-12,345.678901 USD" in line
            async with db.db.sessions() as s, s.begin():  # a charge from somewhere else
                await ledger.post(s, cid, "calls", Decimal("-1.5"), at=frozen_clock())
            await wait_for(pilot, lambda: "-12,347.178901 USD" in header(app),
                           what="the new balance in the header")
        app = make_app(db_path)
        async with app.run_test(size=(120, 24)) as pilot:
            await open_tab(pilot, "7", "payments-tab")
            assert "│ Debit limit -10,000.00 │ Channels 0/300" in header(app)
    finally:
        await db.close()
