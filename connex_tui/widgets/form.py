"""A generic modal form: fields from specs, errors shown next to each field, input kept.

The form knows nothing of validation rules: `save(values)` calls the data layer, which runs
the shared validator and raises ValidationError / StaleError; the form shows what it says.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, Switch, TextArea

from connex_tui.data.access import NotFound, PermissionDenied, StaleError, StorageError
from connex_tui.engine.validation import ValidationError


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str = "text"  # text | select | switch | textarea
    options: tuple[tuple[str, str], ...] = ()  # (label, value) for select
    placeholder: str = ""
    read_only: bool = False
    help: str = ""
    section: str = ""
    extra: dict = field(default_factory=dict)


class FormField(Vertical):
    """Label, input and an error line that stays empty until the data layer objects."""

    DEFAULT_CSS = """
    FormField { height: auto; }
    FormField > .row { height: auto; }
    FormField .label { color: $text-muted; width: 22; height: 1; }
    FormField > .help { color: $text-muted; height: auto; padding-left: 22; }
    FormField > .error { color: $error; height: auto; padding-left: 22; }
    FormField > .-blank { display: none; }
    FormField TextArea { height: auto; min-height: 4; max-height: 8; width: 1fr; }
    FormField Switch { height: 1; border: none; padding: 0; width: auto; }
    FormField Input, FormField Select { width: 1fr; }
    FormField.-invalid .label { color: $error; text-style: bold; }
    """

    def __init__(self, spec: FieldSpec, value: Any):
        super().__init__(id=f"field-{spec.name}")
        self.spec = spec
        self.value = value

    def compose(self) -> ComposeResult:
        s = self.spec
        with Horizontal(classes="row"):
            yield Label(s.label, classes="label")
            yield self._make_input()
            if s.kind == "switch":
                yield Label(self._yes_no(bool(self.value)), classes="switch-state")
        help_text = s.help + ("  (read-only)" if s.read_only else "")
        yield Static(help_text.strip(), classes="help" + ("" if help_text.strip() else " -blank"))
        yield Static("", classes="error -blank", id=f"error-{s.name}")

    def _make_input(self) -> Widget:
        s = self.spec
        widget_id = f"input-{s.name}"
        if s.kind == "select":
            return Select(s.options, value=self.value, allow_blank=False, id=widget_id,
                          disabled=s.read_only, compact=True)
        if s.kind == "switch":
            return Switch(value=bool(self.value), id=widget_id, disabled=s.read_only)
        if s.kind == "textarea":
            area = TextArea(str(self.value or ""), id=widget_id, read_only=s.read_only,
                            soft_wrap=True, tab_behavior="focus", compact=True)
            area.show_line_numbers = False
            area.cursor_blink = False  # a blinking cursor repaints twice a second over SSH
            return area
        field = Input(str(self.value or ""), placeholder=s.placeholder, id=widget_id,
                      disabled=s.read_only, select_on_focus=False, compact=True,
                      password=bool(s.extra.get("password")))  # masked as typed
        field.cursor_blink = False
        return field

    @staticmethod
    def _yes_no(value: bool) -> str:
        return " yes" if value else " no"

    @on(Switch.Changed)
    def _switch_changed(self, event: Switch.Changed) -> None:
        self.query_one(".switch-state", Label).update(self._yes_no(event.value))

    @property
    def input(self) -> Widget:
        return self.query_one(f"#input-{self.spec.name}")

    def read(self) -> Any:
        w = self.input
        if isinstance(w, Switch):
            return w.value
        if isinstance(w, TextArea):
            return w.text
        if isinstance(w, Select):
            return w.value
        return w.value

    def show_error(self, message: str) -> None:
        error = self.query_one(".error", Static)
        error.update(f"✗ {message}" if message else "")
        error.set_class(not message, "-blank")
        self.set_class(bool(message), "-invalid")


def after_pending_keys(widgets: list[Widget], callback: Callable[[], None]) -> None:
    """Run `callback` once every widget has handled the messages already queued for it.

    A priority key (ctrl+s) arrives before keys typed just ahead of it have reached their
    fields: reading the fields at once could save a cut-off value."""

    def drained(i: int = 0) -> None:
        if i < len(widgets):
            widgets[i].call_later(drained, i + 1)
        else:
            callback()

    drained()


class FormScreen(ModalScreen[Any]):
    """Modal form. Dismisses with whatever `save` returned, or None on cancel."""

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > #form { width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    FormScreen #form-head { height: 1; }
    FormScreen #form-title { text-style: bold; width: 1fr; height: 1; }
    FormScreen #form-keys { width: auto; height: 1; color: $text-muted; }
    FormScreen #form-message { color: $error; height: auto; }
    FormScreen #form-message.-blank { display: none; }
    FormScreen #fields { height: auto; max-height: 100%; }
    FormScreen Input, FormScreen Select { background: $boost; }
    FormScreen Input:focus, FormScreen Select:focus, FormScreen TextArea:focus,
    FormScreen Switch:focus { background: $primary 30%; text-style: bold; }
    FormScreen .section { text-style: bold; color: $secondary; margin-top: 1; }
    FormScreen #buttons { dock: bottom; height: 1; align-horizontal: right; }
    FormScreen #buttons Button { min-width: 10; height: 1; border: none; margin-left: 1; }
    """

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("down", "app.focus_next", "Next field", show=False, id="form.next"),
        Binding("up", "app.focus_previous", "Previous field", show=False, id="form.previous"),
    ]

    def __init__(self, title: str, specs: list[FieldSpec], values: dict[str, Any],
                 save: Callable[[dict[str, Any]], Awaitable[Any]]):
        super().__init__()
        self.form_title = title
        self.specs = specs
        self.values = values
        self.save = save
        self.saving = False

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            with Horizontal(id="form-head"):
                yield Static(self.form_title, id="form-title")
                yield Static("ctrl+s save · esc cancel", id="form-keys")
            yield Static("", id="form-message", classes="-blank")
            with VerticalScroll(id="fields"):
                section = ""
                for spec in self.specs:
                    if spec.section and spec.section != section:
                        section = spec.section
                        yield Static(section, classes="section")
                    yield FormField(spec, self.values.get(spec.name, ""))
            with Horizontal(id="buttons"):
                yield Button("Save ^s", id="save", variant="primary", compact=True)
                yield Button("Cancel esc", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.initial = self.raw_values()
        for f in self.query(FormField):
            if not f.spec.read_only:
                f.input.focus()
                break

    def raw_values(self) -> dict[str, Any]:
        return {f.spec.name: f.read() for f in self.query(FormField)}

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        """Enter moves on, as operators expect; only ctrl+s (or the Save button) saves."""
        self.focus_next()

    def action_cancel(self) -> None:
        if self.raw_values() == self.initial:
            self.dismiss(None)
            return
        from connex_tui.widgets.confirm import ConfirmScreen

        def answer(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen("Discard your changes?",
                                           "What you typed in this form will be lost.",
                                           yes="Discard", no="Keep editing"), answer)

    def action_save(self) -> None:
        if not self.saving:
            self.saving = True
            fields = list(self.query(FormField))
            after_pending_keys([f.input for f in fields],
                               lambda: self._run_save(self.raw_values()))

    @work(exclusive=True, group="form-save")
    async def _run_save(self, raw: dict[str, Any]) -> None:
        try:
            result = await self.save(raw)
        except ValidationError as exc:
            self.show_errors(exc.errors)
        except StaleError:
            self.show_message("Changed by someone else since you opened it: your input is "
                              "kept. Press escape and reopen to see their version.")
        except (PermissionDenied, NotFound) as exc:
            self.show_message(str(exc))
        except StorageError as exc:  # keep the input: nothing was written
            self.show_message(escape(f"Not saved: {exc}"))
        else:
            self.dismiss(result)
        finally:
            self.saving = False

    def show_message(self, text: str) -> None:
        message = self.query_one("#form-message", Static)
        message.update(text)
        message.set_class(not text, "-blank")

    def show_errors(self, errors: dict[str, str]) -> None:
        first = None
        for f in self.query(FormField):
            msg = errors.get(f.spec.name, "")
            f.show_error(msg)
            if msg and first is None:
                first = f
        unknown = {k: v for k, v in errors.items() if not any(
            s.name == k for s in self.specs)}
        n = len(errors)
        self.show_message(f"{n} field{'s' if n != 1 else ''} to fix" +
                          "".join(f"; {k}: {v}" for k, v in unknown.items()))
        if first is not None:
            first.input.focus()
            first.scroll_visible()
