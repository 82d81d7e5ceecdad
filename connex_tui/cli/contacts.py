"""`connex-tui contacts`: a customer's contacts and their portal passwords (docs/domain.md §2).

`contacts list --customer NAME [--json]`, `contacts add --customer NAME --name N --email E
[--phone P]`, `contacts password EMAIL [--generate | --stdin]`. A typed password is read
from stdin only (never argv: it would sit in the shell history and the process list); a
generated one is mailed to the contact over the configured SMTP, or printed once when no
SMTP is configured or the mail failed. Exit 0 done, 2 with one line for bad input, an
unknown customer or contact, or a role that may not write.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from connex_tui.cli.errors import refuse
from connex_tui.config import Config

COMMAND = "contacts"
MAX_ARG = 254

HELP = """\
A customer's contacts: name, email (the portal login, unique across all contacts),
phone (E.164, like +44 20 7946 0958), and their portal passwords.
`password EMAIL --generate` (the default) sets a random password and mails it to the
contact over the SMTP of the config file; without SMTP (or when the mail fails) it is
printed once. `password EMAIL --stdin` reads a typed password (at least 12 characters)
from the first line of standard input; it is neither mailed nor printed."""


def add_parser(sub) -> None:
    p = sub.add_parser(COMMAND, help="a customer's contacts and portal passwords",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database-url", default=argparse.SUPPRESS)
    csub = p.add_subparsers(dest="contacts_command", required=True)
    ls = csub.add_parser("list", help="a customer's contacts")
    ls.add_argument("--customer", metavar="NAME", required=True)
    ls.add_argument("--json", action="store_true", help="one JSON array of objects")
    ls.add_argument("--database-url", default=argparse.SUPPRESS)
    add = csub.add_parser("add", help="add a contact to a customer")
    add.add_argument("--customer", metavar="NAME", required=True)
    add.add_argument("--name", metavar="N", required=True)
    add.add_argument("--email", metavar="E", required=True)
    add.add_argument("--phone", metavar="P", default="")
    add.add_argument("--database-url", default=argparse.SUPPRESS)
    pw = csub.add_parser("password", help="set a contact's portal password")
    pw.add_argument("email", metavar="EMAIL")
    how = pw.add_mutually_exclusive_group()
    how.add_argument("--generate", action="store_true",
                     help="a random password, mailed (or printed once); the default")
    how.add_argument("--stdin", action="store_true",
                     help="read the password from the first line of stdin")
    pw.add_argument("--database-url", default=argparse.SUPPRESS)


def _err(message: str, sub: str = "") -> int:
    return refuse(f"{COMMAND} {sub}".strip(), message)


def _arg_problem(name: str, value: str) -> str | None:
    if len(value) > MAX_ARG:
        return f"{name}: longer than {MAX_ARG} characters"
    if not value.isprintable():
        return f"{name}: control characters are not allowed"
    return None


def run(cfg: Config, args) -> int:
    sub = args.contacts_command
    for name in ("customer", "email"):
        value = getattr(args, name, None)
        if value is not None and (problem := _arg_problem(f"--{name}" if name == "customer"
                                                          else name.upper(), value)):
            return _err(problem, sub)
    typed = None
    if sub == "password" and args.stdin:
        line = sys.stdin.readline(4096)
        typed = line[:-1] if line.endswith("\n") else line
        if typed.endswith("\r"):
            typed = typed[:-1]
    return asyncio.run(_run(cfg, args, sub, typed))


async def _run(cfg: Config, args, sub: str, typed: str | None) -> int:
    from connex_tui.data.access import Actor, NotFound, PermissionDenied, StaleError
    from connex_tui.data.contacts import ContactsService
    from connex_tui.data.db import Database, upgrade
    from connex_tui.engine.validation import ValidationError

    db = Database.for_config(cfg, readonly=sub == "list")
    try:
        await upgrade(db)
        svc = ContactsService(db, Actor(cfg.operator, cfg.role))
        try:
            if sub == "list":
                return await _list(svc, args)
            if sub == "add":
                return await _add(svc, args)
            return await _password(cfg, svc, args, typed)
        except ValidationError as exc:
            return _err("; ".join(f"{_FLAGS.get(k, k)}: {v}" for k, v in exc.errors.items()),
                        sub)
        except (NotFound, PermissionDenied, StaleError) as exc:
            return _err(str(exc), sub)
    finally:
        await db.dispose()


_FLAGS = {"name": "--name", "email": "--email", "phone": "--phone", "password": "password"}


async def _list(svc, args) -> int:
    from connex_tui.engine import present

    cid, customer = await svc.customer_named(args.customer.strip())
    rows = await svc.contacts(cid)
    if args.json:
        print(present.json_line([
            {"id": r.id, "customer": customer, "name": r.name, "email": r.email,
             "phone": r.phone, "notes_public": r.notes_public,
             "notes_private": r.notes_private, "has_password": r.has_password}
            for r in rows]))
        return 0
    cols = (("Name", 24), ("Email", 32), ("Phone", 16), ("Pw", 3))
    print(" ".join(f"{n:<{w}}" for n, w in cols).rstrip())
    for r in rows:
        cells = (r.name, r.email, r.phone or "-", "yes" if r.has_password else "-")
        print(" ".join(present.clip(v, w, pad=True) for v, (_, w) in zip(cells, cols,
                                                                          strict=True)).rstrip())
    print(f"{len(rows)} contact{'' if len(rows) == 1 else 's'} of {present.text(customer)}")
    return 0


async def _add(svc, args) -> int:
    from connex_tui.engine import present

    cid, customer = await svc.customer_named(args.customer.strip())
    contact_id = await svc.create(cid, {"name": args.name, "email": args.email,
                                        "phone": args.phone})
    row = await svc.get(contact_id)
    print(f"added contact {contact_id}: {present.text(row.name)} <{present.text(row.email)}> "
          f"to {present.text(customer)}")
    return 0


async def _password(cfg: Config, svc, args, typed: str | None) -> int:
    from connex_tui.engine import present
    from connex_tui.feeds.mail import SmtpSettings
    from connex_tui.feeds.portal_password import set_password

    if args.stdin and not typed:
        return _err("no password on stdin (write it as the first line)", "password")
    row = await svc.by_email(args.email)
    outcome = await set_password(svc, row.id, SmtpSettings.from_config(cfg), typed=typed)
    who = present.text(outcome.saved.email)
    if not outcome.saved.portal_access:
        print(f"note: portal access is off for {present.text(outcome.saved.customer)}: "
              "this login works once it is turned on", file=sys.stderr)
    if outcome.mailed:
        print(f"new password mailed to {who}")
    elif outcome.show_once:
        why = (f"the mail failed ({outcome.mail_error})" if outcome.mail_error
               else "no SMTP is configured")
        print(f"password not mailed: {present.text(why)}", file=sys.stderr)
        print(f"new password for {who} (shown once, not stored in clear): "
              f"{outcome.show_once}")
    else:
        print(f"password set for {who}")
    return 0
