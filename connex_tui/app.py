"""The Textual application: services, theme and terminal behaviour, shared customer actions."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
from importlib import import_module
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding
from textual.command import CommandInput, CommandPalette
from textual.markup import escape
from textual.screen import ModalScreen
from textual.worker import WorkerFailed

from connex_tui.config import Config
from connex_tui.data.access import Actor, NotFound, PermissionDenied, StaleError, StorageError
from connex_tui.data.customers import CustomerDetail, CustomerService
from connex_tui.data.db import Database, upgrade
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.textsafe import safe_text
from connex_tui.screens.commands import CustomerCommands
from connex_tui.screens.customer_list import CustomerListScreen
from connex_tui.widgets import glyphs
from connex_tui.widgets.confirm import ConfirmScreen

if TYPE_CHECKING:
    from connex_tui.data.alerts import AlertsService
    from connex_tui.data.auth import AuthService
    from connex_tui.data.calls import CallsService
    from connex_tui.data.cdrs import CdrService
    from connex_tui.data.cli_rules import CliRulesService
    from connex_tui.data.contacts import ContactsService
    from connex_tui.data.dialogs import DialogsService
    from connex_tui.data.dialogs_view import DialogsView
    from connex_tui.data.dids import DidsService
    from connex_tui.data.packages import PackagesService
    from connex_tui.data.payments import PaymentsService
    from connex_tui.data.providers import ProvidersService
    from connex_tui.data.rate_cards import RatesService
    from connex_tui.data.recalc import RecalcService
    from connex_tui.data.routes import RoutesService
    from connex_tui.data.scripts import ScriptsService
    from connex_tui.data.stats import StatsService
    from connex_tui.traffic_thread import TrafficThread

# service attribute -> (module of connex_tui.data, class), made on first use
_LAZY_SERVICES = {
    "rates": ("rate_cards", "RatesService"), "providers": ("providers", "ProvidersService"),
    "routes": ("routes", "RoutesService"), "cli_rules": ("cli_rules", "CliRulesService"),
    "scripts": ("scripts", "ScriptsService"), "auth": ("auth", "AuthService"),
    "calls": ("calls", "CallsService"), "stats": ("stats", "StatsService"),
    "dialogs": ("dialogs", "DialogsService"),
    "dialogs_view": ("dialogs_view", "DialogsView"),
    "cdrs": ("cdrs", "CdrService"),
    "recalc": ("recalc", "RecalcService"),
    "payments": ("payments", "PaymentsService"),
    "contacts": ("contacts", "ContactsService"),
    "dids": ("dids", "DidsService"),
    "alerts": ("alerts", "AlertsService"),
}
_LAZY_SERVICES["packages"] = ("packages", "PackagesService")


class Services:
    """The data services. Only the customer list's is made at start; the others (and their
    modules: the routing engine, validators, password hashing) on first use, so the list
    paints without importing them."""

    customers: CustomerService
    rates: RatesService
    providers: ProvidersService
    routes: RoutesService
    cli_rules: CliRulesService
    scripts: ScriptsService
    auth: AuthService
    calls: CallsService
    stats: StatsService
    dialogs: DialogsService
    dialogs_view: DialogsView
    cdrs: CdrService
    recalc: RecalcService
    payments: PaymentsService
    contacts: ContactsService
    dids: DidsService
    packages: PackagesService
    alerts: AlertsService

    def __init__(self, db: Database, actor: Actor, clock: Clock) -> None:
        self.db, self.actor, self.clock = db, actor, clock
        self.customers = CustomerService(db, actor, clock)

    def __getattr__(self, name: str):  # only for attributes not made yet
        if name not in _LAZY_SERVICES:
            raise AttributeError(name)
        module, cls = _LAZY_SERVICES[name]
        service = getattr(import_module(f"connex_tui.data.{module}"), cls)(
            self.db, self.actor, self.clock)
        setattr(self, name, service)
        return service


class SteadyPalette(CommandPalette):
    """The command palette with a steady cursor, like every other input here: a blinking
    one repaints twice a second over SSH."""

    def on_mount(self) -> None:
        self.query_one(CommandInput).cursor_blink = False


class ConnexApp(App):
    TITLE = "connex-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {CustomerCommands}
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help", show=False),
        Binding("ctrl+p", "command_palette", "Palette", id="app.palette", show=False),
        # The list binds q to quit (asking); dialogs keep q for typing or closing.
        Binding("q", "to_list", "Back to the list", id="app.to_list", show=False),
    ]

    def __init__(self, config: Config, *, database: Database | None = None,
                 clock: Clock = utcnow):
        # An ANSI theme must be known before App.__init__ picks the NO_COLOR filter, or the
        # ANSI colours get converted to grey levels (black on black) instead of removed.
        super().__init__(ansi_color=True if config.theme.startswith("ansi") else None)
        self.config = config
        self.clock = clock
        self.db = database or Database.for_config(config)
        self.actor = Actor(config.operator, config.role)
        self.services = Services(self.db, self.actor, clock)
        self.theme = config.theme
        self.failed: StorageError | None = None  # why start-up gave up, printed on exit
        self.traffic: TrafficThread | None = None  # the switch simulator, when asked for
        self.alert_job = None  # feeds.alert_job.AlertThread, when config.alerts
        glyphs.apply(self)  # ASCII frames and marks where the terminal lacks the glyphs
        if not config.animations:
            self.animation_level = "none"

    async def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
            # A plain handler, not loop.add_signal_handler: it also runs when the loop is
            # stuck handing output to a terminal that nobody reads any more.
            loop = asyncio.get_running_loop()
            signal.signal(signal.SIGHUP, lambda *_: self._hang_up(loop))
        try:
            await upgrade(self.db)  # read-only (viewer): only checks the schema
        except StorageError as exc:  # no database, schema behind, unreachable: one line
            self.failed = exc
            self.exit(return_code=exc.exit_code)
            return
        await self.push_screen(CustomerListScreen())
        if self.config.traffic and self.actor.role != "viewer":
            self.call_after_refresh(self.start_traffic)  # once the list has painted
        if self.config.alerts and self.actor.role != "viewer":
            self.call_after_refresh(self.start_alerts)
        # Everything loaded so far lives for the whole session: keep it out of the cyclic
        # GC's full collections, which otherwise pause a keystroke now and then.
        gc.freeze()

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(SteadyPalette(id="--command-palette"))

    def _hang_up(self, loop: asyncio.AbstractEventLoop) -> None:
        """The SSH session dropped: leave at once rather than write to a dead terminal.
        A graceful exit can block writing to a terminal nobody reads, so a timer ends the
        process regardless (open transactions roll back: nothing half-written lands)."""
        timer = threading.Timer(2.0, os._exit, args=(129,))
        timer.daemon = True
        timer.start()
        loop.call_soon_threadsafe(self.exit, None, 129)

    # -- the switch simulator (config traffic / --traffic) --------------------------------
    def start_traffic(self) -> None:
        """Live calls for every console on this database (they read the dialogs table),
        from a simulator on its own thread; stopped, its calls written, when the app ends."""
        if self.traffic is None:
            from connex_tui.traffic_thread import TrafficThread

            loop = asyncio.get_running_loop()

            def notify(message: str) -> None:  # from the traffic thread
                loop.call_soon_threadsafe(lambda: self.flash(escape(message), error=True))

            self.traffic = TrafficThread(self.config, notify)
            self.traffic.start()

    def start_alerts(self) -> None:
        """The alert evaluator every minute (docs/domain.md §10), on its own thread."""
        if self.alert_job is None:
            from connex_tui.feeds.alert_job import AlertThread

            loop = asyncio.get_running_loop()

            def notify(message: str) -> None:  # from the alerts thread
                loop.call_soon_threadsafe(lambda: self.flash(escape(message), error=True))

            self.alert_job = AlertThread(self.config, notify)
            self.alert_job.start()

    async def on_unmount(self) -> None:
        if self.traffic is not None:
            await self.traffic.stop()
        if self.alert_job is not None:
            await self.alert_job.stop()
        await self.db.dispose()

    def _handle_exception(self, error: Exception) -> None:
        """A database failure a worker or handler did not catch is flashed, not fatal: it
        was rolled back, and the operator can retry. Anything else ends the app."""
        cause = error.error if isinstance(error, WorkerFailed) else error
        if isinstance(cause, StorageError):
            self.flash(escape(str(cause)), error=True)
            return
        super()._handle_exception(error)

    # -- shared actions -------------------------------------------------------------------
    def flash(self, message: str, *, error: bool = False) -> None:
        """A toast; `message` is markup (escape names in it), controls are shown escaped."""
        self.notify(safe_text(message, multiline=True), severity="error" if error else "information",
                    timeout=6 if error else 3)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "to_list":  # from a full screen only: a dialog on top stays in charge
            return not isinstance(self.screen, (ModalScreen, CustomerListScreen))
        return True

    def action_to_list(self) -> None:
        """q: leave the customer screen, a rate card, ... straight back to the list."""
        while (len(self.screen_stack) > 2
               and not isinstance(self.screen, (ModalScreen, CustomerListScreen))):
            self.pop_screen()

    def action_help(self) -> None:
        from connex_tui.screens.help import HelpScreen  # on first use: not needed to start

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def open_customer(self, customer_id: int, tab: str | None = None) -> None:
        from connex_tui.screens.customer_detail.screen import CustomerDetailScreen

        if not self.is_screen_installed("customer"):
            self.install_screen(CustomerDetailScreen(customer_id, tab=tab), "customer")
        screen = self.get_screen("customer")
        screen.show_customer(customer_id, tab)
        if screen not in self.screen_stack:
            self.push_screen(screen)
        else:  # already open (palette from the customer screen): switch in place
            while self.screen is not screen:
                self.pop_screen()

    def action_live_calls(self) -> None:
        """Every customer's live calls (the list's L, the palette's "Live calls")."""
        from connex_tui.screens.live_calls import LiveCallsScreen

        if not isinstance(self.screen, LiveCallsScreen):
            self.push_screen(LiveCallsScreen())

    def action_dids(self) -> None:
        """Every DID, any number searched, the stock (the list's D, the palette's "DIDs")."""
        from connex_tui.screens.dids import DidsScreen

        if not isinstance(self.screen, DidsScreen):
            self.push_screen(DidsScreen())
    def action_packages(self) -> None:
        """The package catalogue (the list's P, the palette's "Package catalogue")."""
        from connex_tui.screens.packages import PackageCatalogueScreen

        if not isinstance(self.screen, PackageCatalogueScreen):
            self.push_screen(PackageCatalogueScreen())

    async def edit_customer(self, detail: CustomerDetail, origin) -> bool:
        """Edit form for `detail`; call from a worker. True when saved. Nothing opens if the
        operator has left `origin` while the customer was being read (fast keys)."""
        if self.screen is not origin:
            return False

        from connex_tui.screens.dialogs.customer_form import customer_form

        async def save(raw):
            await self.services.customers.update(detail.id, detail.version, raw)
            return True

        saved = await self.push_screen_wait(customer_form(self, detail.form_values(), save))
        if saved:
            self.flash("Saved")
        return bool(saved)

    async def delete_customer(self, customer_id: int, name: str, origin,
                              live_calls: int = 0) -> str | None:
        """Confirm, then archive or erase; call from a worker. Returns what was done."""
        try:
            mode = await self.services.customers.delete_mode(customer_id)
        except NotFound:
            return None
        if self.screen is not origin:
            return None
        name = escape(name)  # the dialog and the toast read markup
        if mode == "archive":
            msg = (f"{name} has CDRs or payments, so it will be ARCHIVED: it leaves the list "
                   "(filter Archived shows it) and its financial records stay.")
            if live_calls:
                msg += f" Its {live_calls} live call(s) go on until they end."
            title, yes = f"Archive {name}?", "Archive"
        else:
            msg = (f"{name} has no CDRs or payments, so it will be ERASED for good, with its "
                   "contacts, auth entries and routes. The audit log keeps a record.")
            title, yes = f"Erase {name}?", "Erase"
        if not await self.push_screen_wait(ConfirmScreen(title, msg, yes=yes, no="Keep")):
            return None
        try:
            done = await self.services.customers.delete(customer_id)
        except (PermissionDenied, NotFound, StaleError) as exc:
            self.flash(str(exc), error=True)
            return None
        self.flash(f"{name} {'archived' if done == 'archive' else 'erased'}")
        return done


def run_app(config: Config) -> int:
    app = ConnexApp(config)
    app.run(mouse=config.mouse)
    if app.failed is not None:  # after the terminal is restored, so the line stays visible
        print(f"connex-tui: {app.failed}", file=sys.stderr)
    return app.return_code or 0
