"""The `db` fixture: every data test runs on SQLite and on PostgreSQL.

PostgreSQL needs CONNEX_TEST_PG_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test).
Without it the PostgreSQL runs are skipped locally, and fail under CI (CI=true) so a
misconfigured pipeline cannot go green on SQLite alone.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from connex_tui.data.access import Actor
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import Database, upgrade
from connex_tui.data.models import Base

PG_ENV = "CONNEX_TEST_PG_URL"
PG_SKIP = f"{PG_ENV} not set: PostgreSQL tests skipped"

# A fixed "now" for services under test: 2025-03-14 12:30:00 UTC.
NOW = datetime(2025, 3, 14, 12, 30, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


async def _reset_pg(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL test database, schema dropped and migrated once per session."""
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        if _in_ci():
            pytest.fail(f"{PG_ENV} must be set when CI is set: the PostgreSQL tests may not be "
                        "skipped in CI", pytrace=False)
        pytest.skip(PG_SKIP)
    asyncio.run(_reset_pg(url))
    return url


TABLES = ", ".join(t.name for t in Base.metadata.sorted_tables)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """The backend under test. Sync on purpose: the session fixtures behind it run their own
    event loop (asyncio.run), which they cannot do inside the test's running loop."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
async def db(db_url):
    """A connex_tui.data.db.Database at the schema head holding no rows, made and disposed
    in the test's own event loop."""
    database = Database(db_url)
    try:
        if database.dialect == "postgresql":
            async with database.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def admin(db, clock) -> CustomerService:
    return CustomerService(db, Actor("alice", "admin"), clock)


@pytest.fixture
def service(db, clock):
    """service(role) -> a CustomerService acting as an operator with that role."""

    def make(role: str = "admin", name: str | None = None) -> CustomerService:
        return CustomerService(db, Actor(name or role, role), clock)

    return make
