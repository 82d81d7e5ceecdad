"""Simulate a call (DOMAIN.md §4.1): the dialog of inputs and the result view.

The dialog validates with engine/call_validation (the one the `simulate` command uses), runs
CallsService.simulate in a worker and shows the decision over itself; `s` in the result goes
back to the inputs, kept, to edit and run again. The result view also reopens a stored
simulation from Latest Calls. Opened without a customer (command palette), the switch finds
the customer by IP or SIP user and the result offers to open it.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from connex_tui.data.access import NotFound, PermissionDenied, StorageError
from connex_tui.engine.call_validation import validate_call
from connex_tui.engine.money import format_exact
from connex_tui.engine.report import duration_text, headline
from connex_tui.engine.snapshot import Result
from connex_tui.engine.validation import ValidationError
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


# -- the result view ----------------------------------------------------------------------
def headline_text(result: Result) -> Text:
    """Green/red, and the first word says allow/reject for terminals without colour."""
    if result.allowed:
        return Text.assemble(("✓ ALLOW  ", "bold green"), (headline(result), "green"))
    return Text.assemble(("✗ REJECT  ", "bold red"), (headline(result), "red"))


def summary_pairs(r: Result) -> list[tuple[str, str]]:
    def same(a: str, b: str) -> str:
        """in → out; only `in` when the call stopped before the rewrite steps."""
        if not b:
            return a or "-"
        return f"{a or '-'} → {b}" if b != a else f"{a} (unchanged)"

    p = r.precision
    rate = "-"
    if r.prefix:
        rate = (f"{r.prefix} {r.destination} · {format_exact(r.rate, p)} {r.currency}/min · "
                f"connect fee {format_exact(r.connect_fee, p)} · {r.increment or '-'}")
    route = r.route or "-"
    if r.card:
        route += f" · card {r.card}"
    return [("Customer", r.customer or "-"), ("Auth", r.auth or "-"), ("Route", route),
            ("Number", same(r.number_in, r.number_out)), ("CLI", same(r.cli_in, r.cli_out)),
            ("PAID", r.pai or "-"), ("Rate", rate),
            ("Max duration", "-" if r.max_duration is None else duration_text(r.max_duration))]


PROVIDER_COLUMNS = ((" #", 2), ("Provider", 18), ("Card", 18), ("Cost/min", 10),
                    ("Connect", 8), ("Margin/min", 10))


def providers_text(r: Result) -> Text:
    out = Text()
    if not r.providers:
        out.append("Providers: none", style="dim")
        return out
    out.append(f"Providers, in the order they are tried ({r.currency or 'card currency'})\n",
               style="bold")
    head = [label.rjust(w) if i >= 3 else label.ljust(w)
            for i, (label, w) in enumerate(PROVIDER_COLUMNS)]
    out.append(" ".join(head) + "\n", style="dim")
    widths = [w for _, w in PROVIDER_COLUMNS]
    for n, c in enumerate(r.providers, 1):
        money = [format_exact(v, r.precision) for v in (c.rate, c.connect_fee, c.margin)]
        cells = [str(n).rjust(widths[0]), _cut(c.name, widths[1]), _cut(c.card, widths[2]),
                 money[0].rjust(widths[3]), money[1].rjust(widths[4])]
        out.append(" ".join(cells) + " ")
        out.append(money[2].rjust(widths[5]) + "\n", style="red" if c.margin < 0 else "")
    out.rstrip()
    return out


def trace_pairs(r: Result) -> list[tuple[str, str]]:
    """(step number, text): the pipeline writes "4. Route: ..."."""
    out = []
    for line in r.trace:
        step, dot, rest = line.partition(". ")
        out.append((step + dot.strip(), rest) if dot and step.isdigit() else ("", line))
    return out


def rows(pairs: list[tuple[str, str]]) -> ComposeResult:
    """Label and value side by side; a long value wraps under itself, not under the label."""
    for label, value in pairs:
        with Horizontal(classes="pair"):
            yield Static(label, classes="key", markup=False)
            yield Static(value, classes="value", markup=False)


def _cut(value: str, width: int) -> str:
    return value.ljust(width) if len(value) <= width else value[: width - 1] + "…"


class ResultScreen(ModalScreen[str | None]):
    """What the switch would do. Dismisses with 'edit' (s), 'open' (o) or None (esc)."""

    DEFAULT_CSS = """
    ResultScreen { align: center middle; }
    ResultScreen > #result { width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1; }
    ResultScreen #result-head { height: 1; }
    ResultScreen #result-title { text-style: bold; width: 1fr; height: 1;
        text-wrap: nowrap; text-overflow: ellipsis; }
    ResultScreen #result-keys { width: auto; height: 1; padding-left: 1; color: $text-muted; }
    ResultScreen #result-body { height: auto; max-height: 100%; }
    ResultScreen #headline { text-style: bold; margin-bottom: 1; }
    ResultScreen #summary, ResultScreen #trace { height: auto; }
    ResultScreen .pair { height: auto; }
    ResultScreen .key { width: 14; color: $text-muted; }
    ResultScreen #trace .key { width: 4; }
    ResultScreen .value { width: 1fr; }
    ResultScreen #providers, ResultScreen #trace { margin-top: 1; }
    ResultScreen .section { text-style: bold; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="result.close"),
        Binding("s", "edit", "Edit & run again", id="result.edit"),
        Binding("o", "open", "Open customer", id="result.open"),
        Binding("j,down", "scroll(1)", "Scroll down", show=False, id="result.down"),
        Binding("k,up", "scroll(-1)", "Scroll up", show=False, id="result.up"),
    ]

    def __init__(self, result: Result, call_id: str | None, *, offer_open: bool = False):
        super().__init__()
        self.result = result
        self.call_id = call_id
        self.offer_open = offer_open and result.customer_id is not None

    def compose(self) -> ComposeResult:
        r = self.result
        title = f"{self.call_id or 'Simulation (not stored)'} · {r.number_in} from {r.cli_in}"
        keys = ["s edit"] + (["o open customer"] if self.offer_open else []) + ["esc close"]
        with Vertical(id="result"):
            with Horizontal(id="result-head"):
                yield Static(title, id="result-title", markup=False)
                yield Static(" · ".join(keys), id="result-keys")
            with VerticalScroll(id="result-body"):
                yield Static(headline_text(r), id="headline")
                with Vertical(id="summary"):
                    yield from rows(summary_pairs(r))
                yield Static(providers_text(r), id="providers")
                with Vertical(id="trace"):
                    yield Static("Trace", classes="section")
                    yield from rows(trace_pairs(r))

    def on_mount(self) -> None:
        self.query_one("#result-body").focus()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "open":
            return self.offer_open
        return True

    def action_scroll(self, step: int) -> None:
        self.query_one("#result-body", VerticalScroll).scroll_relative(y=step, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_edit(self) -> None:
        self.dismiss("edit")

    def action_open(self) -> None:
        if not self.offer_open:
            raise SkipAction()
        self.dismiss("open")
