"""`connex-tui stats`: a customer's KPIs over a period (docs/domain.md §9), from the rollups.

Text: the KPI table, the SIP codes and the top destinations, as the Stats tab shows them.
--json: one object with the keys of engine.stats.JSON_KEYS and `codes` (SIP code -> count);
money as decimal strings, percentages as numbers, `acd` in seconds, `pdd_ms` in ms.
Exit code 0, or 2 with one line for bad arguments or an unknown customer.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from functools import partial

from connex_tui.cli.errors import refuse
from connex_tui.config import Config

COMMAND = "stats"
MAX_NAME = 100  # a customer name is at most 100 characters (docs/domain.md §1)

HELP = """\
Print a customer's traffic KPIs over a UTC period: attempts, connected, ASR, ACD, PDD,
NER, CPS peak and mean, channels peak, charge, cost, profit and profit %, the count of
each final SIP code and the top destinations. Read from the stats rollups (never from
the CDRs). --period live is the last 24 hours; day, week (ISO, Monday to Sunday) and
month hold --date (default: today, UTC)."""


def add_parser(sub) -> None:
    p = sub.add_parser(COMMAND, help="a customer's KPIs over a period",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customer", metavar="NAME", help="the customer's name (any case)")
    p.add_argument("--period", default="day", metavar="live|day|week|month",
                   help="default: day")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="a day in the period (default: today)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    p.add_argument("--database-url", default=argparse.SUPPRESS)


_err = partial(refuse, "stats")


def run(cfg: Config, args) -> int:
    from connex_tui.engine.stats import PERIODS

    if not args.customer or not args.customer.strip():
        return _err("--customer NAME is required")
    if len(args.customer) > MAX_NAME or not args.customer.isprintable():
        return _err("--customer: not a customer name")
    if args.period not in PERIODS:
        return _err(f"--period: {args.period!r} is not one of {', '.join(PERIODS)}")
    day = None
    if args.date is not None:
        if args.period == "live":
            return _err("--date does not go with --period live (the last 24 hours)")
        from connex_tui.engine.days import RANGE_MESSAGE, parse_day

        try:
            day = parse_day(args.date)
        except ValueError as exc:
            if str(exc) == RANGE_MESSAGE:  # 9999-12-31: the period's end overflowed
                return _err(f"--date: {RANGE_MESSAGE}")
            return _err(f"--date: {args.date!r} is not a date like 2026-11-25")
    return asyncio.run(_stats(cfg, args, day))


async def _stats(cfg: Config, args, day: date | None) -> int:
    from connex_tui.data.access import Actor, NotFound
    from connex_tui.data.db import Database, upgrade
    from connex_tui.data.stats import StatsService
    from connex_tui.engine.present import json_line

    db = Database.for_config(cfg, readonly=True)  # a report creates and migrates nothing
    try:
        await upgrade(db)  # read-only: only checks the schema
        svc = StatsService(db, Actor(cfg.operator, cfg.role))
        try:
            cid, name, currency = await svc.find_customer(args.customer.strip())
        except NotFound:
            return _err(f"no customer named {args.customer.strip()!r}")
        view = await svc.view(cid, svc.period(args.period, day))
    finally:
        await db.dispose()
    if args.json:
        from connex_tui.engine.stats import summary_json

        print(json_line(summary_json(view.summary)))
        return 0
    for line in table_lines(view, name, currency):
        print(line)
    return 0


def table_lines(view, name: str, currency: str) -> list[str]:
    """The text report: every string from outside is escaped by present/stats."""
    from connex_tui.engine import present
    from connex_tui.engine.stats import code_cells, destination_cells, kpi_cells

    out = [f"{present.text(name)} · {view.period.label} (UTC)", ""]
    cells = kpi_cells(view.summary, currency)
    width = max(len(label) for label, _ in cells)
    out += [f"  {label:<{width}}  {value}" for label, value in cells]
    codes = code_cells(view.summary)
    if codes:
        out += ["", f"  {'SIP code':<8}  {'Count':>10}  {'Share':>7}"]
        out += [f"  {code:<8}  {n:>10}  {pct:>7}" for code, n, pct in codes]
    if view.top:
        rows = [destination_cells(d, currency) for d in view.top]
        head = ("Prefix", "Destination", "Attempts", "ASR", "ACD", "Charge")
        widths = [max(len(h), *(len(present.clip(r[i], 30)) for r in rows))
                  for i, h in enumerate(head)]
        right = (False, False, True, True, True, True)

        def line(cols) -> str:
            return "  " + "  ".join(
                (c.rjust(w) if r else c.ljust(w)) for c, w, r in zip(cols, widths, right,
                                                                    strict=True)).rstrip()

        out += ["", line(head)]
        out += [line([present.clip(c, 30) for c in r]) for r in rows]
    return out
