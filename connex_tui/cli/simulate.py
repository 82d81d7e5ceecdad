"""`connex-tui simulate`: what the switch would do with a call, from the command line.

One call: the result block of the Simulate dialog, or with --json one stable object (the
keys of engine/report.result_to_json plus "call_id"). It is stored as a SIM-… entry in the
customer's Latest Calls, like a simulation in the console, unless --no-store (or a viewer
runs it: a viewer may simulate but writes nothing).

--batch FILE.csv: one JSON object per line on standard output, every call judged against one
configuration loaded once; nothing is stored unless --store.

Exit codes: 0 for a decision of either kind (allow or reject) and for a batch that ran (bad
lines are reported in its output), 2 for bad arguments or an unreadable batch file.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from functools import partial

from connex_tui.cli.errors import refuse
from connex_tui.config import Config
from connex_tui.engine.textsafe import safe_text

COMMAND = "simulate"

HELP = """\
Run a call through the routing and rating pipeline (docs/domain.md §4.1) and print the
decision: customer, route, rewritten numbers, rate row, providers with cost and
margin, max duration and the trace. Exit code 0 for allow or reject, 2 for bad
arguments.

Batch: --batch FILE.csv with a header of any of number,cli,ip,user,password,at
(number required; empty fields allowed) prints one JSON object per data line, with
"line" (its line in the file) and either the result keys or "error"."""


def add_parser(sub) -> None:
    p = sub.add_parser(COMMAND, help="simulate a call (or a CSV list of calls)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--number", help="dialled number as the switch receives it")
    p.add_argument("--cli", default="", help="CLI/ANI")
    p.add_argument("--ip", default="", help="source (customer) IP address")
    p.add_argument("--user", default="", help="SIP user (authenticates instead of the IP)")
    p.add_argument("--password", default="",
                   help="SIP user's password; '-' reads it from the first line of stdin "
                        "(keeps it out of the process list and shell history)")
    p.add_argument("--switch-ip", default="", help="switch IP the call arrived on")
    p.add_argument("--at", default="",
                   help="ISO time of the call, UTC unless a zone is given (default: now)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p.add_argument("--no-store", action="store_true",
                   help="do not store the simulation in Latest Calls")
    p.add_argument("--batch", metavar="FILE.csv",
                   help="simulate every line of a CSV file, JSON lines out ('-' = stdin)")
    p.add_argument("--store", action="store_true",
                   help="with --batch: store every simulation in Latest Calls")
    p.add_argument("--database-url", default=argparse.SUPPRESS)


_err = partial(refuse, "simulate")


def run(cfg: Config, args) -> int:
    if args.batch is not None:
        given = [f"--{n.replace('_', '-')}" for n in ("number", "cli", "ip", "user",
                                                       "password", "json", "no_store")
                 if getattr(args, n)]
        if given:
            return _err(f"{given[0]} does not go with --batch (the file gives the calls)")
        return asyncio.run(_batch(cfg, args))
    if args.store:
        return _err("--store is for --batch (a single simulation is stored by default)")
    if not args.number:
        return _err("--number is required (or --batch FILE.csv)")
    if args.password and not args.user:
        return _err("--password goes with --user")
    if not args.ip and not args.user:
        return _err("give --ip or --user (the switch finds the customer by one of them)")
    if args.password == "-":
        try:
            args.password = sys.stdin.readline(1024).rstrip("\r\n")
        except UnicodeDecodeError:
            return _err("--password: not valid UTF-8 text")
    from connex_tui.engine.call_validation import validate_call
    from connex_tui.engine.validation import ValidationError

    options = {"number": "--number", "cli": "--cli", "ip": "--ip", "sip_user": "--user",
               "sip_password": "--password", "switch_ip": "--switch-ip", "at": "--at"}
    try:
        call = validate_call({"number": args.number, "cli": args.cli, "ip": args.ip,
                              "sip_user": args.user, "sip_password": args.password,
                              "switch_ip": args.switch_ip, "at": args.at})
    except ValidationError as exc:
        field, message = next(iter(exc.errors.items()))
        return _err(f"{options.get(field, field)}: {message}")
    return asyncio.run(_single(cfg, args, call))


async def _open(cfg: Config):
    from connex_tui.data.access import Actor
    from connex_tui.data.calls import CallsService
    from connex_tui.data.db import Database, upgrade

    db = Database.for_config(cfg)
    await upgrade(db)
    return db, CallsService(db, Actor(cfg.operator, cfg.role))


async def _single(cfg: Config, args, call) -> int:
    from connex_tui.engine.present import json_line, text
    from connex_tui.engine.report import result_lines, result_to_json

    db, calls = await _open(cfg)
    try:
        sim = await calls.simulate(call, store=not args.no_store)
    finally:
        await db.dispose()
    if args.json:
        print(json_line({**result_to_json(sim.result), "call_id": sim.call_id}))
        return 0
    for line in result_lines(sim.result):  # escaped by the view
        print(line)
    if sim.call_id:
        print(f"\nStored as {text(sim.call_id)}")
    elif not args.no_store:
        print("\nNot stored (read-only: viewer role)")
    return 0


async def _batch(cfg: Config, args) -> int:
    from connex_tui.engine.call_validation import ip_address, moment
    from connex_tui.engine.clock import utcnow
    from connex_tui.feeds.simulate_batch import BatchFileError, run_batch

    try:
        at = moment(args.at) or utcnow()
    except ValueError as exc:
        return _err(f"--at: {exc}")
    try:
        switch_ip = ip_address(args.switch_ip)
    except ValueError as exc:
        return _err(f"--switch-ip: {exc}")
    name = safe_text(args.batch)
    try:  # bytes: each line is decoded on its own, so one bad line is one error object
        fh = (sys.stdin.buffer if args.batch == "-" else open(args.batch, "rb"))  # noqa: SIM115
    except OSError as exc:
        return _err(f"cannot read {name}: {exc.strerror}")
    db, calls = await _open(cfg)
    write = sys.stdout.write
    try:
        async for block in run_batch(calls, fh, at=at, switch_ip=switch_ip, store=args.store):
            write("\n".join(block))
            write("\n")
    except BatchFileError as exc:
        return _err(f"{name}: {safe_text(exc)}")
    except OSError as exc:
        return _err(f"cannot read {name}: {exc.strerror or exc}")
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()
        await db.dispose()
    sys.stdout.flush()
    return 0
