"""The database itself: schema head, pragmas, file mode, exact money and UTC storage."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, text

from connex_tui.data import migrate
from connex_tui.data.db import SCHEMA_HEAD, Database, current_revision, upgrade
from connex_tui.data.models import Base, Customer, LedgerEntry


def test_schema_head_constant_matches_alembic_head():
    assert migrate.head_revision() == SCHEMA_HEAD


async def test_database_is_at_head_and_upgrade_is_idempotent(db):
    assert await current_revision(db) == SCHEMA_HEAD
    await upgrade(db)
    await upgrade(db, "head")
    assert await current_revision(db) == SCHEMA_HEAD
    async with db.engine.connect() as conn:
        n = await conn.scalar(text("SELECT count(*) FROM alembic_version"))
    assert n == 1


async def test_migrations_create_every_model_table(db):
    def table_names(sync_conn):
        from sqlalchemy import inspect

        return set(inspect(sync_conn).get_table_names())

    async with db.engine.connect() as conn:
        names = await conn.run_sync(table_names)
    assert {t.name for t in Base.metadata.sorted_tables} <= names


async def test_migrations_match_the_models(db):
    """No drift between models.py and the migrations (autogenerate would find nothing)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def drift(sync_conn):
        from connex_tui.data.migrate import for_dialect

        ctx = MigrationContext.configure(sync_conn, opts={
            "compare_type": True, "include_object": for_dialect(sync_conn.dialect.name)})
        return compare_metadata(ctx, Base.metadata)

    async with db.engine.connect() as conn:
        assert await conn.run_sync(drift) == []


async def test_fresh_sqlite_upgrade_from_empty_file(tmp_path):
    path = tmp_path / "new" / "connex.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert await current_revision(db) is None
        await upgrade(db)
        assert await current_revision(db) == SCHEMA_HEAD
        await upgrade(db)  # second run: nothing to do, no error
        assert await current_revision(db) == SCHEMA_HEAD
    finally:
        await db.dispose()


async def test_new_sqlite_file_is_owner_only(tmp_path):
    path = tmp_path / "sub" / "connex.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    finally:
        await db.dispose()


async def test_sqlite_pragmas(sqlite_url):
    db = Database(sqlite_url)
    try:
        async with db.engine.connect() as conn:
            assert (await conn.scalar(text("PRAGMA journal_mode"))).lower() == "wal"
            assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
            assert await conn.scalar(text("PRAGMA busy_timeout")) == 5000
    finally:
        await db.dispose()


async def _new_customer(session, name="Raw Co", **values) -> int:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return await session.scalar(insert(Customer).values(
        name=name, name_key=name.lower(), currency="USD", version=1, created_at=now,
        updated_at=now, **values).returning(Customer.id))


async def test_money_is_stored_as_integer_micro_units(db):
    async with db.sessions() as s, s.begin():
        cid = await _new_customer(s, debit_limit=Decimal("12.345"),
                                  tax_percent=Decimal("17.5"), balance=Decimal("-0.000001"))
    async with db.engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT debit_limit, tax_percent, balance FROM customers WHERE id = :i"),
            {"i": cid})).one()
    assert row == (12345000, 17500000, -1)
    assert all(type(v) is int for v in row)
    async with db.sessions() as s:
        c = await s.get(Customer, cid)
    assert c.debit_limit == Decimal("12.345000")
    assert isinstance(c.debit_limit, Decimal)
    assert str(c.tax_percent) == "17.500000"


async def test_money_column_refuses_float_and_sub_micro_values(db):
    async with db.sessions() as s:
        with pytest.raises(Exception, match="float"):
            await _new_customer(s, debit_limit=1.5)
    async with db.sessions() as s:
        with pytest.raises(Exception, match="6 decimals"):
            await _new_customer(s, debit_limit=Decimal("0.0000001"))


async def test_large_money_round_trips_exactly(db):
    big = Decimal("999999999999.999999")  # just under the 10^12 input limit
    async with db.sessions() as s, s.begin():
        cid = await _new_customer(s, balance=big)
    async with db.sessions() as s:
        assert await s.scalar(select(Customer.balance).where(Customer.id == cid)) == big


async def test_timestamps_round_trip_as_aware_utc(db):
    local = timezone(timedelta(hours=5, minutes=30))
    when = datetime(2025, 6, 1, 3, 15, 42, 123456, tzinfo=local)
    async with db.sessions() as s, s.begin():
        cid = await _new_customer(s)
        await s.execute(insert(LedgerEntry).values(
            customer_id=cid, kind="adjust", amount=Decimal(1), at=when))
    async with db.sessions() as s:
        got = await s.scalar(select(LedgerEntry.at))
        latest = await s.scalar(select(LedgerEntry.at).order_by(LedgerEntry.at.desc()))
    assert got == when
    assert got.tzinfo is UTC
    assert got.hour == 21 and got.day == 31  # 03:15 at +05:30 is 21:45 UTC the day before
    assert latest == when
    async with db.engine.connect() as conn:  # stored as the UTC wall time
        raw = await conn.scalar(text("SELECT at FROM ledger"))
    assert str(raw).startswith("2025-05-31 21:45:42")


async def test_naive_datetime_is_refused(db):
    async with db.sessions() as s:
        with pytest.raises(Exception, match="naive"):
            await s.execute(insert(Customer).values(
                name="N", name_key="n", currency="USD", version=1,
                created_at=datetime(2025, 1, 1), updated_at=datetime(2025, 1, 1)))
