"""The `cdr` command group: each of its commands (export, recalc, import) lives in a module
of its own and registers on the group's subparsers, with set_defaults(cdr_run=...) naming
the function that runs it: `cdr_run(cfg, args) -> exit code`."""

from __future__ import annotations

COMMAND = "cdr"


def cdr_subparsers(sub):
    """The group's subparsers on the main parser's `sub`, made on the first call."""
    group = getattr(sub, "_connex_cdr_group", None)
    if group is None:
        parser = sub.add_parser(COMMAND, help="CDRs: export, recalc, import")
        group = parser.add_subparsers(dest="cdr_command", required=True)
        sub._connex_cdr_group = group
    return group


def run(cfg, args) -> int:
    return args.cdr_run(cfg, args)
