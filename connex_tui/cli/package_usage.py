"""`connex-tui packages usage`: a customer's free-minutes packages in the interval holding a
moment (docs/domain.md §12): allowance, used and left, in seconds.

Text: one line a package. --json: an array of objects with `package`, `interval_start`
(ISO, UTC), `allowance_s`, `used_s` and `left_s`. Exit 0, or 2 with one line for bad
arguments or an unknown customer.

The `packages` command group is made here only while nothing else makes it: a `packages`
group elsewhere calls add_usage_parser(its subparsers) and, for `usage`, run_usage().
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from functools import partial

from connex_tui.cli.errors import refuse
from connex_tui.config import Config

COMMAND = "packages"
USAGE = "usage"
MAX_NAME = 100  # a customer name is at most 100 characters (docs/domain.md §1)

HELP = """\
Print a customer's free-minutes packages active at --at (default: now): the interval
that holds it, the package's allowance in it (free minutes x quantity), what calls have
used and what is left, in seconds. Calls use the allowance as they are written (live
traffic, cdr import, the demo history); a recalc never uses it again."""

_err = partial(refuse, "packages usage")


def add_usage_parser(group_sub) -> None:
    """`usage` under a `packages` command group's subparsers."""
    p = group_sub.add_parser(USAGE, help="a customer's free minutes used and left",
                             description=HELP,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customer", metavar="NAME", help="the customer's name (any case)")
    p.add_argument("--at", metavar="TIME", help="ISO time (UTC unless a zone is given; "
                   "default: now)")
    p.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    p.add_argument("--database-url", default=argparse.SUPPRESS)


def add_parser(sub) -> None:
    """The `packages` group holding `usage` (until another `packages` group takes it)."""
    group = sub.add_parser(COMMAND, help="customers' packages")
    add_usage_parser(group.add_subparsers(dest="packages_command", required=True))


def run(cfg: Config, args) -> int:
    return run_usage(cfg, args)


def run_usage(cfg: Config, args) -> int:
    from connex_tui.engine.route_fields import moment

    if not args.customer or not args.customer.strip():
        return _err("--customer NAME is required")
    if len(args.customer) > MAX_NAME or not args.customer.isprintable():
        return _err("--customer: not a customer name")
    try:
        at = moment(args.at, example="--at: write an ISO time like 2026-11-25T12:00:00") \
            or datetime.now(UTC)
    except ValueError as exc:
        why = str(exc)
        return _err(why if why.startswith("--at") else f"--at: {why}")
    return asyncio.run(_usage(cfg, args.customer.strip(), at, args.json))


async def _usage(cfg: Config, name: str, at: datetime, as_json: bool) -> int:
    from connex_tui.data.access import NotFound
    from connex_tui.data.db import Database, upgrade
    from connex_tui.data.free_minutes import customer_usage

    db = Database.for_config(cfg, readonly=True)  # a report creates and migrates nothing
    try:
        await upgrade(db)  # read-only: only checks the schema
        try:
            name, left = await customer_usage(db, name, at)
        except NotFound:
            return _err(f"no customer named {name!r}")
    finally:
        await db.dispose()
    for line in usage_lines(name, at, left, as_json):
        print(line)
    return 0


def usage_lines(name: str, at: datetime, left, as_json: bool) -> list[str]:
    """The report: every outside string escaped through engine/present."""
    from connex_tui.engine import present

    if as_json:
        return [present.json_line([
            {"package": x.package, "interval_start": x.interval_start.isoformat(),
             "allowance_s": x.allowance_s, "used_s": x.used_s, "left_s": x.left_s}
            for x in left])]
    when = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    out = [f"{present.one_line(name)} · free minutes at {when} UTC"]
    if not left:
        return [*out, "  no free-minutes package active then"]
    rows = [(present.clip(x.package, 30),
             x.interval_start.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
             present.clock(x.allowance_s), present.clock(x.used_s), present.clock(x.left_s))
            for x in left]
    head = ("Package", "Interval from (UTC)", "Allowance", "Used", "Left")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def line(cols) -> str:
        return "  " + "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(cols, widths, strict=True)))

    return [*out, "", line(head), *map(line, rows)]
