"""Simulate a call (docs/domain.md §4.1): the dialog of inputs (the result view is simulate_result).

The dialog is the generic form in its "run" mode: fields checked by engine/call_validation
(the validator the `simulate` command uses), ctrl+s (or enter on the last field) runs
CallsService.simulate in the form's worker and shows the decision over the form; `s` in the
result goes back to the inputs, kept, to edit and run again. The result view also reopens a
stored simulation from Latest Calls. Opened without a customer (command palette), the switch
finds the customer by IP or SIP user and the result offers to open it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from textual import work
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import Input

from connex_tui.engine.call_validation import validate_call
from connex_tui.engine.snapshot import Result
from connex_tui.screens.dialogs.simulate_result import ResultScreen
from connex_tui.widgets.form import FieldSpec, FormScreen

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


class SimulateScreen(FormScreen):
    """The generic form run, not saved: the inputs of a call to simulate. It stays open
    under each result; dismisses with the number of simulations stored."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Run", id="simulate.run", priority=True),
        Binding("escape", "cancel", "Close", id="simulate.close"),
    ]
    SUBMIT = "Run"
    CLOSE = "Close"
    KEYS = "enter next · ctrl+s run · esc close"
    ENTER_SUBMITS = True
    REFUSED = "Not simulated"

    def __init__(self, customer_id: int | None = None, name: str = "",
                 values: dict | None = None):
        specs = [replace(s, help=IP_HELP[customer_id is not None]) if s.name == "ip" else s
                 for s in FIELDS]
        title = "Simulate a call" + (f" · {escape(name)}" if name else "")
        super().__init__(title, specs, dict(values or {}), self._simulate)
        self.customer_id = customer_id
        self.customer_name = name
        self.stored = 0
        self.last: tuple[str | None, Result] | None = None  # tests read the last outcome

    def on_mount(self) -> None:
        super().on_mount()
        if self.customer_id is not None and not self.values.get("ip"):
            self._preset_ip()

    @work(group="simulate-preset")
    async def _preset_ip(self) -> None:
        ip = await self.app.services.calls.default_ip(self.customer_id)
        field = self.query_one("#input-ip", Input)
        if ip and not field.value:  # never overwrite what the operator typed meanwhile
            field.value = ip
            self.initial = self.raw_values()

    async def _simulate(self, raw: dict[str, Any]):
        """The form's submit: ValidationError (shown beside the fields) or the decision."""
        call = validate_call(raw)
        self.show_errors({})
        self.show_message("Simulating…", busy=True)
        return await self.app.services.calls.simulate(
            replace(call, at=call.at or self.app.clock()), for_customer=self.customer_id)

    def submitted(self, sim) -> None:
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

    def action_cancel(self) -> None:
        """Nothing typed here is lost by closing (it is a question, not a record)."""
        self.dismiss(self.stored)
