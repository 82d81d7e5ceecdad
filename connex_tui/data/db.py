"""Engine factory (made from config, never at import), SQLite pragmas, schema upgrade."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

# The newest migration; tests check it equals Alembic's head. Start-up compares it with the
# database so that Alembic (slow to import) only loads when there is something to apply.
SCHEMA_HEAD = "0002"


class Database:
    """An engine plus its session factory; one per process."""

    def __init__(self, url: str):
        self.url = url
        self.engine: AsyncEngine = make_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def make_engine(url: str) -> AsyncEngine:
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # the database holds customer data: owner-only
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        try:
            row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
        except Exception:
            return None
        return row[0] if row else None


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` (no-op when already there)."""
    if revision == "head" and await current_revision(db) == SCHEMA_HEAD:
        return
    from connex_tui.data.migrate import run_upgrade

    async with db.engine.begin() as conn:
        await conn.run_sync(run_upgrade, revision)
