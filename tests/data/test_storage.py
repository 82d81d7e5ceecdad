"""Storage failures reach the caller as one StorageError line, nothing written: a second
writer waits a bounded time for the lock; viewers open the database read-only and never
create nor migrate it; unreachable, missing tables, constraints."""

from __future__ import annotations

import re
import sqlite3
import time
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import insert, text

from connex_tui.data.access import (
    Actor,
    ConstraintFailed,
    DatabaseBusy,
    NoDatabase,
    SchemaMismatch,
    StorageError,
)
from connex_tui.data.customers import CustomerService
from connex_tui.data.db import SCHEMA_HEAD, Database, current_revision, upgrade
from connex_tui.data.models import Customer
from tests.data.conftest import NOW, FakeClock

WAIT = 0.3  # a short busy_timeout keeps these tests fast


@asynccontextmanager
async def write_lock_held(db_url: str):
    """Another writer holds the write lock: BEGIN IMMEDIATE on SQLite, a table lock that
    lets readers through on PostgreSQL."""
    if db_url.startswith("sqlite"):
        holder = sqlite3.connect(db_url.split(":///", 1)[1], timeout=0)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.rollback()
            holder.close()
    else:
        other = Database(db_url)
        try:
            async with other.engine.connect() as conn:
                await conn.execute(text("LOCK TABLE customers IN EXCLUSIVE MODE"))
                yield
                await conn.rollback()
        finally:
            await other.dispose()


async def count(db: Database) -> int:
    async with db.engine.connect() as conn:
        return await conn.scalar(text("SELECT count(*) FROM customers"))


async def test_a_second_writer_waits_a_bounded_time_then_gets_one_line(db, db_url):
    writer = Database(db_url, busy_timeout=WAIT)
    customers = CustomerService(writer, Actor("bob"), FakeClock())
    try:
        async with write_lock_held(db_url):
            started = time.monotonic()
            with pytest.raises(DatabaseBusy) as caught:
                await customers.create({"name": "Blocked Co", "currency": "USD"})
            took = time.monotonic() - started
        assert WAIT * 0.8 <= took < WAIT + 2
        assert re.fullmatch(r"the database is busy: another writer holds the lock "
                            r"\(waited 0\.\d s\); try again", str(caught.value))
        assert caught.value.exit_code == 1
        assert await count(db) == 0  # nothing written
        await customers.create({"name": "Blocked Co", "currency": "USD"})  # lock gone: saved
        assert await count(db) == 1
    finally:
        await writer.dispose()


async def test_the_default_wait_is_five_seconds_not_thirty(sqlite_url):
    db = Database(sqlite_url)
    try:
        async with db.engine.connect() as conn:
            assert await conn.scalar(text("PRAGMA busy_timeout")) == 5000
    finally:
        await db.dispose()


async def test_a_refused_row_is_a_constraint_error_and_the_session_rolls_back(db):
    async def add(session, name):
        await session.execute(insert(Customer).values(
            name=name, name_key="same", currency="USD", version=1, created_at=NOW,
            updated_at=NOW))

    with pytest.raises(ConstraintFailed, match="^the database refused the change .*"
                                               "nothing was written$") as caught:
        async with db.sessions() as s, s.begin():
            await add(s, "One")
            await add(s, "Two")
    assert "\n" not in str(caught.value)
    assert await count(db) == 0


async def test_a_database_read_only_to_the_viewer_refuses_writes_itself(db, db_url):
    """Defence in depth below the role check: the connection itself cannot write."""
    viewer = Database(db_url, readonly=True)
    try:
        with pytest.raises(StorageError, match="is read-only: nothing was written"):
            async with viewer.sessions() as s, s.begin():
                await s.execute(insert(Customer).values(
                    name="X", name_key="x", currency="USD", version=1, created_at=NOW,
                    updated_at=NOW))
        async with viewer.sessions() as s:  # reading is fine
            assert (await s.execute(text("SELECT count(*) FROM customers"))).scalar() == 0
    finally:
        await viewer.dispose()
    assert await count(db) == 0


# -- read-only start (SQLite: the file) -------------------------------------------------------
async def test_readonly_on_a_missing_path_creates_nothing(tmp_path):
    path = tmp_path / "nowhere" / "connex.db"
    db = Database(f"sqlite+aiosqlite:///{path}", readonly=True)
    try:
        with pytest.raises(NoDatabase) as caught:
            await upgrade(db)
    finally:
        await db.dispose()
    assert str(caught.value) == f"no database at {path}"
    assert caught.value.exit_code == 2
    assert not path.parent.exists()


async def _file_at(path, revision: str | None) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    db = Database(url)
    try:
        if revision is not None:
            await upgrade(db, revision)
        else:
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await db.dispose()
    return url


@pytest.mark.parametrize(("revision", "says"), [
    ("0001", f"is at schema 0001, this connex-tui needs {SCHEMA_HEAD}"),
    (None, "has no connex-tui schema"),
])
async def test_readonly_never_migrates_it_says_to_run_db_upgrade(tmp_path, revision, says):
    path = tmp_path / "old.db"
    url = await _file_at(path, revision)
    before = path.read_bytes()
    db = Database(url, readonly=True)
    try:
        with pytest.raises(SchemaMismatch) as caught:
            await upgrade(db)
        assert await current_revision(db) == revision
    finally:
        await db.dispose()
    assert str(caught.value) == (f"the database at {path} {says}: run `connex-tui db upgrade` "
                                 "(as operator or admin), then start again")
    assert caught.value.exit_code == 2
    assert path.read_bytes() == before


async def test_readonly_at_head_reads(sqlite_url):
    db = Database(sqlite_url, readonly=True)
    try:
        await upgrade(db)  # only a check: nothing to say
        assert await current_revision(db) == SCHEMA_HEAD
    finally:
        await db.dispose()


async def test_a_schema_newer_than_the_program_is_refused_not_downgraded(sqlite_url):
    with sqlite3.connect(sqlite_url.split(":///", 1)[1]) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    db = Database(sqlite_url)
    try:
        with pytest.raises(SchemaMismatch, match="at schema 0099, newer than this connex-tui "
                                                 rf"knows \({SCHEMA_HEAD}\): upgrade connex-tui$"):
            await upgrade(db)
    finally:
        await db.dispose()


async def test_missing_tables_say_to_run_db_upgrade(tmp_path):
    url = await _file_at(tmp_path / "empty.db", None)
    db = Database(url)
    try:
        with pytest.raises(SchemaMismatch, match=r"lacks connex-tui's tables \(no such table: "
                                                 r"customers\): run `connex-tui db upgrade`$"):
            await CustomerService(db, Actor("bob"), FakeClock()).create(
                {"name": "A", "currency": "USD"})
    finally:
        await db.dispose()


async def test_an_unreachable_server_is_one_line_without_the_password():
    db = Database("postgresql+asyncpg://ops:s3cret@127.0.0.1:1/connex")
    try:
        with pytest.raises(StorageError) as caught:
            await upgrade(db)
    finally:
        await db.dispose()
    message = str(caught.value)
    assert message.startswith("the database at 127.0.0.1:1/connex is unreachable: "
                              "cannot connect: ")
    assert "\n" not in message and "s3cret" not in message


async def test_outside_text_in_a_message_is_escaped(tmp_path):
    path = tmp_path / "evil\x1b]52;c;aGk=\x07.db"
    db = Database(f"sqlite+aiosqlite:///{path}", readonly=True)
    try:
        with pytest.raises(NoDatabase) as caught:
            await upgrade(db)
    finally:
        await db.dispose()
    assert "\x1b" not in str(caught.value) and "\x07" not in str(caught.value)
    assert str(caught.value).endswith("evil\\x1b]52;c;aGk=\\x07.db")
