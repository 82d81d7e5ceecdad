"""`connex-tui alerts`: list, test and run the alert evaluator (docs/domain.md §10).

- `alerts list [--customer NAME] [--json]`: every alert (or one customer's) with its
  condition, state and last firing.
- `alerts test ID`: what the alert would do now (value, decision, the mail), writing nothing.
- `alerts run [--once]`: evaluate every minute until interrupted (Ctrl-C stops cleanly
  between rounds or mid-round: each alert's transition is its own transaction), or one
  round with --once. Mail goes out over the config's SMTP settings after each commit.
Errors: one line, exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial

from connex_tui.cli.errors import refuse
from connex_tui.cli.signals import stop_on_signals
from connex_tui.config import Config

COMMAND = "alerts"
MAX_NAME = 100
MAX_ID = 2_147_483_647

_err = partial(refuse, COMMAND)


def add_parser(sub) -> None:
    p = sub.add_parser(COMMAND, help="list, test and run the alert evaluator",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    asub = p.add_subparsers(dest="alerts_command", required=True)
    ls = asub.add_parser("list", help="alerts with their state")
    ls.add_argument("--customer", metavar="NAME", help="one customer's (any case)")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.add_argument("--database-url", default=argparse.SUPPRESS)
    t = asub.add_parser("test", help="what an alert would do now, without doing it")
    t.add_argument("id", help="the alert's id (alerts list shows it)")
    t.add_argument("--database-url", default=argparse.SUPPRESS)
    r = asub.add_parser("run", help="evaluate every minute until interrupted")
    r.add_argument("--once", action="store_true", help="one round, then exit")
    r.add_argument("--database-url", default=argparse.SUPPRESS)


def run(cfg: Config, args) -> int:
    if args.alerts_command == "list":
        name = args.customer
        if name is not None and (not name.strip() or len(name) > MAX_NAME
                                 or not name.isprintable()):
            return _err("--customer: not a customer name")
        return asyncio.run(_list(cfg, name.strip() if name else None, args.json))
    if args.alerts_command == "test":
        raw = args.id.strip()
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
            return _err(f"test: {args.id!r} is not an alert id (a whole number)")
        return asyncio.run(_test(cfg, int(raw)))
    if cfg.role == "viewer":
        return _err("run: read-only (viewer role): the evaluator writes alert states")
    return asyncio.run(_run(cfg, args.once))


async def _open(cfg: Config, readonly: bool):
    from connex_tui.data.access import Actor
    from connex_tui.data.alerts import AlertsService
    from connex_tui.data.db import Database, upgrade

    db = Database.for_config(cfg, readonly=readonly)
    await upgrade(db)  # read-only: only checks the schema
    return db, AlertsService(db, Actor(cfg.operator or "alerts", cfg.role))


def _row_json(name: str, a) -> dict:
    from connex_tui.engine.present import plain_decimal

    when = lambda t: t.isoformat() if t else None  # noqa: E731
    return {"id": a.id, "customer": name, "title": a.title, "area": a.area,
            "operator": a.operator, "threshold": plain_decimal(a.threshold),
            "reset_threshold": plain_decimal(a.reset_threshold) or None,
            "sample_minutes": a.sample_minutes, "min_attempts": a.min_attempts,
            "penalty_minutes": a.penalty_minutes, "repeat": a.repeat, "enabled": a.enabled,
            "recipients": a.recipients, "state": a.state,
            "last_fired_at": when(a.last_fired_at), "penalty_until": when(a.penalty_until)}


async def _list(cfg: Config, customer: str | None, as_json: bool) -> int:
    from connex_tui.data.access import NotFound
    from connex_tui.engine import present

    db, svc = await _open(cfg, True)
    try:
        try:
            rows = await svc.listing(customer)
        except NotFound:
            return _err(f"no customer named {customer!r}")
    finally:
        await db.dispose()
    if as_json:
        for name, a in rows:
            print(present.json_line(_row_json(name, a)))
        return 0
    if not rows:
        print("no alerts")
        return 0
    print(f"{'ID':>6}  {'Customer':<20}  {'Title':<22}  {'Condition':<24}  {'State':<7}  "
          "Last fired (UTC)")
    for name, a in rows:
        fired = f"{a.last_fired_at:%Y-%m-%d %H:%M}" if a.last_fired_at else "-"
        state = a.state if a.enabled else "off"
        print(f"{a.id:>6}  {present.clip(name, 20, pad=True)}  "
              f"{present.clip(a.title, 22, pad=True)}  {present.clip(a.condition, 24, pad=True)}"
              f"  {state:<7}  {fired}")
    return 0


async def _test(cfg: Config, alert_id: int) -> int:
    from connex_tui.data.access import NotFound
    from connex_tui.engine import present

    db, svc = await _open(cfg, True)
    try:
        try:
            out = await svc.test(alert_id)
        except NotFound:
            return _err(f"test: no alert {alert_id}")
    finally:
        await db.dispose()
    from connex_tui.engine.alerts import report_lines

    for line in report_lines(out):
        print(present.text(line) if line else "")
    return 0


async def _run(cfg: Config, once: bool) -> int:
    from connex_tui.engine import present
    from connex_tui.feeds.alert_job import run_forever, run_once
    from connex_tui.feeds.mail import SmtpSettings

    settings = SmtpSettings.from_config(cfg)

    def report(outcomes: list) -> None:
        for out in outcomes:
            print(present.text(out.line()), flush=True)

    db, svc = await _open(cfg, False)
    try:
        if once:
            report(await run_once(svc, settings))
            return 0
        stop = asyncio.Event()
        with stop_on_signals(stop):
            await run_forever(svc, settings, stop, report=report,
                              failed=lambda exc: print(
                                  f"connex-tui alerts: {present.text(exc)} (retrying)",
                                  flush=True))
        print("alerts: stopped")
        return 0
    finally:
        await db.dispose()
