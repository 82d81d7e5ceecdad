"""Free minutes on screen: the CDR detail of a call a free-minutes package paid for, at
80x24 on the demo data (frozen clock 2026-11-25 12:00 UTC).

Review a changed snapshot as text (`python3 /work/wt/_tools/svgtext.py FILE.svg`) before
accepting it with `pytest --snapshot-update`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from connex_tui.data.cdr_writer import CdrInput, write_batch
from connex_tui.data.models import CustomerPackage, Package
from connex_tui.widgets.text_view import TextScreen
from tests.ui.conftest import make_app
from tests.ui.helpers import Db, screen_lines, wait_for
from tests.ui.test_cdr_tab import acme_cdrs

AT = datetime(2026, 11, 25, 0, 0, 1, tzinfo=UTC)  # the day's first call: the tab's first row


async def free_call(path) -> None:
    """Acme gets 1 free minute a day to the UK, then makes a 90 s UK call (60 s free)."""
    db = Db(path)
    try:
        cid = await db.scalar("SELECT id FROM customers WHERE name = 'Acme Telecom'")
        async with db.db.sessions() as s, s.begin():
            pkg = Package(name="UK minute", kind="free_minutes", free_minutes=1,
                          destination_regex="^44", frequency="daily", created_at=AT,
                          updated_at=AT)
            s.add(pkg)
            await s.flush()
            s.add(CustomerPackage(customer_id=cid, package_id=pkg.id,
                                  start=datetime(2026, 11, 1, tzinfo=UTC), created_at=AT,
                                  updated_at=AT))
        async with db.db.sessions() as s, s.begin():
            await write_batch(s, [CdrInput(
                call_id="free-minutes-1", customer_id=cid, started_at=AT,
                answered_at=AT + timedelta(seconds=2), ended_at=AT + timedelta(seconds=92),
                duration_ms=90_000, billed_s=90, dialled="442071234567", sip_code=200,
                sip_reason="OK", prefix="44", destination="United Kingdom",
                rate=Decimal("0.012"), charge=Decimal("0.018"))], at=AT)
    finally:
        await db.close()


def test_cdr_detail_of_a_call_free_minutes_paid_for(snap_compare, demo_path):
    async def detail(pilot):
        tab = await acme_cdrs(pilot)
        assert tab.rows[0].call_id == "free-minutes-1" and tab.rows[0].free_s == 60
        tab.table.move_cursor(row=0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, TextScreen),
                       what="detail")
        await pilot.pause()
        shown = "\n".join(screen_lines(pilot.app))
        assert "charge         0.006 USD" in shown  # 30 s of 90 at 0.012/min
        assert "free_s         60" in shown

    asyncio.run(free_call(demo_path))
    assert snap_compare(make_app(demo_path), terminal_size=(80, 24), run_before=detail)
