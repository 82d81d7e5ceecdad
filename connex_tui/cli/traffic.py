"""`connex-tui traffic` (the switch simulator) and `connex-tui dialogs` (live calls, and
ending one). Exit codes: 0 done, 2 bad arguments, an unknown customer or call id."""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil

from connex_tui.cli.errors import refuse
from connex_tui.cli.signals import stop_on_signals
from connex_tui.config import Config
from connex_tui.engine.textsafe import safe_text

COMMANDS = ("traffic", "dialogs")
MAX_CPS = 5000.0
MAX_DURATION = 30 * 86400.0

TRAFFIC_HELP = """\
Simulate the switch: attempts from customers' ingress IPs and SIP users to
destinations on their rate cards, each decided by the routing pipeline with the
live calls of the dialogs table. Admitted calls become live dialogs (trying,
ringing, answered) and, when they end, CDRs charged to the ledger; rejected
attempts are CDRs too. Written in batches of at most one second of traffic.
SIP users answer with --sip-password (the demo's by default).
Runs for --duration seconds, or until ctrl+c; then the calls still up are hung
up and written, and one summary line is printed."""

DIALOGS_HELP = """\
List the live calls (oldest first), of every customer or of one; --json writes
one JSON object per call. `dialogs end CALL_ID` hangs one up: it is written as a
CDR with release reason operator (needs the operator or admin role)."""


def add_parsers(sub) -> None:
    t = sub.add_parser("traffic", help="simulate live switch traffic", description=TRAFFIC_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--cps", type=float, default=20.0,
                   help="attempts a second, all customers together (default 20)")
    t.add_argument("--duration", type=float, default=None,
                   help="seconds to run (default: until ctrl+c)")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    t.add_argument("--customer", action="append", default=[], metavar="NAME",
                   help="only this customer's traffic (repeat for several)")
    t.add_argument("--sip-password", default=None, metavar="PASSWORD",
                   help="the password SIP users answer the digest with")
    t.add_argument("--database-url", default=argparse.SUPPRESS)
    d = sub.add_parser("dialogs", help="live calls; end one", description=DIALOGS_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--customer", metavar="NAME", help="only this customer's calls")
    d.add_argument("--json", action="store_true", help="one JSON object per call")
    d.add_argument("--database-url", default=argparse.SUPPRESS)
    dsub = d.add_subparsers(dest="dialogs_command")
    end = dsub.add_parser("end", help="hang up a live call (written as a CDR, reason operator)")
    end.add_argument("call_id", metavar="CALL_ID")
    end.add_argument("--database-url", default=argparse.SUPPRESS)


_err = refuse


def _bad_text(value: str) -> str | None:
    if len(value) > 200:
        return "longer than 200 characters"
    if safe_text(value) != value:
        return "control characters are not allowed"
    return None


def run(cfg: Config, args) -> int:
    if args.command == "traffic":
        return _traffic(cfg, args)
    return _dialogs(cfg, args)


# -- traffic --------------------------------------------------------------------------
def _traffic(cfg: Config, args) -> int:
    if not (math.isfinite(args.cps) and 0 < args.cps <= MAX_CPS):
        return _err("traffic", f"--cps must be above 0 and at most {MAX_CPS:,.0f}")
    if args.duration is not None and not (math.isfinite(args.duration)
                                          and 0 < args.duration <= MAX_DURATION):
        return _err("traffic", f"--duration must be above 0 and at most {MAX_DURATION:,.0f} s")
    for name in args.customer:
        why = _bad_text(name) or ("empty" if not name.strip() else None)
        if why:
            return _err("traffic", f"--customer {name!r}: {why}")
    if args.sip_password is not None and _bad_text(args.sip_password):
        return _err("traffic", "--sip-password: control characters are not allowed")
    if cfg.role == "viewer":
        return _err("traffic", "read-only (viewer role): traffic writes calls")
    return asyncio.run(_run_traffic(cfg, args))


async def _run_traffic(cfg: Config, args) -> int:
    from connex_tui.data.access import Actor
    from connex_tui.data.calls import CallsService
    from connex_tui.data.db import Database, upgrade
    from connex_tui.data.dialogs import DialogsService
    from connex_tui.feeds.traffic import Switch, TrafficError, TrafficOptions

    extra = {} if args.sip_password is None else {"sip_password": args.sip_password}
    options = TrafficOptions(cps=args.cps, seed=args.seed, customers=tuple(args.customer),
                             **extra)
    db = Database.for_config(cfg)
    stop = asyncio.Event()
    try:
        await upgrade(db)
        actor = Actor(cfg.operator, cfg.role)
        dialogs = DialogsService(db, actor)
        switch = Switch(dialogs, CallsService(db, actor, cache=dialogs.cache), options)
        try:
            with stop_on_signals(stop):
                summary = await switch.run(args.duration, stop)
        except TrafficError as exc:
            return _err("traffic", str(exc))
    finally:
        await db.dispose()
    print(safe_text(summary.line()))
    return 0


# -- dialogs --------------------------------------------------------------------------
def _dialogs(cfg: Config, args) -> int:
    if args.dialogs_command == "end":
        why = _bad_text(args.call_id) or ("empty" if not args.call_id else None)
        if why:
            return _err("dialogs end", f"CALL_ID: {why}")
        if args.customer or args.json:
            return _err("dialogs end", "--customer and --json go with the list, not end")
        if cfg.role == "viewer":
            return _err("dialogs end", "read-only (viewer role): ending a call writes a CDR")
        return asyncio.run(_end(cfg, args.call_id))
    if args.customer is not None:
        why = _bad_text(args.customer)
        if why:
            return _err("dialogs", f"--customer: {why}")
    return asyncio.run(_list(cfg, args))


async def _open(cfg: Config):
    from connex_tui.data.access import Actor
    from connex_tui.data.db import Database, upgrade
    from connex_tui.data.dialogs import DialogsService

    db = Database.for_config(cfg)
    try:
        await upgrade(db)
    except BaseException:
        await db.dispose()
        raise
    return db, DialogsService(db, Actor(cfg.operator, cfg.role))


async def _end(cfg: Config, call_id: str) -> int:
    db, dialogs = await _open(cfg)
    try:
        ended = await dialogs.end(call_id)
    finally:
        await db.dispose()
    if not ended:
        return _err("dialogs end", f"no live call {call_id!r}")
    print(f"ended {safe_text(call_id)}: written as a CDR (release reason operator)")
    return 0


async def _list(cfg: Config, args) -> int:
    from connex_tui.engine import present
    from connex_tui.engine.clock import utcnow

    db, dialogs = await _open(cfg)
    try:
        customer_id = None
        if args.customer is not None:
            found = await dialogs.customer_named(args.customer)
            if found is None:
                return _err("dialogs", f"no customer named {args.customer!r}")
            customer_id = found[0]
        calls = await dialogs.live(customer_id)
    finally:
        await db.dispose()
    now = utcnow()
    if args.json:
        for c in calls:
            print(present.json_line({
                "call_id": c.call_id, "customer_id": c.customer_id, "customer": c.customer,
                "state": c.state, "dialled": c.dialled, "cli": c.cli, "provider": c.provider,
                "source_ip": c.source_ip, "started_at": c.started_at.isoformat(),
                "answered_at": c.answered_at.isoformat() if c.answered_at else None,
                "duration_s": _seconds(now, c)}))
        return 0
    # 80 columns; the source IP joins from 96 (the JSON has every field)
    cols = [("Call id", 10), ("Customer", 12), ("State", 8), ("Number", 14), ("CLI", 12),
            ("Provider", 10)]
    if shutil.get_terminal_size().columns >= 96:
        cols.append(("Source IP", 15))
    print(" ".join(f"{name:<{width}}" for name, width in cols) + f" {'Time':>8}")
    for c in calls:  # the cells past the columns shown are left out
        cells = (c.call_id, c.customer, c.state, c.dialled, c.cli, c.provider, c.source_ip)
        print(" ".join(present.clip(v, w, pad=True)
                       for v, (_, w) in zip(cells, cols, strict=False))
              + f" {present.live_clock(_seconds(now, c)):>8}")
    print(f"{len(calls):,} live call{'' if len(calls) == 1 else 's'}")
    return 0


def _seconds(now, c) -> int:
    """Talk time of an answered call, else time since the INVITE (what is ticking)."""
    return max(0, int((now - (c.answered_at or c.started_at)).total_seconds()))
