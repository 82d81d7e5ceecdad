"""`connex-tui did list|add|assign`: DIDs in bulk (docs/domain.md §11).

`did list` prints every DID in number order (or a customer's, or the unassigned ones);
--json prints one JSON object a line. `did add` adds the numbers given, or the rows of a CSV
(--from-file), all through the one DID validator: any bad row is reported on its own line
(naming the line) and nothing is written. `did assign` gives a number to a customer, or
takes it back (--unassign). Errors: one line, exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
from functools import partial

from connex_tui.cli.errors import refuse
from connex_tui.config import Config

COMMAND = "did"
MAX_NAME = 100
MAX_LINE = 2000  # bytes in one CSV line
MAX_BYTES = 4 << 20
CSV_COLUMNS = ("number", "destination", "destination2", "destination3", "monthly_cost",
               "monthly_retail", "max_duration", "enabled", "customer", "provider_card",
               "customer_card")
PRINT_PAGE = 500

HELP = """\
DIDs in bulk. `did list` prints them in number order: NUMBER, CUSTOMER, DESTINATION,
RETAIL, COST, MARGIN (a month, in the customer's currency) and ENABLED. `did add` takes
numbers in any international form (+44 20 7946 0000) or --from-file a CSV whose header
names some of: number (required), destination, destination2, destination3, monthly_cost,
monthly_retail, max_duration, enabled, customer, provider_card, customer_card (rate
card names; a provider card gives the DID its provider). The options fill the columns a file
leaves out. A destination is sip:user@host[:port], host:port or ext:CUSTOMER/1234."""


def add_parsers(sub) -> None:
    p = sub.add_parser(COMMAND, help="list, add and assign DIDs", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    dsub = p.add_subparsers(dest="did_command", required=True)
    ls = dsub.add_parser("list", help="DIDs in number order")
    who = ls.add_mutually_exclusive_group()
    who.add_argument("--customer", metavar="NAME", help="only this customer's")
    who.add_argument("--unassigned", action="store_true", help="only numbers in stock")
    ls.add_argument("--search", metavar="DIGITS", default="",
                    help="numbers holding these digits")
    ls.add_argument("--json", action="store_true", help="one JSON object a line")
    ls.add_argument("--database-url", default=argparse.SUPPRESS)
    add = dsub.add_parser("add", help="add numbers (or a CSV of them); all or nothing")
    add.add_argument("numbers", nargs="*", metavar="NUMBER")
    add.add_argument("--from-file", metavar="CSV", help="rows to add (header: see did -h)")
    add.add_argument("--customer", metavar="NAME", help="assign them to this customer")
    add.add_argument("--destination", default="")
    add.add_argument("--destination2", default="")
    add.add_argument("--destination3", default="")
    add.add_argument("--retail", default="0", metavar="AMOUNT", help="monthly retail")
    add.add_argument("--cost", default="0", metavar="AMOUNT", help="monthly cost")
    add.add_argument("--max-duration", default="7200", metavar="SECONDS")
    add.add_argument("--disabled", action="store_true", help="add them disabled")
    add.add_argument("--provider-card", default="", metavar="CARD",
                     help="origination card (gives the provider)")
    add.add_argument("--customer-card", default="", metavar="CARD")
    add.add_argument("--database-url", default=argparse.SUPPRESS)
    asg = dsub.add_parser("assign", help="give a number to a customer (or take it back)")
    asg.add_argument("number", metavar="NUMBER")
    to = asg.add_mutually_exclusive_group(required=True)
    to.add_argument("--customer", metavar="NAME")
    to.add_argument("--unassign", action="store_true", help="back to the stock")
    asg.add_argument("--database-url", default=argparse.SUPPRESS)


_err = partial(refuse, COMMAND)


def _bad_name(name: str | None) -> bool:
    return name is not None and (not name.strip() or len(name) > MAX_NAME
                                 or not name.isprintable())


def run(cfg: Config, args) -> int:
    if _bad_name(getattr(args, "customer", None)):
        return _err("--customer: not a customer name")
    if args.did_command != "list" and cfg.role == "viewer":
        return _err("read-only (viewer role): this command writes to the database")
    if args.did_command == "add":
        try:
            rows = _rows(args)
        except ValueError as exc:
            return _err(str(exc))
        # numbers given as arguments are named by themselves, not by a "line"
        named = {i: n for i, n in enumerate(args.numbers, 1)} if args.numbers else {}
        return asyncio.run(_add(cfg, rows, named))
    if args.did_command == "assign":
        return asyncio.run(_assign(cfg, args))
    return asyncio.run(_list(cfg, args))


def _defaults(args) -> dict:
    return {"destination": args.destination, "destination2": args.destination2,
            "destination3": args.destination3, "monthly_cost": args.cost,
            "monthly_retail": args.retail, "max_duration": args.max_duration,
            "enabled": not args.disabled, "customer": args.customer or "",
            "provider_card": args.provider_card, "customer_card": args.customer_card}


def _rows(args) -> list[tuple[int, dict]]:
    """(line, raw values) to add: the numbers given (line = their position), or a CSV's."""
    if bool(args.numbers) == bool(args.from_file):
        raise ValueError("give numbers or --from-file CSV (one of them)")
    base = _defaults(args)
    if args.numbers:
        return [(i, {**base, "number": n}) for i, n in enumerate(args.numbers, 1)]
    from connex_tui.feeds.line_reader import OutOfBounds, bounded_text

    try:
        with open(args.from_file, "rb") as fh:
            lines = [(n, t) for n, t in bounded_text(
                fh, max_line=MAX_LINE, max_lines=10_001, max_bytes=MAX_BYTES,
                row="a DID row", file="one DID file")]
    except OSError as exc:
        raise ValueError(f"{args.from_file}: {exc.strerror or exc}") from None
    except OutOfBounds as exc:
        raise ValueError(f"{args.from_file}: line {exc.line}: {exc}") from None
    if not lines:
        raise ValueError(f"{args.from_file}: empty (the first line names the columns)")
    header = [h.strip().lower() for h in next(csv.reader(io.StringIO(lines[0][1])))]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown or "number" not in header or len(set(header)) != len(header):
        raise ValueError(f"{args.from_file}: line 1: the header names columns of "
                         f"{','.join(CSV_COLUMNS)} (number required, each once)")
    out = []
    for n, text in lines[1:]:
        if not text.strip():
            continue
        try:
            [cells] = list(csv.reader(io.StringIO(text))) or [[]]
        except (csv.Error, ValueError):
            raise ValueError(f"{args.from_file}: line {n}: not a CSV row") from None
        if len(cells) != len(header):
            raise ValueError(f"{args.from_file}: line {n}: {len(cells)} values for "
                             f"{len(header)} columns")
        out.append((n, {**base, **dict(zip(header, cells, strict=True))}))
    if not out:
        raise ValueError(f"{args.from_file}: no rows after the header")
    return out


async def _open(cfg: Config, *, readonly: bool):
    from connex_tui.data.access import Actor
    from connex_tui.data.db import Database, upgrade
    from connex_tui.data.dids import DidsService

    db = Database.for_config(cfg, readonly=readonly)
    await upgrade(db)
    return db, DidsService(db, Actor(cfg.operator, cfg.role))


def _named(problem: str, named: dict[int, str]) -> str:
    """'line 2: number: ...' of the second argument as '+1 999: number: ...'."""
    head, sep, rest = problem.partition(": ")
    n = head.removeprefix("line ")
    if not (sep and n.isdigit() and int(n) in named):
        return problem
    first, also, other = rest.rpartition(" is also on line ")
    if also and other.isdigit() and int(other) in named:
        rest = f"{first} is also given as {named[int(other)]}"
    return f"{named[int(n)]}: {rest}"


async def _add(cfg: Config, rows: list[tuple[int, dict]], named: dict[int, str]) -> int:
    from connex_tui.data.access import PermissionDenied
    from connex_tui.data.dids import BulkRefused
    from connex_tui.engine.textsafe import safe_text

    db, svc = await _open(cfg, readonly=False)
    try:
        ids = await svc.add_many(rows)
    except BulkRefused as exc:
        for problem in exc.problems:
            _err(_named(problem, named))
        return _err(f"nothing added: {len(exc.problems)} problem(s)")
    except PermissionDenied as exc:
        return _err(str(exc))
    finally:
        await db.dispose()
    print(safe_text(f"{len(ids)} DID(s) added"))
    return 0


async def _assign(cfg: Config, args) -> int:
    from connex_tui.data.access import NotFound, PermissionDenied
    from connex_tui.engine.textsafe import safe_text
    from connex_tui.engine.validation import ValidationError

    db, svc = await _open(cfg, readonly=False)
    try:
        number, name = await svc.assign_number(args.number, None if args.unassign
                                               else args.customer)
    except ValidationError as exc:
        return _err(f"{args.number}: {'; '.join(exc.errors.values())}")
    except (NotFound, PermissionDenied) as exc:
        return _err(str(exc))
    finally:
        await db.dispose()
    print(safe_text(f"+{number} assigned to {name}" if name else f"+{number} unassigned"))
    return 0


def did_json(r) -> dict:
    from connex_tui.engine.present import exact

    return {"number": r.number, "customer": r.customer or None, "currency": r.currency or None,
            "destination": r.destination, "destination2": r.destination2,
            "destination3": r.destination3, "monthly_cost": exact(r.monthly_cost, 2),
            "monthly_retail": exact(r.monthly_retail, 2), "margin": exact(r.margin, 2),
            "max_duration": r.max_duration, "enabled": r.enabled,
            "provider_card": r.provider_card or None, "customer_card": r.customer_card or None}


def did_line(r) -> str:
    from connex_tui.engine import present

    owner = (r.customer + (" (archived)" if r.archived else "")) if r.customer else "-"
    return "  ".join((
        present.clip("+" + r.number, 16, pad=True), present.clip(owner, 20, pad=True),
        present.clip(r.destination or "-", 28, pad=True),
        present.exact(r.monthly_retail, 2).rjust(9), present.exact(r.monthly_cost, 2).rjust(9),
        present.exact(r.margin, 2).rjust(9), (r.currency or "").ljust(3),
        "yes" if r.enabled else "no"))


async def _list(cfg: Config, args) -> int:
    from connex_tui.data.access import NotFound
    from connex_tui.engine import present

    db, svc = await _open(cfg, readonly=True)
    try:
        if args.customer:
            try:
                cid = await svc.customer_named(args.customer)
            except NotFound as exc:
                return _err(str(exc))
            rows = [r for r in await svc.for_customer(cid)
                    if not args.search or args.search in r.number]
            pages = [rows]
        else:
            pages = _pages(svc, args.search, args.unassigned)
        if not args.json:
            print("  ".join(("NUMBER".ljust(16), "CUSTOMER".ljust(20),
                             "DESTINATION".ljust(28), "RETAIL".rjust(9), "COST".rjust(9),
                             "MARGIN".rjust(9), "CUR", "ENABLED")))
        async for page in _aiter(pages):
            for r in page:
                print(present.json_line(did_json(r)) if args.json
                      else present.text(did_line(r)))
    finally:
        await db.dispose()
    return 0


async def _aiter(pages):
    if isinstance(pages, list):
        for p in pages:
            yield p
        return
    async for p in pages:
        yield p


async def _pages(svc, search: str, unassigned: bool):
    after = None
    while True:
        page = await svc.search(search, unassigned=unassigned, after=after, limit=PRINT_PAGE)
        if not page:
            return
        yield page
        after = page[-1].number
