"""The argument parser and the dispatch to each command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime

from connex_tui.cli import simulate, transfer
from connex_tui.cli.progress import Progress
from connex_tui.config import Config, ConfigError, load_config
from connex_tui.data.access import StorageError
from connex_tui.engine.textsafe import safe_text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="connex-tui", description=__doc__)
    p.add_argument("--config", help="YAML config file (default $XDG_CONFIG_HOME/connex-tui/config.yaml)")
    p.add_argument("--database-url", help="SQLAlchemy URL (env CONNEX_DATABASE_URL)")
    p.add_argument("--readonly", action="store_true", default=None, help="viewer role: no writes")
    p.add_argument("--mouse", action="store_true", default=None, help="turn mouse tracking on")
    sub = p.add_subparsers(dest="command")

    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply schema migrations")
    up.add_argument("--database-url", default=argparse.SUPPRESS)

    demo = sub.add_parser("demo", help="demo data")
    demosub = demo.add_subparsers(dest="demo_command", required=True)
    seed = demosub.add_parser("seed", help="fill the database with deterministic demo data")
    seed.add_argument("--customers", type=int, default=40)
    seed.add_argument("--days", type=int, default=30)
    seed.add_argument("--seed", type=int, default=7)
    seed.add_argument("--cdr-customers", type=int, default=None,
                      help="write CDR history for only this many customers (default: all)")
    seed.add_argument("--now", help="ISO time the history ends at (default: now)")
    seed.add_argument("--database-url", default=argparse.SUPPRESS)
    transfer.add_parsers(sub)
    simulate.add_parser(sub)
    return p


def _config(args) -> Config:
    return load_config(args.config, overrides={
        "database_url": args.database_url, "readonly": args.readonly, "mouse": args.mouse})


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except StorageError as exc:  # rolled back already: one line, never a traceback
        print(f"connex-tui: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do (and keep
        # Python from complaining again when it flushes stdout at exit).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = _config(args)
    except ConfigError as exc:
        print(f"connex-tui: config error: {safe_text(str(exc))}", file=sys.stderr)
        return 2
    if args.command in ("db", "demo") and cfg.role == "viewer":
        print("connex-tui: read-only (viewer role): this command writes to the database",
              file=sys.stderr)
        return 2
    if args.command == "db":
        return asyncio.run(_db_upgrade(cfg))
    if args.command == "demo":
        return asyncio.run(_demo_seed(cfg, args))
    if args.command in transfer.COMMANDS:
        return transfer.run(cfg, args)
    if args.command == simulate.COMMAND:
        return simulate.run(cfg, args)
    from connex_tui.app import run_app

    return run_app(cfg)


async def _db_upgrade(cfg: Config) -> int:
    from connex_tui.data.db import Database, current_revision, upgrade

    db = Database.for_config(cfg)
    try:
        await upgrade(db)
        print(f"database at revision {await current_revision(db)}")
    finally:
        await db.dispose()
    return 0


async def _demo_seed(cfg: Config, args) -> int:
    from connex_tui.data.db import Database, upgrade
    from connex_tui.feeds.demo import DemoError, DemoOptions, seed

    if args.customers < 1 or args.days < 0:
        print("connex-tui: --customers must be >= 1 and --days >= 0", file=sys.stderr)
        return 2
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except ValueError:
        print(f"connex-tui: --now must be an ISO time like 2026-11-25T12:00:00+00:00, "
              f"not {args.now!r}", file=sys.stderr)
        return 2
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    db = Database.for_config(cfg)
    started = time.monotonic()
    try:
        await upgrade(db)
        summary = await seed(db, DemoOptions(
            customers=args.customers, days=args.days, seed=args.seed, now=now,
            cdr_customers=args.cdr_customers), progress=Progress("seeding"))
    except DemoError as exc:
        print(f"connex-tui: {safe_text(str(exc))}", file=sys.stderr)
        return 1
    finally:
        await db.dispose()
    print(f"{summary} in {time.monotonic() - started:.1f} s")
    return 0
