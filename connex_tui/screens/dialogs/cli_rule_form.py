"""The CLI rule add/edit form (DOMAIN.md §5)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.widgets.form import FieldSpec, FormScreen, reusable

CLI_RULE_FIELDS = [
    FieldSpec("cli", "CLI pattern",
              help="regex, e.g. ^44(\\d+)$; plain digits: anywhere\n"
                   "a CLI matching no rule is rejected (403)"),
    FieldSpec("rewrite_cli", "Rewrite CLI",
              help="may use \\1 or $1; empty = keep; forced: new CLI"),
    FieldSpec("p_asserted_id", "P-Asserted-ID", help="PAID set when the rule applies; may use \\1"),
    FieldSpec("forced", "Forced", kind="switch",
              help="used for a CLI matching no other rule (no 403)"),
    FieldSpec("position", "Order", help="the # in the table: 1 is tried first; empty = last"),
]

NEW_CLI_RULE = {"cli": "", "rewrite_cli": "", "p_asserted_id": "", "forced": False,
                "position": ""}


def cli_rule_label(cli: str, forced: bool = False) -> str:
    return "Forced CLI rule" if forced and not cli else f"CLI rule {cli}"


def cli_rule_form(app: App, values: dict[str, Any] | None,
                  save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    title = ("Add CLI rule" if values is None
             else "Edit " + escape(cli_rule_label(values.get("cli", ""),
                                                  values.get("forced", False))))
    return reusable(app, "cli-rule", title, CLI_RULE_FIELDS, dict(values or NEW_CLI_RULE), save)
