"""`connex-tui rates import|export` and `connex-tui config export|apply`: routing
configuration in and out of files. Exit codes: 0 done, 1 validation errors (reported),
2 bad arguments, unknown card, unreadable file or no permission."""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
import sys
import time
from pathlib import Path

from connex_tui.config import Config
from connex_tui.engine.textsafe import safe_text
from connex_tui.feeds.export_file import open_export as _output

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


CONFIG_EXPORT_HELP = """\
Write providers (with their rate cards), customer rate cards, routing scripts and
customers (with IP auth, SIP users, routes and CLI rules) as one YAML document
(docs/config-format.md). Money is written as strings. Archived customers are left
out. SIP users are written without their secrets (applying such a file keeps the
existing users' passwords) unless --with-secrets (operator or admin): then each
carries its stored ha1 and password_hash, enough to restore the users elsewhere,
and enough to answer a SIP digest challenge, so keep the file private: FILE is
written mode 0600; standard output is refused unless --force (a file it is
redirected to is then made 0600). FILE may be a symlink (its target is
rewritten), a FIFO or a device (written into as it is)."""

CONFIG_APPLY_HELP = """\
Make the database match a YAML document (docs/config-format.md), in one
transaction. The whole document is validated first; on any error nothing is
written and every error is listed with its YAML path, e.g.
customers[3].routes[0].dial_string. Entities are matched by name (providers,
cards, scripts, customers), host and direction (IP auth), username (SIP users),
tech prefix (routes) and position (CLI rules); only what differs is written, so
applying twice changes nothing. A nested list that is present (cards, rates,
ip_auth, sip_users, routes, cli_rules) is complete: rows it lacks are deleted.
Top-level entities the file does not name stay unless --prune; customers are
never deleted. --dry-run prints what would change and writes nothing.
A new or moved ingress IP wider than /8 (/32 for IPv6), or one another customer
also uses, is a warning line on stderr, and nothing is written unless
--allow-wide-auth.
Exit codes: 0 applied (or nothing to do), 1 errors in the document or unaccepted
warnings (listed on stderr), 2 bad arguments, unreadable file or no permission."""


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

    config = sub.add_parser("config", help="routing configuration as a YAML document")
    csub = config.add_subparsers(dest="config_command", required=True)
    cexp = csub.add_parser("export", help="write the routing configuration as YAML",
                           description=CONFIG_EXPORT_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    cexp.add_argument("file", nargs="?", help="YAML file (default: standard output)")
    cexp.add_argument("--with-secrets", action="store_true",
                      help="include the SIP users' ha1/password_hash (operator or admin)")
    cexp.add_argument("--force", action="store_true",
                      help="with --with-secrets and no FILE: write the secrets to standard "
                           "output anyway")
    cexp.add_argument("--inline-rates", type=int, default=1000, metavar="N",
                      help="with FILE: cards of more than N rows go to CSV files beside it "
                           "(default 1000)")
    _add_db_url(cexp)
    capp = csub.add_parser("apply", help="make the database match a YAML document",
                           description=CONFIG_APPLY_HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    capp.add_argument("file", help="YAML file")
    capp.add_argument("--dry-run", action="store_true",
                      help="print what would change and write nothing")
    capp.add_argument("--prune", action="store_true",
                      help="also delete providers, rate cards and scripts the file does not "
                           "name (admin)")
    capp.add_argument("--allow-wide-auth", action="store_true",
                      help="accept ingress IPs wider than /8 (/32 for IPv6) or shared with "
                           "another customer (refused otherwise, with a warning)")
    _add_db_url(capp)


def run(cfg: Config, args) -> int:
    if args.command == "rates":
        handler = _rates_import if args.rates_command == "import" else _rates_export
    elif args.command == "config":
        handler = _config_apply if args.config_command == "apply" else _config_export
    else:
        raise ValueError(f"not a file command: {args.command}")
    return asyncio.run(handler(cfg, args))


def _err(message: str) -> None:
    """One error line; names and messages from files and the database come escaped."""
    print(f"connex-tui: {safe_text(message)}", file=sys.stderr)


async def _rates_import(cfg: Config, args) -> int:
    from connex_tui.cli.progress import Progress
    from connex_tui.data.access import Actor, NotFound, PermissionDenied
    from connex_tui.data.db import Database, upgrade
    from connex_tui.engine.route_fields import moment
    from connex_tui.engine.textsafe import safe_text
    from connex_tui.feeds.rates_csv import import_csv

    try:
        effective_from = moment(args.effective_from)
    except ValueError as exc:
        _err(f"--effective-from: {exc}")
        return 2
    try:
        size = os.path.getsize(args.file)
    except OSError as exc:
        _err(f"cannot read {safe_text(args.file)}: {exc.strerror}")
        return 2
    progress = Progress("importing") if size >= PROGRESS_MIN_BYTES else None
    db = Database.for_config(cfg)
    started = time.monotonic()
    try:
        await upgrade(db)
        report = await import_csv(
            db, Actor(cfg.operator, cfg.role), args.card, args.file,
            effective_from=effective_from, skip_bad=args.skip_bad, replace=args.replace,
            progress=progress)
    except (NotFound, PermissionDenied, ValueError) as exc:
        _err(safe_text(exc))
        return 2
    except OSError as exc:
        _err(f"cannot read {safe_text(args.file)}: {exc.strerror}")
        return 2
    finally:
        await db.dispose()
    name = safe_text(args.file)
    for error in report.errors:
        print(f"{name}: {safe_text(error)}", file=sys.stderr)
    if report.bad > len(report.errors):
        print(f"{name}: … and {report.bad - len(report.errors)} more bad rows",
              file=sys.stderr)
    took = f" in {time.monotonic() - started:.1f} s"
    print(safe_text(report.summary()) + took,
          file=sys.stdout if report.written else sys.stderr)
    return 1 if report.bad else 0


async def _rates_export(cfg: Config, args) -> int:
    from connex_tui.data.access import NotFound
    from connex_tui.data.db import Database, upgrade
    from connex_tui.feeds.rates_csv import export_csv

    db = Database.for_config(cfg, readonly=True)  # an export creates and migrates nothing
    try:
        await upgrade(db)  # read-only: only checks the schema
        with _output(args.file) as out:
            n = await export_csv(db, args.card, out)
    except NotFound as exc:
        _err(str(exc))
        return 2
    except BrokenPipeError:  # `rates export CARD | head`: the reader had enough
        raise
    except OSError as exc:
        _err(f"cannot write {args.file}: {exc.strerror}")
        return 2
    finally:
        await db.dispose()
    if args.file:
        print(safe_text(f"{n} rows written to {args.file}"), file=sys.stderr)
    return 0


async def _config_export(cfg: Config, args) -> int:
    from connex_tui.data.access import Actor, PermissionDenied
    from connex_tui.data.db import Database, upgrade
    from connex_tui.feeds.config_export import export_config

    if args.inline_rates < 0:
        _err("--inline-rates must be 0 or more")
        return 2
    if args.with_secrets and not args.file:
        if not args.force:
            _err("--with-secrets: not writing SIP secrets to standard output (a redirect "
                 "makes a world-readable file): give FILE (written mode 0600) or --force")
            return 2
        _private_stdout()
    db = Database.for_config(cfg, readonly=True)  # an export creates and migrates nothing
    target = Path(args.file) if args.file else None
    try:
        await upgrade(db)  # read-only: only checks the schema
        with _output(args.file, private=args.with_secrets) as out:
            out.write(await export_config(db, target, inline_max=args.inline_rates,
                                          secrets=args.with_secrets,
                                          actor=Actor(cfg.operator, cfg.role)))
    except PermissionDenied as exc:
        _err(f"--with-secrets: {exc}")
        return 2
    except BrokenPipeError:  # `config export | head`: cli.main ends quietly
        raise
    except OSError as exc:
        _err(f"cannot write {exc.filename or args.file}: {exc.strerror}")
        return 2
    finally:
        await db.dispose()
    if args.file:
        print(safe_text(f"configuration written to {args.file}"), file=sys.stderr)
    return 0


def _private_stdout() -> None:
    """Secrets forced to standard output: a regular file it was redirected to (by a shell
    with the usual umask, world-readable) becomes 0600; pipes and terminals stay."""
    try:
        if stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode):
            os.fchmod(sys.stdout.fileno(), 0o600)
    except (OSError, ValueError):  # not ours to change, or no real file descriptor
        pass


async def _config_apply(cfg: Config, args) -> int:
    from connex_tui.data.access import Actor, PermissionDenied, StaleError
    from connex_tui.data.db import Database, upgrade
    from connex_tui.feeds.config_apply import apply_config
    from connex_tui.feeds.config_yaml import UnreadableConfig

    db = Database.for_config(cfg)
    try:
        await upgrade(db)
        report = await apply_config(db, Actor(cfg.operator, cfg.role), args.file,
                                    dry_run=args.dry_run, prune=args.prune,
                                    allow_wide_auth=args.allow_wide_auth)
    except PermissionDenied as exc:
        _err(str(exc))
        return 2
    except StaleError as exc:
        _err(f"{exc}: nothing written, apply again")
        return 1
    except UnreadableConfig as exc:
        _err(f"{args.file}: {exc}")
        return 2
    except OSError as exc:
        _err(f"cannot read {exc.filename or args.file}: {exc.strerror}")
        return 2
    finally:
        await db.dispose()
    for warning in report.warnings:  # slow patterns, wide or shared ingress IPs
        print(f"{safe_text(args.file)}: warning: {safe_text(warning)}", file=sys.stderr)
    if report.errors:
        for error in report.errors:
            print(safe_text(f"{args.file}: {error}"), file=sys.stderr)
        n = len(report.errors)
        print(safe_text(f"{args.file}: nothing written ({n} error{'s' * (n != 1)})"),
              file=sys.stderr)
        return 1
    if report.refused:
        n = report.auth_warnings
        print(f"{safe_text(args.file)}: nothing written ({n} authentication warning"
              f"{'s' * (n != 1)}: check, then apply with --allow-wide-auth)", file=sys.stderr)
        return 1
    for change in report.changes:
        print(safe_text(str(change)))
    for username, password in report.passwords:
        print(safe_text(f"SIP user {username}: generated password {password} (shown once)"))
    n = len(report.changes)
    if not n:
        print("no changes: the database already matches")
    elif args.dry_run:
        print(f"{n} change{'s' * (n != 1)} (dry run: nothing written)")
    else:
        print(f"{n} change{'s' * (n != 1)} applied")
    return 0
