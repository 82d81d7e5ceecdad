"""The package catalogue form and the assignment form (docs/domain.md §12)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.engine.packages import FREQUENCIES, KINDS
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable


def _choices(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


PACKAGE_FIELDS = [
    FieldSpec("name", "Name"),
    FieldSpec("kind", "Kind", kind="select", options=_choices(KINDS),
              help="free_minutes: minutes rating takes first"),
    FieldSpec("currency", "Currency", help="ISO code; customers in it only"),
    FieldSpec("retail", "Retail / interval", help="charged each interval x quantity"),
    FieldSpec("cost", "Cost / interval"),
    FieldSpec("setup_retail", "Setup retail", help="charged once, with the first interval"),
    FieldSpec("setup_cost", "Setup cost"),
    FieldSpec("frequency", "Frequency", kind="select", options=_choices(FREQUENCIES)),
    FieldSpec("match_days", "Match days",
              help="weekly: mon,thu · monthly: 1,15 · empty: start's"),
    FieldSpec("minimum_spend", "Minimum spend",
              help="= retail: charges max(0, retail - spend) at end"),
    FieldSpec("free_minutes", "Free minutes", help="free_minutes packages"),
    FieldSpec("destination_regex", "Destination regex", help="numbers the minutes cover"),
]

NEW_PACKAGE = {"name": "", "kind": "recurring", "currency": "USD", "retail": "0",
               "cost": "0", "setup_retail": "0", "setup_cost": "0", "frequency": "monthly",
               "match_days": "1", "minimum_spend": "0", "free_minutes": "0",
               "destination_regex": ""}


def package_label(name: str) -> str:
    return f"Package {name}" if name else "Package"


def package_form(app: App, values: dict[str, Any] | None,
                 save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    title = ("Add package" if values is None
             else "Edit " + escape(package_label(values.get("name", ""))))
    return reusable(app, "package", title, PACKAGE_FIELDS, dict(values or NEW_PACKAGE), save)


def assignment_fields(choices: list[tuple[int, str]], *, locked: bool) -> list[FieldSpec]:
    return [
        FieldSpec("package_id", "Package", kind="select",
                  options=tuple((name, str(pid)) for pid, name in choices), read_only=locked,
                  help="in the customer's currency"),
        FieldSpec("quantity", "Quantity", help="multiplies every charge"),
        FieldSpec("start", "Start", read_only=locked,
                  help="UTC date or time: the first interval (and setup)"),
        FieldSpec("end", "End", help="empty: open-ended"),
        FieldSpec("auto_decrement", "Auto decrement", kind="switch",
                  help="take charges from credit; off: recorded only"),
    ]


def assignment_form(app: App, choices: list[tuple[int, str]], values: dict[str, Any],
                    save: Callable[[dict[str, Any]], Awaitable[Any]], *,
                    editing: bool, locked: bool) -> FormScreen:
    title = "Edit package assignment" if editing else "Assign a package"
    return reusable(app, "package-assignment", title,
                    assignment_fields(choices, locked=locked), values, save)
