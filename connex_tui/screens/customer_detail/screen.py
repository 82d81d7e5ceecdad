"""The customer screen: breadcrumb, header strip, the eleven tabs."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from connex_tui.data.access import NotFound, StorageError
from connex_tui.data.customers import CustomerDetail
from connex_tui.engine import present
from connex_tui.screens.customer_detail.alerts_tab import AlertsTab
from connex_tui.screens.customer_detail.auth_tab import AuthTab
from connex_tui.screens.customer_detail.calls_tab import CallsTab
from connex_tui.screens.customer_detail.cdr_tab import CdrTab
from connex_tui.screens.customer_detail.dialogs_tab import DialogsTab
from connex_tui.screens.customer_detail.did_tab import DidTab
from connex_tui.screens.customer_detail.main_tab import MainTab
from connex_tui.screens.customer_detail.packages_tab import PackagesTab
from connex_tui.screens.customer_detail.payments_tab import PaymentsTab
from connex_tui.screens.customer_detail.routing_tab import RoutingTab
from connex_tui.screens.customer_detail.stats_tab import StatsTab
from connex_tui.screens.customer_detail.tab_base import CustomerTab
from connex_tui.widgets.cells import status_cell

TABS = (("main", "Main"), ("stats", "Stats"), ("routing", "Routing"), ("auth", "Auth"),
        ("calls", "Calls"), ("dialogs", "Dialogs"), ("payments", "Payments"),
        ("alerts", "Alerts"), ("cdr", "CDR"), ("did", "DID"), ("packages", "Packages"))
TAB_KEYS = [key for key, _ in TABS]
DIGITS = "1234567890"
# From this width each tab shows the digit that jumps to it ("1 Main"); below it the eleven
# bare labels sit one space apart (71 columns), so all of them fit in 80 and none scrolls.
NUMBERED = 104
BALANCE_POLL_S = 5.0  # the header's balance follows calls and jobs this closely
# Tab key -> the widget class that fills it (a CustomerTab); Main is composed apart.
TAB_WIDGETS: dict[str, type[CustomerTab]] = {"stats": StatsTab, "routing": RoutingTab,
                                               "auth": AuthTab, "calls": CallsTab,
                                               "dialogs": DialogsTab, "cdr": CdrTab,
                                               "payments": PaymentsTab, "did": DidTab,
                                               "packages": PackagesTab, "alerts": AlertsTab}


def tab_label(index: int, label: str, numbered: bool) -> Text:
    if not numbered or index >= len(DIGITS):
        return Text(label)
    return Text.assemble((DIGITS[index], "dim"), " ", label)


class CustomerDetailScreen(Screen):
    AUTO_FOCUS = ""  # see _focus_tab
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NUMBERED, "-numbered")]
    BINDINGS = [
        Binding("escape", "back", "Back", id="customer.back"),
        Binding("e", "edit", "Edit cust.", id="customer.edit", tooltip="Edit customer"),
        Binding("left_square_bracket", "tab(-1)", "Prev", id="customer.prev_tab",
                tooltip="Previous tab"),
        Binding("right_square_bracket", "tab(1)", "Next", id="customer.next_tab",
                tooltip="Next tab"),
        Binding("r", "refresh", "Refresh", id="customer.refresh", show=False),
        Binding("ctrl+d,delete", "delete", "Delete", id="customer.delete"),
        Binding("question_mark", "app.help", "Help", id="customer.help"),
        *(Binding(d, f"goto({i})", f"Tab {TABS[i][1]}", show=False, id=f"customer.tab{d}")
          for i, d in enumerate(DIGITS)),
    ]

    def __init__(self, customer_id: int, tab: str | None = None):
        super().__init__()
        self.customer_id = customer_id
        self.initial_tab = tab if tab in TAB_KEYS else "main"
        self.detail: CustomerDetail | None = None
        self.loaded = 0  # tests and bench watch this
        self._numbered = False

    def show_customer(self, customer_id: int, tab: str | None = None) -> None:
        """Point this (reused) screen at another customer: the app installs one instance
        so that opening a customer does not rebuild eleven tabs each time."""
        self.customer_id = customer_id
        self.detail = None
        self.loaded = 0
        if self.is_mounted:
            self.query_one("#header", Static).update(f"Loading{present.glyphs().ellipsis}")
            self.select_tab(tab if tab in TAB_KEYS else "main")
            self.query_one(MainTab).clear()
            for tab in self.query(CustomerTab):
                tab.show_customer(customer_id)
            self.load()
        else:
            self.initial_tab = tab if tab in TAB_KEYS else "main"

    @property
    def help_title(self) -> str:
        return f"customer {present.text(self.detail.name)}" if self.detail else "customer"

    def compose(self) -> ComposeResult:
        yield Static(f"Customers {present.glyphs().crumb}", id="crumb", classes="crumb",
                     markup=False)
        yield Static("", id="header")
        with TabbedContent(initial=f"tab-{self.initial_tab}", id="tabs"):
            for key, label in TABS:
                with TabPane(label, id=f"tab-{key}"):
                    if key == "main":
                        yield MainTab()
                    else:
                        yield Lazy(TAB_WIDGETS[key](id=f"{key}-tab"))
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # The tab bar never takes the focus (digits and [ ] switch tabs): `tab` then stays
        # within a tab's panes, and ctrl+d there can only mean the row, never the customer.
        self.query_one("#tabs ContentTabs").can_focus = False
        self._focus_tab(self.initial_tab)
        self.load()
        self.set_timer(BALANCE_POLL_S, self._poll_balance)

    def on_resize(self) -> None:
        if self.detail is not None:
            self._render_header(self.detail)
        numbered = self.size.width >= NUMBERED
        if numbered != self._numbered:
            self._numbered = numbered
            tabs = self.query_one("#tabs", TabbedContent)
            for i, (key, label) in enumerate(TABS):
                tabs.get_tab(f"tab-{key}").label = tab_label(i, label, numbered)

    def _focus_tab(self, key: str) -> None:
        """With nothing focused, focus the first widget of the tab shown (not auto-focus:
        focusing a hidden tab's widget would switch to that tab)."""
        if self.focused is None:
            self.focus_next(f"#tab-{key} *")

    @work(group="customer-load", exclusive=True)
    async def load(self) -> None:
        svc = self.app.services.customers
        try:
            detail = await svc.get(self.customer_id)
        except NotFound:
            self.app.flash("That customer no longer exists", error=True)
            if self.app.screen is self:
                self.app.pop_screen()
            return
        if detail.id != self.customer_id:  # switched to another customer meanwhile
            return
        history = await svc.audit(self.customer_id)
        summaries = await self.app.services.stats.summaries(self.customer_id)
        self.detail = detail
        self._render_header(detail)
        main = self.query_one(MainTab)
        main.show(detail, history, self.app.clock())
        main.show_summary(summaries, detail.currency)
        self.loaded += 1

    # The header's labels, shortened (and the debit limit, which Main shows, left out) until
    # the line fits: a long status and a balance in micro-units overflow 80 columns.
    HEADER_LABELS = (("Balance", "Debit limit", "Channels"), ("Balance", "Limit", "Chan."),
                     ("Bal.", "", "Ch."))

    def _render_header(self, d: CustomerDetail) -> None:
        header = self.query_one("#header", Static)
        room = (header.size.width or self.size.width or 80) - 2  # its padding
        for labels in self.HEADER_LABELS:
            line = self._header_line(d, *labels)
            if line.cell_len <= room:
                break
        header.update(line)
        self._render_crumb()

    @staticmethod
    def _header_line(d: CustomerDetail, balance_label: str, limit_label: str,
                     channels_label: str) -> Text:
        style = "bold red" if d.available <= 0 else "bold"
        line = status_cell(d.status, d.archived_at is not None, long=True).copy()
        line.append(f" │ {balance_label} ", style="dim")
        line.append(present.money(d.balance, d.currency), style=style)
        if limit_label:
            line.append(f" │ {limit_label} ", style="dim")
            line.append(present.money(d.debit_limit))
        line.append(f" │ {channels_label} ", style="dim")
        line.append(present.channels(d.live_channels, d.channels))
        return line

    @work(group="balance", exclusive=True)
    async def _poll_balance(self) -> None:
        """Calls and jobs move the balance while the operator looks: read it again every
        few seconds (re-armed, never overlapping) while this screen is the one shown."""
        try:
            if self.app.screen is self and self.detail is not None:
                await self.refresh_balance()
        except (NotFound, StorageError):
            pass  # the next load says so; a poll stays quiet
        finally:
            self.set_timer(BALANCE_POLL_S, self._poll_balance)

    async def refresh_balance(self) -> None:
        """A payment moved the balance: read the customer again and redraw the header at
        once (the Payments tab awaits this after each change)."""
        detail = await self.app.services.customers.get(self.customer_id)
        if detail.id == self.customer_id and self.is_mounted:
            self.detail = detail
            self._render_header(detail)

    def show_live_channels(self, customer_id: int, live: int) -> None:
        """The Dialogs tab read `live` calls just now: the header says so too."""
        d = self.detail
        if d is not None and d.id == customer_id and d.live_channels != live:
            self.detail = d = replace(d, live_channels=live)
            self._render_header(d)

    def _render_crumb(self) -> None:
        g = present.glyphs()
        name = present.text(self.detail.name) if self.detail else g.ellipsis
        tab = dict(TABS)[self.active_tab]
        self.query_one("#crumb", Static).update(f"Customers {g.crumb} {name} {g.crumb} {tab}")

    @property
    def active_tab(self) -> str:
        active = self.query_one("#tabs", TabbedContent).active or "tab-main"
        return active.removeprefix("tab-")

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self._render_crumb()
        self._focus_tab(self.active_tab)

    def select_tab(self, key: str) -> None:
        self.query_one("#tabs", TabbedContent).active = f"tab-{key}"

    def action_goto(self, index: int) -> None:
        self.select_tab(TAB_KEYS[index])

    def action_tab(self, step: int) -> None:
        i = TAB_KEYS.index(self.active_tab)
        self.select_tab(TAB_KEYS[(i + step) % len(TAB_KEYS)])

    def tab_commands(self):
        return [(f"Go to tab: {label}", partial(self.select_tab, key), f"Show the {label} tab")
                for key, label in TABS] + [("Edit customer", self.action_edit,
                                            "Open the edit form")]

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.load()
        for tab in self.query(CustomerTab):
            tab.reload()
        self.app.flash("Refreshed")

    @work(group="customer-action")
    async def action_edit(self) -> None:
        try:
            detail = await self.app.services.customers.get(self.customer_id)
        except NotFound:
            return
        await self.app.edit_customer(detail, self)
        self.load()

    @work(group="customer-action")
    async def action_delete(self) -> None:
        if self.detail is None:
            return
        if self.detail.archived_at is not None:
            self.app.flash(f"{self.detail.name} is already archived")
            return
        done = await self.app.delete_customer(self.customer_id, self.detail.name, self,
                                              self.detail.live_channels)
        if done:
            self.app.pop_screen()
