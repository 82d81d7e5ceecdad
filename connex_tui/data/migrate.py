"""Alembic glue: runs migrations on a connection we already hold (sync side of async)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def for_dialect(dialect: str):
    """Alembic `include_object` hook: leave out indexes meant for the other backend
    (models declare them with `.ddl_if(dialect=...)`, which autogenerate ignores)."""

    def include_object(obj, name, type_, reflected, compare_to):
        ddl_if = getattr(obj, "_ddl_if", None)
        return not (type_ == "index" and ddl_if is not None and ddl_if.dialect
                    and ddl_if.dialect != dialect)

    return include_object


def run_upgrade(connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
