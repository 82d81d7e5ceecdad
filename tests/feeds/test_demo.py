"""The demo seeder: deterministic, every status, three currencies, ledger-consistent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from connex_tui.data.db import Database, upgrade
from connex_tui.feeds.demo import DemoError, DemoOptions, seed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TABLES = ("customers", "contacts", "ip_auth", "sip_users", "ingress_routes", "rate_rows",
          "payments", "ledger", "cdrs", "stats_rollups", "stats_codes", "dids", "dialogs")


async def _seed(path, **kw):
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(db)
        summary = await seed(db, DemoOptions(now=NOW, **kw))
        async with db.engine.connect() as conn:
            dump = {t: (await conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))).all()
                    for t in TABLES}
        return summary, dump
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    return asyncio.run(_seed(d / "a.db", customers=40, days=1)), d


def test_same_options_give_the_same_database(seeded):
    (summary, dump), d = seeded
    summary2, dump2 = asyncio.run(_seed(d / "b.db", customers=40, days=1))
    assert summary == summary2
    assert dump == dump2


def _query(path, sql):
    async def go():
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            async with db.engine.connect() as conn:
                return (await conn.execute(text(sql))).all()
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_demo_covers_every_status_currencies_and_archive(seeded):
    (_, dump), d = seeded
    db = d / "a.db"
    assert {s for (s,) in _query(db, "SELECT DISTINCT status FROM customers")} == {
        "active", "inactive", "pending_approval", "penalty"}
    assert len(_query(db, "SELECT DISTINCT currency FROM customers")) >= 3
    assert _query(db, "SELECT count(*) FROM customers WHERE archived_at IS NOT NULL")[0][0] >= 1
    assert _query(db, "SELECT count(*) FROM customers WHERE NOT has_auth OR NOT has_route")[0][0]
    assert len(dump["customers"]) == 40
    assert len(dump["cdrs"]) > 1000 and dump["payments"] and dump["dids"]


def test_every_balance_is_the_sum_of_its_ledger(seeded):
    _, d = seeded
    assert _query(d / "a.db", "SELECT count(*) FROM customers c WHERE balance != "
                  "(SELECT coalesce(sum(amount), 0) FROM ledger l "
                  "WHERE l.customer_id = c.id)")[0][0] == 0


def test_seeding_refuses_a_database_that_has_customers(seeded):
    _, d = seeded
    with pytest.raises(DemoError):
        asyncio.run(_seed(d / "a.db", customers=3, days=0))
