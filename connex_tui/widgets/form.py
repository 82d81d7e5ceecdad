"""A generic modal form: fields from specs, errors shown next to each field, input kept.

The form knows nothing of validation rules: `save(values)` calls the data layer, which runs
the shared validator and raises ValidationError / StaleError; the form shows what it says.
A mode (`FormScreen` subclass) may run instead of save: the Simulate dialog is one.

Textual's cost is in mounting widgets (a 13-field form is ~80 of them), so `reusable()`
builds each form once per app and resets it on the next open (see bench/form_paint.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from textual import events, on, work
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, Switch, TextArea

from connex_tui.data.access import NotFound, PermissionDenied, StaleError, StorageError
from connex_tui.engine.validation import ValidationError

# Warnings about values a form may still save (field name -> text), e.g. a slow regex.
Warn = Callable[[dict[str, Any]], dict[str, str]]


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

    @property
    def shape(self) -> tuple:
        """What the widgets of the field are built from: another shape needs a new form."""
        return (self.name, self.kind, self.section, bool(self.extra.get("password")))


class FormSwitch(Switch):
    """A switch that `space` toggles and `enter` leaves, like every other field."""

    BINDINGS = [Binding("space", "toggle_switch", "Toggle", show=False)]
    inherit_bindings = False


class FormField(Vertical):
    """Label, input and an error line that stays empty until the data layer objects."""

    SCOPED_CSS = False  # for the App:nocolor rules; every rule names FormField anyway
    DEFAULT_CSS = """
    FormField { height: auto; }
    FormField > .row { height: auto; }
    FormField .label { color: $text-muted; width: 22; height: 1; }
    FormField > .help { color: $text-muted; height: auto; padding-left: 22; }
    FormField > .error { color: $error; height: auto; padding-left: 22; }
    FormField > .error.-warning { color: $warning; }
    FormField > .-blank { display: none; }
    FormField TextArea { height: auto; min-height: 4; max-height: 8; width: 1fr; }
    FormField Switch { height: 1; border: none; padding: 0; width: auto; }
    FormField Input, FormField Select { width: 1fr; }
    FormField.-invalid .label { color: $error; text-style: bold; }
    App:nocolor FormField.-focused .label { text-style: bold underline; }
    App:nocolor FormField Input:focus > .input--cursor { text-style: underline; }
    """

    class Fixed(Message):
        """A field that showed an error was edited: the error is gone."""

    def __init__(self, spec: FieldSpec, value: Any):
        super().__init__(id=f"field-{spec.name}")
        self.spec = spec
        self.value = value

    def compose(self) -> ComposeResult:
        s = self.spec
        with Horizontal(classes="row"):
            yield Label(s.label, classes="label", markup=False)
            yield self._make_input()
            if s.kind == "switch":
                yield Label(self._yes_no(bool(self.value)), classes="switch-state")
        help_text = self._help_text(s)
        yield Static(help_text, classes="help" + ("" if help_text else " -blank"))
        yield Static("", classes="error -blank", id=f"error-{s.name}")

    @staticmethod
    def _help_text(s: FieldSpec) -> str:
        return (s.help + ("  (read-only)" if s.read_only else "")).strip()

    def _make_input(self) -> Widget:
        s = self.spec
        widget_id = f"input-{s.name}"
        if s.kind == "select":
            return Select(s.options, value=self.value, allow_blank=False, id=widget_id,
                          disabled=s.read_only, compact=True)
        if s.kind == "switch":
            return FormSwitch(value=bool(self.value), id=widget_id, disabled=s.read_only)
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

    def load(self, spec: FieldSpec, value: Any) -> None:
        """Show another spec of the same shape and its value (a reused form's reopen)."""
        old, self.spec, self.value = self.spec, spec, value
        if spec.label != old.label:
            self.query_one(".label", Label).update(spec.label)
        if self._help_text(spec) != self._help_text(old):
            help_line = self.query_one(".help", Static)
            help_line.update(self._help_text(spec))
            help_line.set_class(not self._help_text(spec), "-blank")
        # Only what differs is set: every change costs a refresh (a text area, a layout).
        w = self.input
        w.disabled = spec.read_only
        if isinstance(w, Select):
            if spec.options != old.options:
                w.set_options(spec.options)
            if w.value != value:
                w.value = value
        elif isinstance(w, Switch):
            w.value = bool(value)
        elif isinstance(w, TextArea):
            w.read_only = spec.read_only
            if w.text != str(value or ""):
                w.load_text(str(value or ""))
        else:
            w.placeholder = spec.placeholder
            if w.value != str(value or ""):
                w.value = str(value or "")
            w.cursor_position = len(w.value)
        if self.has_class("-invalid") or self.has_class("-warned"):
            self.show_error("")

    @staticmethod
    def _yes_no(value: bool) -> str:
        return " yes" if value else " no"

    @on(Switch.Changed)
    def _switch_changed(self, event: Switch.Changed) -> None:
        self.query_one(".switch-state", Label).update(self._yes_no(event.value))

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Switch.Changed)
    @on(TextArea.Changed)
    def _edited(self) -> None:
        """An error is about the value it was given: editing the value takes it away."""
        if self.has_class("-invalid"):
            self.show_error("")
            self.post_message(self.Fixed())
        elif self.has_class("-warned"):
            self.show_error("")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.add_class("-focused")  # under NO_COLOR the label shows where the focus is

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.remove_class("-focused")

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

    def show_error(self, message: str, *, warning: bool = False) -> None:
        """The line under the field: an error (✗, the save was refused) or a warning (⚠,
        saved only once confirmed); editing the field takes either away."""
        error = self.query_one(".error", Static)
        error.update(escape(f"{'⚠' if warning else '✗'} {message}") if message else "")
        error.set_class(not message, "-blank")
        error.set_class(warning, "-warning")
        self.set_class(bool(message) and not warning, "-invalid")
        self.set_class(bool(message) and warning, "-warned")


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
    """Modal form. Dismisses with whatever `save` returned, or None on cancel.

    Subclasses make other modes of it: SUBMIT names the action (the button, the keys line)
    and `submitted()` decides what follows a successful submit."""

    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > #form { width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    FormScreen #form-head { height: 1; }
    FormScreen #form-title { text-style: bold; width: 1fr; height: 1;
        text-wrap: nowrap; text-overflow: ellipsis; }
    FormScreen #form-keys { width: auto; height: 1; padding-left: 1; color: $text-muted; }
    FormScreen #form-message { color: $error; height: auto; }
    FormScreen #form-message.-busy { color: $text-muted; }
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
        # A priority binding moves the focus before the next key is handled: keys typed
        # ahead (a burst over a slow SSH link) land in the next field, not in this one.
        Binding("enter", "enter", "Next field", show=False, id="form.enter", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        # Priority too, or the scrolling field list would take them to scroll.
        Binding("down", "move(1)", "Next field", show=False, id="form.next", priority=True),
        Binding("up", "move(-1)", "Previous field", show=False, id="form.previous",
                priority=True),
    ]
    SUBMIT = "Save"  # the action's name on the button
    CLOSE = "Cancel"
    KEYS = "ctrl+s save · esc cancel"
    ENTER_SUBMITS = False  # enter on the last field submits (else it stops there)
    REFUSED = "Not saved"  # what a database error means for this mode

    def __init__(self, title: str, specs: list[FieldSpec], values: dict[str, Any],
                 save: Callable[[dict[str, Any]], Awaitable[Any]], warn: Warn | None = None):
        super().__init__()
        self.form_title = title
        self.specs = specs
        self.values = values
        self.save = save
        self.warn = warn
        self.accepted: dict[str, Any] | None = None  # values saved despite their warnings
        self.saving = False
        self.opened = 0  # bumped by each reuse: a save from an earlier opening is dropped
        self.initial: dict[str, Any] = {}
        self._styled_theme = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            with Horizontal(id="form-head"):
                yield Static(self.form_title, id="form-title")
                yield Static(self.KEYS, id="form-keys")
            yield Static("", id="form-message", classes="-blank")
            with VerticalScroll(id="fields"):
                section = ""
                for spec in self.specs:
                    if spec.section and spec.section != section:
                        section = spec.section
                        yield Static(section, classes="section")
                    yield FormField(spec, self.values.get(spec.name, ""))
            with Horizontal(id="buttons"):
                yield Button(f"{self.SUBMIT} ^s", id="save", variant="primary", compact=True)
                yield Button(f"{self.CLOSE} esc", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.initial = self.raw_values()
        self.focus_first()

    def focus_first(self) -> None:
        for f in self.query(FormField):
            if not f.spec.read_only:
                self.set_focus(f.input, scroll_visible=False)
                break
        self.query_one("#fields", VerticalScroll).scroll_home(animate=False, immediate=True)

    @property
    def shape(self) -> tuple:
        return tuple(s.shape for s in self.specs)

    def load(self, title: str, specs: list[FieldSpec], values: dict[str, Any],
             save: Callable[[dict[str, Any]], Awaitable[Any]], warn: Warn | None = None
             ) -> None:
        """Reset a built form for another opening: title, specs of the same shape, values,
        no errors, focus on the first field."""
        self.opened += 1
        self.saving = False
        old_title = self.form_title
        self.form_title, self.specs, self.values, self.save = title, specs, values, save
        self.warn, self.accepted = warn, None
        if title != old_title:
            self.query_one("#form-title", Static).update(title)
        for f, spec in zip(self.query(FormField), specs, strict=True):
            f.load(spec, values.get(spec.name, ""))
        if not self.query_one("#form-message").has_class("-blank"):
            self.show_message("")
        self.initial = self.raw_values()
        self.focus_first()

    def raw_values(self) -> dict[str, Any]:
        return {f.spec.name: f.read() for f in self.query(FormField)}

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles the whole screen on every push (a third of a reopening's time);
        # a kept form's styles only go stale when the theme changes.
        if self.is_mounted and self._styled_theme == self.app.theme:
            event.refresh_styles = False
        self._styled_theme = self.app.theme
        super()._on_screen_resume(event)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_enter(self) -> None:
        """Enter moves on from a one-line field or a switch; on the last field it submits
        in a mode that says so. Elsewhere (a text area, a select, a button) it does what
        that widget does."""
        focused = self.focused
        if not isinstance(focused, Input | Switch):
            raise SkipAction()
        fields = [f for f in self.query(FormField) if not f.spec.read_only]
        if self.ENTER_SUBMITS and fields and focused is fields[-1].input:
            self.action_save()
        else:
            self.focus_next()

    def action_move(self, step: int) -> None:
        """up/down move between fields, except in a text area or an open select list,
        where they move inside."""
        if not isinstance(self.focused, Input | Switch | Select | Button):
            raise SkipAction()
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    @on(FormField.Fixed)
    def _fixed(self) -> None:
        left = sum(1 for f in self.query(FormField) if f.has_class("-invalid"))
        if left:
            self.show_message(self.to_fix(left))
        else:
            self.show_message("")

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
            opened = self.opened
            after_pending_keys([f.input for f in fields],
                               lambda: self._submit(self.raw_values(), opened))

    def _submit(self, raw: dict[str, Any], opened: int) -> None:
        """Save, unless `warn` has something to say about these values: then show it under
        the fields and save only if the operator confirms."""
        warnings = self.warn(raw) if self.warn is not None else {}
        if not warnings or raw == self.accepted or not self.is_active:
            self._run_save(raw, opened)
            return
        for f in self.query(FormField):
            if f.spec.name in warnings:
                f.show_error(warnings[f.spec.name], warning=True)
        from connex_tui.widgets.confirm import ConfirmScreen

        labels = {s.name: s.label for s in self.specs}
        n = len(warnings)

        def answer(go: bool | None) -> None:
            if go:
                self.accepted = raw
                self._run_save(raw, opened)
            else:
                self.saving = False

        self.app.push_screen(ConfirmScreen(
            f"{self.SUBMIT} with {n} warning{'s' if n != 1 else ''}?",
            escape("\n".join(f"{labels.get(k, k)}: {v}" for k, v in warnings.items())),
            yes=self.SUBMIT, no="Edit"), answer)

    @work(exclusive=True, group="form-save")
    async def _run_save(self, raw: dict[str, Any], opened: int) -> None:
        if opened != self.opened or not self.is_active:  # closed (or reopened) meanwhile
            self.saving = False
            return
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
            self.show_message(escape(f"{self.REFUSED}: {exc}"))
        else:
            if opened == self.opened:
                self.submitted(result)
        finally:
            self.saving = False

    def submitted(self, result: Any) -> None:
        """What follows a successful save: close with its result."""
        self.dismiss(result)

    def show_message(self, text: str, *, busy: bool = False) -> None:
        message = self.query_one("#form-message", Static)
        message.update(text)
        message.set_class(not text, "-blank")
        message.set_class(busy, "-busy")

    @staticmethod
    def to_fix(n: int) -> str:
        return f"{n} field{'s' if n != 1 else ''} to fix"

    def show_errors(self, errors: dict[str, str]) -> None:
        first = None
        for f in self.query(FormField):
            msg = errors.get(f.spec.name, "")
            f.show_error(msg)
            if msg and first is None:
                first = f
        unknown = {k: v for k, v in errors.items() if not any(
            s.name == k for s in self.specs)}
        self.show_message(self.to_fix(len(errors)) +
                          "".join(f"; {k}: {v}" for k, v in unknown.items()) if errors else "")
        if first is not None:
            first.input.focus()
            first.scroll_visible()


def reusable(app: App, key: str, title: str, specs: list[FieldSpec], values: dict[str, Any],
             save: Callable[[dict[str, Any]], Awaitable[Any]], warn: Warn | None = None,
             mode: type[FormScreen] | None = None) -> FormScreen:
    """The form `key` of this app, built on its first opening and kept (installed) for the
    next ones, which only reset it: reopening costs a repaint, not ~80 widget mounts.

    A new form is built when the fields change shape, or when the kept one is open (a
    second form of the same kind over it). `mode`: a FormScreen subclass to build."""
    mode = mode or FormScreen
    name = f"form:{key}"
    if app.is_screen_installed(name):
        kept = app.get_screen(name)
        if kept in app.screen_stack:
            return mode(title, specs, values, save, warn)
        if (isinstance(kept, FormScreen) and kept.is_mounted
                and kept.shape == tuple(s.shape for s in specs)):
            kept.load(title, specs, values, save, warn)
            return kept
        app.uninstall_screen(name)
        if kept.is_mounted:
            kept.remove()
    form = mode(title, specs, values, save, warn)
    app.install_screen(form, name)
    return form
