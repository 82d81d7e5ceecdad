"""Recalc of CDRs from the CDR tab (docs/domain.md §7): the form (the generic FormScreen),
the preview in a confirm, and a progress screen whose esc cancels between batches."""

from __future__ import annotations

from datetime import date
from typing import Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from connex_tui.data.access import StorageError
from connex_tui.data.recalc import RecalcSummary, check_range
from connex_tui.engine.days import parse_day
from connex_tui.engine.recalc import RecalcSpec, parse_seconds
from connex_tui.engine.textsafe import safe_text
from connex_tui.engine.validation import ValidationError
from connex_tui.widgets.form import FieldSpec

RECALC_FIELDS = [
    FieldSpec("first", "From (UTC day)", placeholder="YYYY-MM-DD"),
    FieldSpec("last", "To (UTC day)", placeholder="YYYY-MM-DD"),
    FieldSpec("release_reason", "Release reason", placeholder="any",
              help="only calls that ended so (empty: any)"),
    FieldSpec("min_duration", "Min duration (s)", placeholder="empty: rerate only",
              help="calls this long or longer get the new duration"),
    FieldSpec("new_duration", "New duration (s)", placeholder="empty: rerate only",
              help="empty both to rate again at the rates in force, no duration change"),
]


def parse_request(raw: dict[str, Any]) -> tuple[date, date, RecalcSpec]:
    """The form's values, checked: ValidationError names each bad field."""
    errors: dict[str, str] = {}
    days: dict[str, date] = {}
    for name in ("first", "last"):
        try:
            days[name] = parse_day(str(raw.get(name, "")))
        except ValueError as exc:
            errors[name] = str(exc)
    seconds: dict[str, int | None] = {}
    for name in ("min_duration", "new_duration"):
        text = str(raw.get(name, "")).strip()
        if not text:
            seconds[name] = None
            continue
        try:
            seconds[name] = parse_seconds(text)
        except ValueError as exc:
            errors[name] = str(exc)
    reason = str(raw.get("release_reason", "")).strip()
    if len(reason) > 32 or not reason.isprintable():
        errors["release_reason"] = "at most 32 printable characters"
    if not errors:
        try:
            check_range(days["first"], days["last"])
        except ValueError as exc:
            errors["last"] = str(exc)
        try:
            spec = RecalcSpec(seconds["min_duration"], seconds["new_duration"], reason)
        except ValueError as exc:
            missing = "new_duration" if seconds["new_duration"] is None else "min_duration"
            errors[missing if "together" in str(exc) else "new_duration"] = str(exc)
    if errors:
        raise ValidationError(errors)
    return days["first"], days["last"], spec


class RecalcProgressScreen(ModalScreen[RecalcSummary | None]):
    """Runs the recalc; esc asks it to stop after the batch under way (a batch is one
    transaction: never half of one)."""

    DEFAULT_CSS = """
    RecalcProgressScreen { align: center middle; }
    RecalcProgressScreen > Vertical { width: 60; max-width: 100%; height: auto;
        border: round $primary; background: $surface; padding: 0 1; }
    RecalcProgressScreen #recalc-title { text-style: bold; }
    RecalcProgressScreen ProgressBar { margin: 1 0 0 0; }
    RecalcProgressScreen #recalc-status { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="recalc.cancel")]

    def __init__(self, title: str, run):
        super().__init__()
        self.title_text = title
        self.run_recalc = run  # async (progress, cancelled) -> RecalcSummary
        self.cancel_asked = False
        self.batches = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(safe_text(self.title_text), id="recalc-title", markup=False)
            yield ProgressBar(id="recalc-bar", show_eta=False)
            yield Static("esc cancels after the batch under way", id="recalc-status",
                         markup=False)

    def on_mount(self) -> None:
        self._run()

    def _progress(self, done: int, total: int) -> None:
        self.batches += 1
        self.query_one(ProgressBar).update(total=total, progress=done)

    def action_cancel(self) -> None:
        self.cancel_asked = True
        self.query_one("#recalc-status", Static).update(
            "Cancelling after the batch under way…")

    @work(group="recalc-run", exclusive=True)
    async def _run(self) -> None:
        try:
            summary = await self.run_recalc(self._progress, lambda: self.cancel_asked)
        except StorageError as exc:
            self.app.flash(escape(f"Recalc stopped: {exc}. The batches done stay; run it "
                                  "again to go on."), error=True)
            self.dismiss(None)
            return
        self.dismiss(summary)
