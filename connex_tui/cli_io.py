"""`connex-tui rates import|export` and `connex-tui config export|apply`: routing
configuration in and out of files. Exit codes: 0 done, 1 validation errors (reported),
2 bad arguments, unknown card, unreadable file or no permission."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from connex_tui.config import Config

COMMANDS = ("rates", "config")
PROGRESS_MIN_BYTES = 1 << 20  # smaller files import too fast for a bar to help

RATES_IMPORT_HELP = """\
Import a rate CSV (header prefix,destination,rate,connect_fee,increment
[,effective_from][,blocked]; increment as MCD/Pulse like 60/60) into CARD.

Rows upsert by (prefix, effective_from): a row whose prefix and effective_from the
card already holds replaces that row, any other row is added, and the card's other
rows stay unless --replace is given. Every row is validated first; errors are
listed by line number and nothing is written unless every row is good (or
--skip-bad). One transaction; the card version and the routing configuration
generation move on, and one audit entry records the counts.
Exit codes: 0 imported, 1 bad rows (listed on stderr), 2 bad arguments, unknown
card, unreadable file or no permission."""


def _add_db_url(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", default=argparse.SUPPRESS)


def add_parsers(sub) -> None:
    """Register `rates` and `config` on the main parser's subparsers."""
    rates = sub.add_parser("rates", help="rate-card CSV import and export")
    rsub = rates.add_subparsers(dest="rates_command", required=True)
    imp = rsub.add_parser("import", help="import a rate CSV into a card",
                          description=RATES_IMPORT_HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    imp.add_argument("card", help="rate card name")
    imp.add_argument("file", help="CSV file")
    imp.add_argument("--effective-from", metavar="ISO",
                     help="effective_from of every row that gives none (e.g. 2026-12-01)")
    imp.add_argument("--skip-bad", action="store_true",
                     help="write the good rows and report the bad ones")
    imp.add_argument("--replace", action="store_true",
                     help="delete the card's rows the file does not hold (admin)")
    _add_db_url(imp)
    exp = rsub.add_parser("export", help="write a card's rows as CSV")
    exp.add_argument("card", help="rate card name")
    exp.add_argument("file", nargs="?", help="CSV file (default: standard output)")
    _add_db_url(exp)


def run(cfg: Config, args) -> int:
    if args.command == "rates":
        handler = _rates_import if args.rates_command == "import" else _rates_export
    else:
        raise ValueError(f"not a file command: {args.command}")
    return asyncio.run(handler(cfg, args))


def _err(message: str) -> None:
    print(f"connex-tui: {message}", file=sys.stderr)


@contextmanager
def _output(path: str | None):
    """A text stream for an export: stdout, or a temporary file renamed over `path` once
    complete (a failed export never leaves half a file)."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise


async def _rates_import(cfg: Config, args) -> int:
    from connex_tui.cli import Progress
    from connex_tui.data.access import Actor, NotFound, PermissionDenied
    from connex_tui.data.db import Database, upgrade
    from connex_tui.engine.route_fields import moment
    from connex_tui.feeds.rates_csv import import_csv

    try:
        effective_from = moment(args.effective_from)
    except ValueError as exc:
        _err(f"--effective-from: {exc}")
        return 2
    try:
        size = os.path.getsize(args.file)
    except OSError as exc:
        _err(f"cannot read {args.file}: {exc.strerror}")
        return 2
    progress = Progress("importing") if size >= PROGRESS_MIN_BYTES else None
    db = Database(cfg.database_url)
    started = time.monotonic()
    try:
        await upgrade(db)
        report = await import_csv(
            db, Actor(cfg.operator, cfg.role), args.card, args.file,
            effective_from=effective_from, skip_bad=args.skip_bad, replace=args.replace,
            progress=progress)
    except (NotFound, PermissionDenied) as exc:
        _err(str(exc))
        return 2
    except OSError as exc:
        _err(f"cannot read {args.file}: {exc.strerror}")
        return 2
    finally:
        await db.dispose()
    for error in report.errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    if report.bad > len(report.errors):
        print(f"{args.file}: … and {report.bad - len(report.errors)} more bad rows",
              file=sys.stderr)
    took = f" in {time.monotonic() - started:.1f} s"
    print(report.summary() + took, file=sys.stdout if report.written else sys.stderr)
    return 1 if report.bad else 0


async def _rates_export(cfg: Config, args) -> int:
    from connex_tui.data.access import NotFound
    from connex_tui.data.db import Database
    from connex_tui.feeds.rates_csv import export_csv

    db = Database(cfg.database_url)
    try:
        with _output(args.file) as out:
            n = await export_csv(db, args.card, out)
    except NotFound as exc:
        _err(str(exc))
        return 2
    except OSError as exc:
        _err(f"cannot write {args.file}: {exc.strerror}")
        return 2
    finally:
        await db.dispose()
    if args.file:
        print(f"{n} rows written to {args.file}", file=sys.stderr)
    return 0
