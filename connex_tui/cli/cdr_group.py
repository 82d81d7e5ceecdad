"""The `cdr` command group: each `cdr` command (import, export, recalc) lives in a module of
its own and joins the group here, so no module owns the group's creation."""

from __future__ import annotations

from collections.abc import Callable

COMMAND = "cdr"
_RUNNERS: dict[str, Callable] = {}


def add_command(sub, name: str, run: Callable, **kw):
    """The parser of `cdr NAME` (the group made on first use); `run(cfg, args) -> exit
    code` is what `connex-tui cdr NAME` runs."""
    group = getattr(sub, "_cdr_commands", None)
    if group is None:
        parser = sub.add_parser(COMMAND, help="call detail records: import, export, recalc")
        group = parser.add_subparsers(dest="cdr_command", required=True)
        sub._cdr_commands = group
    _RUNNERS[name] = run
    return group.add_parser(name, **kw)


def run(cfg, args) -> int:
    return _RUNNERS[args.cdr_command](cfg, args)
