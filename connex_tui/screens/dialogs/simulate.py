"""Simulate a call (DOMAIN.md §4.1): the dialog of inputs (the result view is simulate_result).

The dialog validates with engine/call_validation (the one the `simulate` command uses), runs
CallsService.simulate in a worker and shows the decision over itself; `s` in the result goes
back to the inputs, kept, to edit and run again. The result view also reopens a stored
simulation from Latest Calls. Opened without a customer (command palette), the switch finds
the customer by IP or SIP user and the result offers to open it.
"""

from __future__ import annotations

from dataclasses import replace

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from connex_tui.data.access import NotFound, PermissionDenied, StorageError
from connex_tui.engine.call_validation import validate_call
from connex_tui.engine.snapshot import Result
from connex_tui.engine.validation import ValidationError
from connex_tui.screens.dialogs.simulate_result import ResultScreen
from connex_tui.widgets.form import FieldSpec, FormField, after_pending_keys

FIELDS = (
    FieldSpec("number", "Dialled number", placeholder="e.g. 4930123456",
              help="with the route's tech prefix first, if it has one"),
    FieldSpec("cli", "CLI / ANI", placeholder="e.g. 447700900123"),
    FieldSpec("ip", "Customer IP"),
    FieldSpec("sip_user", "SIP user", placeholder="optional"),
    FieldSpec("sip_password", "SIP password", placeholder="optional",
              extra={"password": True}),
    FieldSpec("switch_ip", "Switch IP", placeholder="optional"),
)
IP_HELP = {True: "preset: the customer's first ingress IP",
           False: "the switch finds the customer by IP or SIP user"}


def open_simulate(app, customer_id: int | None = None, name: str = "",
                  values: dict | None = None, on_close=None) -> None:
    """Open the dialog; `on_close(stored)` runs when it closes (stored = simulations kept)."""
    app.push_screen(SimulateScreen(customer_id, name, values), on_close)


class SimulateScreen(ModalScreen[int]):
    """Inputs of a call to simulate. Dismisses with the number of simulations stored."""

    DEFAULT_CSS = """
    SimulateScreen { align: center middle; }
    SimulateScreen > #simulate { width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    SimulateScreen #simulate-head { height: 1; }
    SimulateScreen #simulate-title { text-style: bold; width: 1fr; height: 1;
        text-wrap: nowrap; text-overflow: ellipsis; }
    SimulateScreen #simulate-keys { width: auto; height: 1; padding-left: 1; color: $text-muted; }
    SimulateScreen #simulate-message { height: auto; color: $error; }
    SimulateScreen #simulate-message.-busy { color: $text-muted; }
    SimulateScreen #simulate-message.-blank { display: none; }
    SimulateScreen #fields { height: auto; max-height: 100%; }
    SimulateScreen Input { background: $boost; }
    SimulateScreen Input:focus { background: $primary 30%; text-style: bold; }
    """
    BINDINGS = [
        Binding("ctrl+s", "run", "Run", id="simulate.run", priority=True),
        # A priority binding moves the focus before the next key is handled: keys typed
        # ahead (a burst over a slow SSH link) land in the next field, not in this one.
        Binding("enter", "enter", "Next field / run", show=False, id="simulate.enter",
                priority=True),
        Binding("escape", "close", "Close", id="simulate.close"),
        Binding("down", "app.focus_next", "Next field", show=False, id="simulate.next"),
        Binding("up", "app.focus_previous", "Previous field", show=False,
                id="simulate.previous"),
    ]

    def __init__(self, customer_id: int | None = None, name: str = "",
                 values: dict | None = None):
        super().__init__()
        self.customer_id = customer_id
        self.customer_name = name
        self.values = dict(values or {})
        self.stored = 0
        self.running = False
        self.last: tuple[str | None, Result] | None = None  # tests read the last outcome

    def compose(self) -> ComposeResult:
        title = "Simulate a call" + (f" · {self.customer_name}" if self.customer_name else "")
        with Vertical(id="simulate"):
            with Horizontal(id="simulate-head"):
                yield Static(title, id="simulate-title", markup=False)
                yield Static("enter next · ctrl+s run · esc close", id="simulate-keys")
            yield Static("", id="simulate-message", classes="-blank")
            with VerticalScroll(id="fields"):
                for spec in FIELDS:
                    if spec.name == "ip":
                        spec = replace(spec, help=IP_HELP[self.customer_id is not None])
                    yield FormField(spec, self.values.get(spec.name, ""))

    def on_mount(self) -> None:
        self.query_one("#input-number", Input).focus()
        if self.customer_id is not None and not self.values.get("ip"):
            self._preset_ip()

    @work(group="simulate-preset")
    async def _preset_ip(self) -> None:
        ip = await self.app.services.calls.default_ip(self.customer_id)
        field = self.query_one("#input-ip", Input)
        if ip and not field.value:  # never overwrite what the operator typed meanwhile
            field.value = ip

    def raw_values(self) -> dict[str, str]:
        return {f.spec.name: f.read() for f in self.query(FormField)}

    def action_enter(self) -> None:
        """Enter moves to the next field; on the last one it runs the simulation."""
        focused = self.focused
        if focused is not None and focused.id == f"input-{FIELDS[-1].name}":
            self.action_run()
        else:
            self.focus_next()

    def action_close(self) -> None:
        self.dismiss(self.stored)

    def action_run(self) -> None:
        """Read the fields only once each has handled the keys typed ahead of ctrl+s."""
        if self.running:
            return
        self.running = True
        after_pending_keys(list(self.query(Input)), self._run)

    def _run(self) -> None:
        self.running = False
        if self.app.screen is not self:  # closed meanwhile
            return
        try:
            call = validate_call(self.raw_values())
        except ValidationError as exc:
            self.show_errors(exc.errors)
            return
        self.show_errors({})
        self.running = True
        self.show_message("Simulating…", busy=True)
        self._simulate(replace(call, at=call.at or self.app.clock()))

    @work(exclusive=True, group="simulate-run")
    async def _simulate(self, call) -> None:
        try:
            sim = await self.app.services.calls.simulate(call, for_customer=self.customer_id)
        except ValidationError as exc:
            self.show_errors(exc.errors)
            return
        except (PermissionDenied, NotFound) as exc:
            self.show_message(str(exc))
            return
        except StorageError as exc:
            self.show_message(escape(f"Not simulated: {exc}"))
            return
        finally:
            self.running = False
        self.show_message("")
        if sim.call_id:
            self.stored += 1
        self.last = (sim.call_id, sim.result)
        self.app.push_screen(
            ResultScreen(sim.result, sim.call_id, offer_open=self.customer_id is None),
            self._after_result)

    def _after_result(self, choice: str | None) -> None:
        if choice == "edit":
            self.query_one("#input-number", Input).focus()
            return
        self.dismiss(self.stored)
        if choice == "open" and self.last and self.last[1].customer_id is not None:
            self.app.open_customer(self.last[1].customer_id, "calls")

    def show_message(self, text: str, *, busy: bool = False) -> None:
        message = self.query_one("#simulate-message", Static)
        message.update(text)
        message.set_class(not text, "-blank")
        message.set_class(busy, "-busy")

    def show_errors(self, errors: dict[str, str]) -> None:
        first = None
        for f in self.query(FormField):
            msg = errors.get(f.spec.name, "")
            f.show_error(msg)
            if msg and first is None:
                first = f
        n = len(errors)
        self.show_message(f"{n} field{'s' if n != 1 else ''} to fix" if n else "")
        if first is not None:
            first.input.focus()
