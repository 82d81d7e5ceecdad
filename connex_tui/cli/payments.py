"""`connex-tui payments add|list|cancel` and `connex-tui balance` (docs/domain.md §8).

Money is printed exactly: decimal strings in JSON, the currency beside it in text.
Exit code 0, or 2 with one line for bad arguments, a bad amount (nothing is written), an
unknown customer or payment, a refused status change or a read-only role.
"""

from __future__ import annotations

import argparse
import asyncio
from functools import partial

from connex_tui.cli.errors import refuse
from connex_tui.config import Config

COMMANDS = ("payments", "balance")
MAX_NAME = 100  # a customer name is at most 100 characters (docs/domain.md §1)
OPTION = {"amount": "--amount", "fee": "--fee", "status": "--status",
          "description": "--description"}

PAYMENTS_HELP = """\
A customer's payments. `add` saves one: completed (the default) credits the amount
net of the customer's tax at once; pending credits nothing until completed. Text after
`#` in the description is a private note, never shown to the customer. `list` prints
them newest first (--json: a JSON array). `cancel ID` cancels one: a completed payment
is reversed by a cancelling ledger entry, never deleted."""

BALANCE_HELP = """\
A customer's balance, debit limit and available credit, and the balance recomputed
from the ledger (which must equal it). --json: one object, money as decimal strings."""


def add_parsers(sub) -> None:
    p = sub.add_parser("payments", help="a customer's payments: add, list, cancel",
                       description=PAYMENTS_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=argparse.SUPPRESS)
    psub = p.add_subparsers(dest="payments_command", required=True)
    add = psub.add_parser("add", help="add a payment")
    add.add_argument("--customer", metavar="NAME", help="the customer's name (any case)")
    add.add_argument("--amount", metavar="A", help="gross amount above 0, like 120.50")
    add.add_argument("--fee", metavar="F", default="0", help="fee, for reference only")
    add.add_argument("--status", metavar="S", default="completed",
                     help="completed (default) or pending")
    add.add_argument("--description", metavar="D", default="",
                     help="text; after # a private note")
    add.add_argument("--database-url", default=argparse.SUPPRESS)
    lst = psub.add_parser("list", help="list a customer's payments, newest first")
    lst.add_argument("--customer", metavar="NAME", help="the customer's name (any case)")
    lst.add_argument("--json", action="store_true", help="a JSON array of payments")
    lst.add_argument("--database-url", default=argparse.SUPPRESS)
    cancel = psub.add_parser("cancel", help="cancel a payment")
    cancel.add_argument("payment_id", metavar="ID")
    cancel.add_argument("--database-url", default=argparse.SUPPRESS)
    b = sub.add_parser("balance", help="a customer's balance", description=BALANCE_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--customer", metavar="NAME", help="the customer's name (any case)")
    b.add_argument("--json", action="store_true", help="one JSON object")
    b.add_argument("--database-url", default=argparse.SUPPRESS)


def _customer_problem(name: str | None) -> str | None:
    if not name or not name.strip():
        return "--customer NAME is required"
    if len(name) > MAX_NAME or not name.isprintable():
        return "--customer: not a customer name"
    return None


def run(cfg: Config, args) -> int:
    command = "balance" if args.command == "balance" else f"payments {args.payments_command}"
    err = partial(refuse, command)
    if args.command == "payments" and args.payments_command == "cancel":
        raw_id = args.payment_id.strip()
        if not (raw_id.isascii() and raw_id.isdigit()) or not 0 < int(raw_id) < 2**31:
            return err(f"{args.payment_id!r} is not a payment id")
        return asyncio.run(_main(cfg, args, err, int(raw_id)))
    problem = _customer_problem(args.customer)
    if problem:
        return err(problem)
    return asyncio.run(_main(cfg, args, err, None))


async def _main(cfg: Config, args, err, payment_id: int | None) -> int:
    from connex_tui.data.access import Actor, NotFound, PermissionDenied
    from connex_tui.data.db import Database, upgrade
    from connex_tui.data.payments import PaymentsService
    from connex_tui.engine.validation import ValidationError

    writes = args.command == "payments" and args.payments_command in ("add", "cancel")
    if writes and cfg.role == "viewer":
        return err("read-only (viewer role): this command writes to the database")
    db = Database.for_config(cfg, readonly=not writes)
    try:
        await upgrade(db)
        svc = PaymentsService(db, Actor(cfg.operator, cfg.role))
        try:
            if payment_id is not None:
                return await _cancel(svc, payment_id)
            cid, _name, currency = await svc.find_customer(args.customer.strip())
            if args.command == "balance":
                return await _balance(svc, cid, args.json)
            if args.payments_command == "list":
                return await _list(svc, cid, args.json)
            return await _add(svc, cid, currency, args)
        except ValidationError as exc:
            field, message = next(iter(exc.errors.items()))
            if payment_id is not None:  # cancel has no options: the status says why
                return err(f"payment {payment_id}: {message}")
            return err(f"{OPTION.get(field, field)}: {message}")
        except (NotFound, PermissionDenied) as exc:
            return err(str(exc))
    finally:
        await db.dispose()


async def _add(svc, cid: int, currency: str, args) -> int:
    from connex_tui.engine import present

    pid = await svc.add(cid, {"amount": args.amount or "", "fee": args.fee,
                              "status": args.status, "description": args.description})
    row = await svc.get(pid)
    bal = await svc.balance(cid)
    done = (f"net {present.money(row.net, currency)} credited" if row.status == "completed"
            else "nothing credited until completed")
    print(f"payment {pid} added: {present.money(row.amount, currency)} {row.status}, {done}; "
          f"balance {present.money(bal.balance, currency)}")
    return 0


async def _cancel(svc, payment_id: int) -> int:
    from connex_tui.engine import present

    before = await svc.get(payment_id)
    row = await svc.cancel(payment_id)
    bal = await svc.balance(row.customer_id)
    done = (f"net {present.money(row.net, bal.currency)} debited back"
            if before.status == "completed" else "no money moved")
    print(f"payment {payment_id} cancelled: {done}; balance "
          f"{present.money(bal.balance, bal.currency)}")
    return 0


async def _list(svc, cid: int, as_json: bool) -> int:
    from connex_tui.engine import present

    rows, offset = [], 0
    while True:
        page = await svc.page(cid, offset=offset, limit=1000)
        rows += page.rows
        offset += len(page.rows)
        if not page.rows or offset >= page.total:
            break
    if as_json:
        print(present.json_safe(present.json_text([r.as_json() for r in rows])))
        return 0
    currency = present.text(page.currency)
    head = ("ID", "Date (UTC)", "Description", "Amount", "Tax", "Net", "Fee", "Status")
    body = [(str(r.id), r.paid_at.strftime("%Y-%m-%d %H:%M"), present.clip(r.public, 30),
             present.money(r.amount), present.money(r.tax), present.money(r.net),
             present.money(r.fee), r.status) for r in rows]
    t = page.totals
    body.append(("", "", f"completed ({t.completed_count})", present.money(t.amount),
                 present.money(t.tax), present.money(t.net), present.money(t.fee), ""))
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(head)]
    right = (True, False, False, True, True, True, True, False)

    def line(cols) -> str:
        return "  ".join(c.rjust(w) if r else c.ljust(w)
                         for c, w, r in zip(cols, widths, right, strict=True)).rstrip()

    print(f"Payments in {currency}, newest first")
    print(line(head))
    for r in body:
        print(line(r))
    return 0


async def _balance(svc, cid: int, as_json: bool) -> int:
    from connex_tui.engine import present

    b = await svc.balance(cid)
    if as_json:
        print(present.json_line(b.as_json()))
        return 0
    for label, value in (("Balance", b.balance), ("Debit limit", b.debit_limit),
                         ("Available", b.available), ("Ledger sum", b.ledger_sum)):
        print(f"{label:<12} {present.money(value, b.currency)}")
    return 0
