"""The argument parser and the dispatch to each command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta

import connex_tui.cli.did as did_cli
from connex_tui.cli import alerts as alerts_cli
from connex_tui.cli import (
    cdr,
    cdr_group,
    cdr_import,
    jobs,
    package_usage,
    simulate,
    stats,
    traffic,
    transfer,
)
from connex_tui.cli import contacts as contacts_cli
from connex_tui.cli import payments as payments_cli
from connex_tui.cli.progress import Progress
from connex_tui.config import Config, ConfigError, load_config
from connex_tui.data.access import StorageError
from connex_tui.engine.textsafe import safe_text

# `demo seed` sizes: beyond them a seeding runs for days or its dates overflow
DEMO_MAX_CUSTOMERS = 1_000_000
DEMO_MAX_DAYS = 3650


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="connex-tui", description=__doc__)
    p.add_argument("--config", help="YAML config file (default $XDG_CONFIG_HOME/connex-tui/config.yaml)")
    p.add_argument("--database-url", help="SQLAlchemy URL (env CONNEX_DATABASE_URL)")
    p.add_argument("--readonly", action="store_true", default=None, help="viewer role: no writes")
    p.add_argument("--mouse", action="store_true", default=None, help="turn mouse tracking on")
    p.add_argument("--traffic", action=argparse.BooleanOptionalAction, default=None,
                   help="run the switch simulator inside the console (config key traffic)")
    p.add_argument("--traffic-cps", type=float, default=None, metavar="N",
                   help="its attempts a second (config key traffic_cps, default 10)")
    p.add_argument("--alerts", action=argparse.BooleanOptionalAction, default=None,
                   help="run the alert evaluator inside the console (config key alerts, "
                        "default on)")
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
    stats.add_parser(sub)
    traffic.add_parsers(sub)
    cdr.add_parsers(sub)
    cdr_import.add_parser(sub)
    payments_cli.add_parsers(sub)
    contacts_cli.add_parser(sub)
    did_cli.add_parsers(sub)
    jobs.add_parser(sub)
    alerts_cli.add_parser(sub)
    package_usage.add_parser(sub)
    return p


def _config(args) -> Config:
    return load_config(args.config, overrides={
        "database_url": args.database_url, "readonly": args.readonly, "mouse": args.mouse,
        "traffic": args.traffic, "traffic_cps": args.traffic_cps, "alerts": args.alerts})


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
    if args.command == stats.COMMAND:
        return stats.run(cfg, args)
    if args.command in traffic.COMMANDS:
        return traffic.run(cfg, args)
    if args.command == cdr_group.COMMAND:
        return cdr_group.run(cfg, args)
    if args.command in payments_cli.COMMANDS:
        return payments_cli.run(cfg, args)
    if args.command == contacts_cli.COMMAND:
        return contacts_cli.run(cfg, args)
    if args.command == did_cli.COMMAND:
        return did_cli.run(cfg, args)
    if args.command == jobs.COMMAND:
        return jobs.run(cfg, args)
    if args.command == alerts_cli.COMMAND:
        return alerts_cli.run(cfg, args)
    if args.command == package_usage.COMMAND:
        return package_usage.run(cfg, args)
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
    from connex_tui.feeds.demo import DemoError, DemoOptions, seed_database

    if not (1 <= args.customers <= DEMO_MAX_CUSTOMERS and 0 <= args.days <= DEMO_MAX_DAYS
            and (args.cdr_customers is None or args.cdr_customers >= 0)):
        print(f"connex-tui: --customers must be 1..{DEMO_MAX_CUSTOMERS:,}, --days "
              f"0..{DEMO_MAX_DAYS} and --cdr-customers >= 0", file=sys.stderr)
        return 2
    from connex_tui.engine.route_fields import moment

    try:
        now = moment(args.now, example="write an ISO time like 2026-11-25T12:00:00+00:00") \
            or datetime.now(UTC)
        now - timedelta(days=args.days + 800), now + timedelta(days=30)  # the demo's span
    except (ValueError, OverflowError) as exc:
        why = str(exc) if isinstance(exc, ValueError) else "out of range"
        print(f"connex-tui: --now: {safe_text(why)}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        summary = await seed_database(
            cfg.database_url, DemoOptions(customers=args.customers, days=args.days,
                                          seed=args.seed, now=now,
                                          cdr_customers=args.cdr_customers),
            progress=Progress("seeding"), prepare=upgrade,
            connect=lambda url: Database(url, busy_timeout=cfg.busy_timeout))
    except DemoError as exc:
        print(f"connex-tui: {safe_text(str(exc))}", file=sys.stderr)
        return 1
    print(f"{summary} in {time.monotonic() - started:.1f} s")
    return 0
