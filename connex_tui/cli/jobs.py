"""`connex-tui jobs run [--at TIME] [--dry-run]`: charge every package interval and DID
rent due (docs/domain.md §11, §12), each exactly once however often it runs.

Prints one line per charge (the first SHOWN of them when there are more) and one total
line per kind and currency. Exit 0; 2 with one line for bad arguments or a viewer."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from connex_tui.cli.errors import refuse
from connex_tui.config import Config

COMMAND = "jobs"
SHOWN = 50

HELP = """\
run: charge every customer package interval that is due (in advance; minimum-spend
packages when the interval ends: max(0, retail - spend)) and every DID's monthly rent.
Each interval is recorded as it is charged, so a rerun - or a rerun after a kill -
charges nothing twice. Intervals missed by up to 35 days are caught up once each.
--at TIME charges as of that UTC time (default now); --dry-run shows what would be
charged and writes nothing."""


def add_parser(sub) -> None:
    p = sub.add_parser(COMMAND, help="periodic charges: packages and DID rent",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    jsub = p.add_subparsers(dest="jobs_command", required=True)
    run = jsub.add_parser("run", help="charge what is due", description=HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--at", metavar="TIME", help="ISO time, UTC unless zoned (default now)")
    run.add_argument("--dry-run", action="store_true", help="show, write nothing")
    run.add_argument("--database-url", default=argparse.SUPPRESS)
    p.add_argument("--database-url", default=argparse.SUPPRESS)


def _err(message: str) -> int:
    return refuse("jobs run", message)


def run(cfg: Config, args) -> int:
    from connex_tui.engine.route_fields import moment

    at = datetime.now(UTC)
    if args.at is not None:
        try:
            at = moment(args.at, example="write an ISO time like 2026-12-01T00:00:00Z")
        except ValueError as exc:
            return _err(f"--at: {exc}")
        if at is None:
            return _err("--at: write an ISO time like 2026-12-01T00:00:00Z")
    if not args.dry_run and cfg.role == "viewer":
        return _err("read-only (viewer role): only --dry-run")
    return asyncio.run(_run(cfg, at, args.dry_run))


def charge_line(c, present) -> str:
    return (f"{present.clip(present.text(c.customer), 30):<30}  "
            f"{present.money(c.amount, c.currency):>18}  {present.clip(present.text(c.note), 70)}")


async def _run(cfg: Config, at: datetime, dry_run: bool) -> int:
    from connex_tui.cli.progress import Progress
    from connex_tui.data.access import Actor
    from connex_tui.data.db import Database, upgrade
    from connex_tui.data.jobs import run_jobs
    from connex_tui.engine import present

    shown = 0

    def lines(charges) -> None:
        nonlocal shown
        for c in charges:
            if shown < SHOWN:
                print(charge_line(c, present))
            shown += 1

    db = Database.for_config(cfg, readonly=dry_run)
    try:
        await upgrade(db)
        summary = await run_jobs(db, Actor(cfg.operator, cfg.role), at, dry_run=dry_run,
                                 on_charges=lines,
                                 progress=Progress("charging") if sys.stderr.isatty()
                                 else None)
    finally:
        await db.dispose()
    if shown > SHOWN:
        print(f"... and {shown - SHOWN:,} more")
    verb = "would charge" if dry_run else "charged"
    when = at.isoformat().replace("+00:00", "Z")
    if not summary.count:
        print(f"nothing due at {when}")
        return 0
    for (kind, currency), total in sorted(summary.totals.items()):
        print(f"{verb} {kind}: {present.money(total, currency)}")
    print(f"{summary.count:,} charge(s) due at {when} (dry run: nothing written)" if dry_run
          else f"{summary.count:,} charge(s) made at {when}")
    return 0
