"""The alert add/edit form (docs/domain.md §10): the condition first, then who is told and
what follows a firing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.engine.alerts import AREA_LABELS, AREAS, OPERATORS, REPEATS
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable

ALERT_FIELDS = [
    FieldSpec("title", "Title", section="Condition", help="unique per customer"),
    FieldSpec("area", "Area", kind="select",
              options=tuple((AREA_LABELS[a], a) for a in AREAS), section="Condition"),
    FieldSpec("operator", "Operator", kind="select", options=tuple((o, o) for o in OPERATORS),
              section="Condition", help="always: fires at every evaluation (see repeat)"),
    FieldSpec("threshold", "Threshold", section="Condition",
              help="ASR %, ACD s, PDD ms; balance and profit in the currency"),
    FieldSpec("reset_threshold", "Reset threshold", section="Condition",
              help="re-arms when the value crosses back over it; empty: when the "
                   "condition stops holding"),
    FieldSpec("sample_minutes", "Sample (minutes)", section="Condition",
              help="the period the value is measured over"),
    FieldSpec("min_attempts", "Minimum attempts", section="Condition",
              help="ASR, ACD and PDD need this many attempts in the sample"),
    FieldSpec("recipients", "Recipients", section="Action",
              help="emails (mailed) and E.164 numbers (no SMS gateway yet)"),
    FieldSpec("penalty_minutes", "Penalty (minutes)", section="Action",
              help="customer in penalty status this long; empty: none"),
    FieldSpec("repeat", "Repeat", kind="select", options=tuple((r, r) for r in REPEATS),
              section="Action", help="fire again while the condition holds"),
    FieldSpec("enabled", "Enabled", kind="switch", section="Action"),
]

NEW_ALERT = {"title": "", "area": "balance", "operator": "<", "threshold": "0",
             "reset_threshold": "", "sample_minutes": "60", "min_attempts": "0",
             "recipients": "", "penalty_minutes": "", "repeat": "none", "enabled": True}


def alert_label(title: str) -> str:
    return f"Alert {title}" if title else "Alert"


def alert_form(app: App, values: dict[str, Any] | None,
               save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    title = ("Add alert" if values is None
             else "Edit " + escape(alert_label(str(values.get("title", "")))))
    return reusable(app, "alert", title, ALERT_FIELDS, dict(values or NEW_ALERT), save)
