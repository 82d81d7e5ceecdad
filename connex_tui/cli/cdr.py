"""`connex-tui cdr export` and `connex-tui cdr recalc` (docs/domain.md §7).

Exit codes: 0 done (or nothing to do), 1 the database failed, 2 bad arguments, unknown
customer, no permission, an unwritable file, or a recalc not confirmed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from functools import partial

from connex_tui.cli.cdr_group import cdr_subparsers
from connex_tui.cli.errors import refuse
from connex_tui.cli.stats import MAX_NAME
from connex_tui.config import Config
from connex_tui.engine.days import parse_day
from connex_tui.engine.textsafe import safe_text

EXPORT_HELP = """\
Write one customer's CDRs of the UTC days FROM..TO (both included) in start order, with
the fields call_id, start, answer, end, duration_ms, billed_s, dialled, cli_in, cli_out,
prefix, destination, rate, connect_fee, charge, provider, provider_cost, sip_code,
sip_reason, release_reason, pdd_ms, source_ip. Money is an exact decimal string, times
ISO 8601 UTC. CSV cells a spreadsheet would run as a formula start with '. Simulated
calls (SIM-...) are not CDRs and are left out. FILE is written whole or not at all."""

RECALC_HELP = """\
Recalculate one customer's answered CDRs of the UTC days FROM..TO (both included), as
the CDR tab's Recalc does: --min-duration S --new-duration S gives every call of S
seconds or more the new duration; --rerate changes no duration. Either way each call is
rated again at the rates in force at its start, the old charge is refunded and the new
one debited (ledger kind recalc), and the stats rollups follow, one batch per
transaction. A run that was killed resumes where it stopped when run again with the
same arguments; running it twice never charges twice. Prints the preview (calls, old
and new totals) and asks before writing unless --yes; --dry-run only prints it.
Needs the admin role."""


def _day(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str) -> int:
    from connex_tui.engine.recalc import parse_seconds

    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parsers(sub) -> None:
    group = cdr_subparsers(sub)
    exp = group.add_parser("export", help="write a customer's CDRs as CSV or JSON lines",
                           description=EXPORT_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(exp)
    exp.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    exp.add_argument("--output", metavar="FILE", help="default: standard output")
    exp.set_defaults(cdr_run=_run_export)
    rec = group.add_parser("recalc", help="recalculate a customer's CDRs (admin)",
                           description=RECALC_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(rec)
    how = rec.add_mutually_exclusive_group(required=True)
    how.add_argument("--min-duration", type=_seconds, metavar="S",
                     help="calls of S seconds or more (with --new-duration)")
    how.add_argument("--rerate", action="store_true", help="change no duration, rate again")
    rec.add_argument("--new-duration", type=_seconds, metavar="S",
                     help="the duration those calls get")
    rec.add_argument("--release-reason", default="", metavar="R",
                     help="only calls with this release reason")
    rec.add_argument("--dry-run", action="store_true", help="print the preview only")
    rec.add_argument("--yes", action="store_true", help="do not ask before writing")
    rec.set_defaults(cdr_run=_run_recalc)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--customer", required=True, metavar="NAME")
    p.add_argument("--from", dest="first", required=True, type=_day, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="last", required=True, type=_day, metavar="YYYY-MM-DD")
    p.add_argument("--database-url", default=argparse.SUPPRESS)


_err = partial(refuse, "cdr")


def _checked(args) -> int | None:
    """Exit 2 for what no command here can run with, else None."""
    # no customer has such a name (docs/domain.md §1: at most 100 printable characters);
    # the message would have echoed all of it
    if len(args.customer) > MAX_NAME or not args.customer.isprintable():
        return _err("--customer: not a customer name")
    if args.last < args.first:
        return _err("--to is before --from")
    return None


def _run_export(cfg: Config, args) -> int:
    if (refused := _checked(args)) is not None:
        return refused
    return asyncio.run(_export(cfg, args))


async def _export(cfg: Config, args) -> int:
    from connex_tui.data.access import Actor, NotFound
    from connex_tui.data.cdrs import CdrService
    from connex_tui.data.db import Database, upgrade
    from connex_tui.feeds.cdr_export import export_cdrs
    from connex_tui.feeds.export_file import open_export

    db = Database.for_config(cfg, readonly=True)  # an export creates and migrates nothing
    try:
        await upgrade(db)  # read-only: only checks the schema
        svc = CdrService(db, Actor(cfg.operator, cfg.role))
        cid, name, _ = await svc.customer_named(args.customer)
        with open_export(args.output) as out:
            n = await export_cdrs(svc, cid, args.first, args.last, out, args.format)
    except NotFound as exc:
        return _err(str(exc))
    except BrokenPipeError:  # `cdr export ... | head`: cli.main ends quietly
        raise
    except OSError as exc:
        return _err(f"cannot write {exc.filename or args.output}: {exc.strerror}")
    finally:
        await db.dispose()
    if args.output:
        print(safe_text(f"{n:,} CDRs of {name} written to {args.output}"), file=sys.stderr)
    return 0


def _run_recalc(cfg: Config, args) -> int:
    if (refused := _checked(args)) is not None:
        return refused
    if (args.min_duration is None) != (args.new_duration is None):
        return _err("--min-duration and --new-duration go together (or give --rerate)")
    if any(not c.isprintable() for c in args.release_reason) or len(args.release_reason) > 32:
        return _err("--release-reason: at most 32 printable characters")
    try:
        return asyncio.run(_recalc(cfg, args))
    except KeyboardInterrupt:  # the batch under way rolled back; the run's cursor stands
        _err("interrupted: the batches done stay; the same command goes on from there")
        return 130


async def _recalc(cfg: Config, args) -> int:
    from connex_tui.cli.progress import Progress
    from connex_tui.data.access import Actor, NotFound, PermissionDenied
    from connex_tui.data.cdrs import CdrService
    from connex_tui.data.db import Database, upgrade
    from connex_tui.data.recalc import RecalcService, check_range
    from connex_tui.engine.recalc import RecalcSpec, summary_lines

    try:
        spec = RecalcSpec(args.min_duration, args.new_duration, args.release_reason)
        check_range(args.first, args.last)
    except ValueError as exc:
        return _err(str(exc))
    db = Database.for_config(cfg)
    actor = Actor(cfg.operator, cfg.role)
    try:
        await upgrade(db)
        cid, name, _ = await CdrService(db, actor).customer_named(args.customer)
        svc = RecalcService(db, actor)
        preview = await svc.preview(cid, args.first, args.last, spec)
        print(safe_text(f"Recalc {name}, {args.first}..{args.last} UTC: {spec.describe()}"))
        for line in summary_lines(preview.calls, preview.changed, preview.skipped,
                                  preview.old_total, preview.new_total, preview.currency):
            print(safe_text(line))
        if args.dry_run or not preview.calls:
            if not preview.calls:
                print("nothing to recalculate")
            return 0
        if not args.yes:
            if not sys.stdin.isatty():
                return _err("not confirmed: give --yes to run without asking")
            answer = input("Recalculate? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                print("not recalculated")
                return 2
        done = await svc.run(cid, args.first, args.last, spec, progress=Progress("recalc"))
    except (NotFound, PermissionDenied) as exc:
        return _err(str(exc))
    finally:
        await db.dispose()
    print(safe_text(f"recalc #{done.run_id} {'resumed and ' if done.resumed else ''}"
                    f"{done.status}: {done.changed:,} CDRs corrected"))
    for line in summary_lines(done.calls, done.changed, done.skipped, done.old_total,
                              done.new_total, preview.currency):
        print(safe_text(line))
    return 0
