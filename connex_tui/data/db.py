"""Engine factory (made from config, never at import), SQLite pragmas, schema upgrade, and
the one place SQLAlchemy's errors become StorageError (where a session ends)."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from connex_tui.data.access import (
    ConstraintFailed,
    DatabaseBusy,
    NoDatabase,
    SchemaMismatch,
    StorageError,
)
from connex_tui.engine import present

# The newest migration; tests check it equals Alembic's head. Start-up compares it with the
# database so that Alembic (slow to import) only loads when there is something to apply.
SCHEMA_HEAD = "0011"

# How long a writer waits for another writer's lock before it gives up (seconds): long
# enough for an ordinary save to get through, short enough that nobody stares at a frozen
# prompt while a long import holds the lock (config key `busy_timeout`).
DEFAULT_BUSY_TIMEOUT = 5.0


class Database:
    """An engine plus its session factory; one per process. `readonly` (the viewer role)
    opens SQLite read-only and never creates the file nor migrates the schema."""

    def __init__(self, url: str, *, readonly: bool = False,
                 busy_timeout: float = DEFAULT_BUSY_TIMEOUT):
        self.url = url
        self.readonly = readonly
        self.busy_timeout = busy_timeout
        self.engine: AsyncEngine = make_engine(url, readonly=readonly,
                                               busy_timeout=busy_timeout)
        self.sessions = async_sessionmaker(self.engine, class_=GuardedSession,
                                           expire_on_commit=False, info={"database": self})

    @classmethod
    def for_config(cls, cfg, *, readonly: bool = False) -> Database:
        """The database a connex_tui.config.Config names, opened as its role allows (and
        read-only for a command that only reads)."""
        return cls(cfg.database_url, readonly=readonly or cfg.role == "viewer",
                   busy_timeout=cfg.busy_timeout)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def where(self) -> str:
        """The database for a message: the SQLite path, or host:port/name (no password)."""
        path = _sqlite_path(self.url)
        if path is not None:
            return present.text(str(path))
        u = make_url(self.url)
        return present.text(f"{u.host or 'localhost'}:{u.port or 5432}/{u.database or ''}")

    async def dispose(self) -> None:
        await self.engine.dispose()


class GuardedSession(AsyncSession):
    """A session whose database errors leave its `async with` as StorageError: every
    service and feed opens its sessions here, so the translation happens once."""

    async def __aexit__(self, type_, value, traceback) -> None:
        db = self.info.get("database")
        try:
            await super().__aexit__(type_, value, traceback)
        except SQLAlchemyError as exc:  # closing failed too (the connection is gone)
            raise storage_error(exc, db) from exc
        if isinstance(value, SQLAlchemyError):
            raise storage_error(value, db) from value


@contextmanager
def translated(db: Database | None):
    """For the few places that use the engine rather than a session."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise storage_error(exc, db) from exc


def printable(s: str, limit: int = 200) -> str:
    """One line, control characters shown escaped, at most `limit` characters."""
    return present.clip(present.text(s), limit)


def _reason(exc: BaseException) -> tuple[str, str | None]:
    """The driver's first message line, and PostgreSQL's SQLSTATE when there is one."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    lines = str(orig).strip().splitlines()
    line = lines[0] if lines else type(orig).__name__
    if line.startswith("<class '"):  # asyncpg through SQLAlchemy: "<class '...'>: message"
        line = line.split(">: ", 1)[-1]
    return line, code


_UNREACHABLE = "cannot connect:"  # what the PostgreSQL connect hook puts before a socket error


def storage_error(exc: BaseException, db: Database | None) -> StorageError:
    """The operator's one line for a database failure (the operation was rolled back)."""
    line, code = _reason(exc)
    low = line.lower()
    where = db.where if db is not None else "the configured URL"
    if "database is locked" in low or "database is busy" in low or code in ("55P03", "40P01"):
        waited = getattr(exc, "connex_waited", None)
        took = f" (waited {waited:.1f} s)" if waited is not None else ""
        return DatabaseBusy(f"the database is busy: another writer holds the lock{took}; "
                            "try again")
    if isinstance(exc, IntegrityError):
        return ConstraintFailed(f"the database refused the change ({printable(line)}): "
                                "nothing was written")
    if "unable to open database file" in low:
        path = _sqlite_path(db.url) if db is not None else None
        if db is not None and db.readonly and path is not None and not path.exists():
            return NoDatabase(f"no database at {where}")
        return StorageError(f"cannot open the database at {where}: check the path and its "
                            "permissions")
    if "no such table" in low or code == "42P01":
        return SchemaMismatch(f"the database at {where} lacks connex-tui's tables "
                              f"({printable(line)}): run `connex-tui db upgrade`")
    if "database or disk is full" in low or code == "53100":
        return StorageError(f"the disk holding the database at {where} is full: nothing was "
                            "written")
    if "readonly database" in low or code == "25006":
        return StorageError(f"the database at {where} is read-only: nothing was written")
    if line.startswith(_UNREACHABLE) or (code or "").startswith(("08", "28", "3D", "53300")):
        return StorageError(f"the database at {where} is unreachable: {printable(line)}")
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return StorageError(f"the connection to the database at {where} was lost: try again")
    return StorageError(f"database error ({type(getattr(exc, 'orig', None) or exc).__name__}): "
                        f"{printable(line)}")


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _readonly_sqlite_url(url: str, path: Path) -> URL:
    """The same file through SQLite's URI form with mode=ro: opening creates nothing."""
    from urllib.parse import quote

    return make_url(url).set(database=f"file:{quote(str(path))}",
                             query={"mode": "ro", "uri": "true"})


def make_engine(url: str, *, readonly: bool = False,
                busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> AsyncEngine:
    path = _sqlite_path(url)
    if path is not None:
        target: str | URL = url
        if readonly:
            target = _readonly_sqlite_url(url, path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # the database holds customer data: owner-only
                fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
        engine = create_async_engine(target, connect_args={"timeout": busy_timeout})

        @event.listens_for(engine.sync_engine, "do_connect")
        def _exists(dialect, _record, cargs, cparams):
            # say so before aiosqlite starts a thread that would outlive a failed open
            if readonly and not path.exists():
                raise dialect.loaded_dbapi.OperationalError("unable to open database file")

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            if not readonly:  # a read-only connection changes nothing, not even the journal
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cur.close()

    else:
        settings = {"lock_timeout": str(int(busy_timeout * 1000))}  # the same bounded wait
        if readonly:
            settings["default_transaction_read_only"] = "on"
        engine = create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True,
                                     connect_args={"server_settings": settings})

        @event.listens_for(engine.sync_engine, "do_connect")
        def _connect(dialect, _record, cargs, cparams):
            # asyncpg raises socket errors as they are; make them the driver's own error so
            # that they reach the session boundary as SQLAlchemy's OperationalError
            try:
                return dialect.connect(*cargs, **cparams)
            except OSError as exc:
                raise dialect.loaded_dbapi.OperationalError(f"{_UNREACHABLE} {exc}") from exc

    _time_statements(engine)
    return engine


def _time_statements(engine: AsyncEngine) -> None:
    """Note how long a failed statement ran, so a lock error can say how long it waited."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _started(conn, _cursor, _statement, _params, _context, _many):
        conn.info["connex.started"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _failed(ctx):
        started = ctx.connection.info.get("connex.started") if ctx.connection else None
        if started is not None and ctx.sqlalchemy_exception is not None:
            ctx.sqlalchemy_exception.connex_waited = time.monotonic() - started


async def current_revision(db: Database) -> str | None:
    with translated(db):
        async with db.engine.connect() as conn:
            try:
                row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
            except DBAPIError:  # no alembic_version table: a database never migrated
                return None
            return row[0] if row else None


async def upgrade(db: Database, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision` (no-op when already there). A read-only
    database is only checked: SchemaMismatch when it is not at this program's head."""
    current = await current_revision(db)
    if current is not None and current > SCHEMA_HEAD:
        raise SchemaMismatch(f"the database at {db.where} is at schema {printable(current)}, "
                             f"newer than this connex-tui knows ({SCHEMA_HEAD}): upgrade "
                             "connex-tui")
    if revision == "head" and current == SCHEMA_HEAD:
        return
    if db.readonly:
        have = "has no connex-tui schema" if current is None else \
            f"is at schema {printable(current)}, this connex-tui needs {SCHEMA_HEAD}"
        raise SchemaMismatch(f"the database at {db.where} {have}: run `connex-tui db upgrade` "
                             "(as operator or admin), then start again")
    from connex_tui.data.migrate import run_upgrade

    with translated(db):
        async with db.engine.begin() as conn:
            await conn.run_sync(run_upgrade, revision)
