"""The CLI rule add/edit form (docs/domain.md §5)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.engine.regex_guard import CALL_BUDGET, needs_slow_engine
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


def slow_regex(pattern: str) -> str:
    """The warning for a pattern that is saved but runs on the timed regex engine."""
    return (f"/{pattern}/ needs the slow regex engine: each match is timed, and a call "
            f"stops trying slow patterns after {CALL_BUDGET * 1000:.0f} ms")


def cli_rule_warnings(raw: dict[str, Any]) -> dict[str, str]:
    cli = str(raw.get("cli") or "").strip()
    return {"cli": slow_regex(cli)} if needs_slow_engine(cli) else {}


def cli_rule_label(cli: str, forced: bool = False) -> str:
    return "Forced CLI rule" if forced and not cli else f"CLI rule {cli}"


def cli_rule_form(app: App, values: dict[str, Any] | None,
                  save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    title = ("Add CLI rule" if values is None
             else "Edit " + escape(cli_rule_label(values.get("cli", ""),
                                                  values.get("forced", False))))
    return reusable(app, "cli-rule", title, CLI_RULE_FIELDS, dict(values or NEW_CLI_RULE), save,
                    cli_rule_warnings)
