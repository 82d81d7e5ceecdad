"""UI fixtures: a migrated SQLite file per test, an app with a frozen clock."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connex_tui.config import Config
from connex_tui.data.db import Database, upgrade

FROZEN = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def frozen_clock() -> datetime:
    return FROZEN


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _make(path: Path, fill=None) -> None:
    async def go():
        db = Database(sqlite_url(path))
        try:
            await upgrade(db)
            if fill is not None:
                await fill(db)
        finally:
            await db.dispose()

    asyncio.run(go())


@pytest.fixture(scope="session")
def empty_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "empty.db"
    _make(path)
    return path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """The demo data of `connex-tui demo seed` (small history), ending at FROZEN."""
    from connex_tui.feeds.demo import DemoOptions, seed

    path = tmp_path_factory.mktemp("tpl") / "demo.db"

    async def fill(db):
        await seed(db, DemoOptions(customers=40, days=2, seed=7, now=FROZEN))

    _make(path, fill)
    return path


def _copy(template: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "connex.db"
    shutil.copy(template, dest)
    return dest


@pytest.fixture
def db_path(empty_template, tmp_path) -> Path:
    return _copy(empty_template, tmp_path)


@pytest.fixture
def demo_path(demo_template, tmp_path) -> Path:
    return _copy(demo_template, tmp_path)


def make_app(path: Path, role: str = "admin"):
    from connex_tui.app import ConnexApp

    cfg = Config(database_url=sqlite_url(path), operator="tester", role=role)
    return ConnexApp(cfg, clock=frozen_clock)
