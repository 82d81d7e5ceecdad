"""`connex-tui cdr import FILE --format freeswitch|asterisk|generic`: a switch's CDR file,
rated and written with its charges (docs/domain.md §7, feeds/cdr_import).

Exit codes: 0 imported (bad lines skipped with --skip-bad are listed on stderr), 2 for bad
arguments, an unreadable file, or bad lines without --skip-bad (then nothing is written).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from functools import partial

from connex_tui.cli.cdr_group import cdr_subparsers
from connex_tui.cli.errors import refuse
from connex_tui.cli.progress import Progress
from connex_tui.config import Config

NAME = "import"

HELP = """\
Import CDRs from a switch: each call is rated with the rates in force at its start (the
routing pipeline's route, longest prefix, increments, precision and rounding), stored
with its stats and charged to the customer's balance, a batch of 5,000 at a time.

Formats: freeswitch (mod_cdr_csv's default `example` template), asterisk (cdr_csv's
Master.csv, with uniqueid), generic (a header row naming fields of `cdr export`; needs
--customer). The customer is --customer, else each line's accountcode as a customer
name or id. Times without a zone are in --timezone (default UTC).

A call id already stored is skipped: an import that was interrupted is finished by
running the same command again, and nothing is charged twice. Bad lines (unknown
customer, no rate for an answered call, unreadable fields) are listed by line number;
nothing is written unless every line is good, or --skip-bad is given."""


def add_parser(sub) -> None:
    p = cdr_subparsers(sub).add_parser(
        NAME, help="import CDRs from a switch's CSV file", description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(cdr_run=run)
    p.add_argument("file", metavar="FILE", help="the CDR file")
    p.add_argument("--format", required=True, dest="fmt",
                   choices=("freeswitch", "asterisk", "generic"))
    p.add_argument("--customer", help="customer of every line (name or id)")
    p.add_argument("--timezone", default="UTC",
                   help="IANA zone of times written without one (default UTC)")
    p.add_argument("--dry-run", action="store_true", help="rate and count, write nothing")
    p.add_argument("--skip-bad", action="store_true",
                   help="import the good lines and list the bad ones")
    p.add_argument("--database-url", default=argparse.SUPPRESS)


_err = partial(refuse, "cdr import")


def run(cfg: Config, args) -> int:
    if cfg.role == "viewer" and not args.dry_run:
        return _err("read-only (viewer role): only --dry-run writes nothing")
    try:
        return asyncio.run(_run(cfg, args))
    except KeyboardInterrupt:
        print("\nconnex-tui cdr import: interrupted; the batches written are kept: run the "
              "same command again to import the rest", file=sys.stderr)
        return 130


async def _run(cfg: Config, args) -> int:
    from connex_tui.data.access import Actor, PermissionDenied
    from connex_tui.data.cdr_import import CdrImportStore
    from connex_tui.data.db import Database, upgrade
    from connex_tui.feeds.cdr_import import ImportOptions, ImportRefused, import_cdrs

    bars: dict[str, Progress] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage) or bars.setdefault(stage, Progress(stage))
        bar(done, total)

    db = Database.for_config(cfg)
    try:
        await upgrade(db)
        store = CdrImportStore(db, Actor(cfg.operator, cfg.role))
        opts = ImportOptions(args.file, args.fmt, customer=args.customer,
                             timezone=args.timezone, dry_run=args.dry_run,
                             skip_bad=args.skip_bad)
        try:
            summary = await import_cdrs(store, opts, progress=progress)
        except ImportRefused as exc:
            return _err(str(exc))
        except PermissionDenied as exc:
            return _err(str(exc))
        if not summary.dry_run and summary.imported:
            await store.record(summary.as_dict())
    finally:
        await db.dispose()
    for error in summary.errors:
        print(f"connex-tui cdr import: {error}", file=sys.stderr)  # messages hold no file text
    if summary.bad > len(summary.errors):
        print(f"connex-tui cdr import: ... and {summary.bad - len(summary.errors):,} more "
              "bad lines", file=sys.stderr)
    for line in summary.lines_out():
        print(line)
    return 2 if summary.refused or summary.stopped is not None else 0
