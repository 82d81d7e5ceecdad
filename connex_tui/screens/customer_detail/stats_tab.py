"""Stats tab (docs/domain.md §9): a customer's KPIs over Live (the last 24 h), a day, a
week or a month (UTC), charts of attempts and ASR, the SIP codes and the top destinations.

`p` changes the period, `<` `>` move to the one before or after, `t` goes back to today.
Live reloads every few seconds on a re-armed timer (a load never overlaps the next one).
Everything comes from StatsService, which reads the rollups only. At 80x24 the tab scrolls.
The charts are Textual's Sparkline (docs/decisions.md, Stats): one bar per hour or day,
scaled from the period's smallest to its largest value, which the label gives.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Sparkline, Static

from connex_tui.data.access import StorageError
from connex_tui.engine.stats import (
    Period,
    StatsView,
    code_cells,
    destination_cells,
    kpi_cells,
    next_kind,
    period,
    shift,
    sip_name,
)
from connex_tui.screens.customer_detail.tab_base import CustomerTab
from connex_tui.widgets.glyphs import Chart

LIVE_EVERY = 5.0  # seconds between two loads of Live
WIDE = 104  # from this width: 4 KPI pairs a row, codes beside destinations


def kpi_grid(view: StatsView, per_row: int) -> Table:
    grid = Table.grid(padding=(0, 1))
    for _ in range(per_row):
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(no_wrap=True, min_width=14)
    cells = kpi_cells(view.summary, view.currency)
    for i in range(0, len(cells), per_row):
        row: list = []
        for label, value in cells[i:i + per_row]:
            row += [label, Text(value)]
        grid.add_row(*row)
    return grid


def codes_table(view: StatsView) -> Table | Text:
    rows = code_cells(view.summary)
    if not rows:
        return Text("No calls in this period", style="dim")
    t = Table(title="SIP codes", title_justify="left", box=None, padding=(0, 1),
              header_style="bold")
    t.add_column("Code")
    t.add_column("Reason", no_wrap=True, overflow="ellipsis", max_width=20)
    t.add_column("Count", justify="right")
    t.add_column("Share", justify="right")
    for code, n, pct in rows:
        t.add_row(code, sip_name(int(code)), n, pct)
    return t


def top_table(view: StatsView) -> Table | Text:
    if not view.top:
        return Text("")
    t = Table(title="Top destinations", title_justify="left", box=None, padding=(0, 1),
              header_style="bold")
    for label, right in (("Prefix", False), ("Destination", False), ("Attempts", True),
                         ("ASR", True), ("ACD", True), ("Charge", True)):
        t.add_column(label, justify="right" if right else "left", no_wrap=True,
                     overflow="ellipsis", max_width=22 if label == "Destination" else None)
    for d in view.top:
        t.add_row(*(Text(c) for c in destination_cells(d, view.currency)))
    return t


def axis(view: StatsView, per_point: int) -> str:
    """Hours (00..23) or days of the month under the chart's bars, where they fit."""
    every = 6 if view.period.hourly else max(1, -(-3 // per_point))
    out = ""
    for i, p in enumerate(view.series):
        if i % every == 0:
            label = f"{p.at:%H}" if view.period.hourly else f"{p.at:%d}"
            out = out.ljust(i * per_point) + label
    return out


def chart_label(what: str, values: list[float], view: StatsView, fmt) -> str:
    unit = "hour" if view.period.hourly else "day"
    if not any(values):
        return f"{what} per {unit} (UTC): none"
    return f"{what} per {unit} (UTC), {fmt(min(values))} to {fmt(max(values))}"


class StatsTab(CustomerTab):
    DEFAULT_CSS = """
    StatsTab #stats-bar { height: 1; padding: 0 1; background: $boost; }
    StatsTab #stats-body { height: 1fr; padding: 0 1; }
    StatsTab #stats-kpis { height: auto; margin-bottom: 1; }
    StatsTab .chart-label { height: 1; color: $text-muted; }
    StatsTab Sparkline { height: 2; width: auto; }
    StatsTab #chart-asr { height: 1; }
    /* one solid ANSI colour per chart: Sparkline's default fades its low bars to 30 % of
       $primary, which a 16-colour terminal draws as black on black */
    StatsTab #chart-attempts > .sparkline--min-color { color: $secondary; }
    StatsTab #chart-attempts > .sparkline--max-color { color: $secondary; }
    StatsTab #chart-asr > .sparkline--min-color { color: $success; }
    StatsTab #chart-asr > .sparkline--max-color { color: $success; }
    StatsTab #chart-axis { height: 1; color: $text-muted; margin-bottom: 1; }
    StatsTab #stats-tables { height: auto; }
    StatsTab.-wide #stats-tables { layout: horizontal; }
    StatsTab #stats-codes { height: auto; width: auto; margin-right: 2; margin-bottom: 1; }
    StatsTab #stats-top { height: auto; width: 1fr; }
    """
    BINDINGS = [
        # The footer shows p only (80 columns); the tab's top line lists < > and t, ? all.
        Binding("p", "next_period", "Period", id="stats.period",
                tooltip="Live, day, week, month"),
        Binding("less_than_sign", "move(-1)", "Earlier period", show=False,
                id="stats.prev"),
        Binding("greater_than_sign", "move(1)", "Later period", show=False, id="stats.next"),
        Binding("t", "today", "Today's period", show=False, id="stats.today"),
        Binding("r", "refresh", "Refresh", show=False, id="stats.refresh"),
    ]

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.period: Period | None = None
        self.view: StatsView | None = None
        self.loads = 0  # tests watch this
        self._timer = None

    def compose(self) -> ComposeResult:
        yield Static("", id="stats-bar")
        with VerticalScroll(id="stats-body"):
            yield Static("", id="stats-kpis")
            yield Static("", id="label-attempts", classes="chart-label")
            yield Chart([], id="chart-attempts")
            yield Static("", id="label-asr", classes="chart-label")
            yield Chart([], id="chart-asr")
            yield Static("", id="chart-axis")
            with Vertical(id="stats-tables"):
                yield Static("", id="stats-codes")
                yield Static("", id="stats-top")

    def on_resize(self) -> None:
        wide = self.size.width >= WIDE
        if wide != self.has_class("-wide"):
            self.set_class(wide, "-wide")
            if self.view is not None:
                self._paint(self.view)

    def on_show(self) -> None:
        self.call_after_refresh(self._take_focus)
        if self.view is not None and self.period and self.period.kind == "live":
            self.reload()  # it did not tick while hidden

    def _take_focus(self) -> None:
        focused = self.screen.focused
        if self.display and (focused is None or self not in focused.ancestors):
            self.query_one("#stats-body").focus()

    # -- loading ----------------------------------------------------------------------------
    def show_customer(self, customer_id: int) -> None:
        if customer_id != self.customer_id:
            self.period = None  # another customer starts at Live
            self.view = None
        super().show_customer(customer_id)

    def reload(self) -> None:
        if self.customer_id is None:
            return
        if self.period is None or self.period.kind == "live":  # Live: the 24 h up to now
            self.period = period("live", self.app.clock())
        self._show_bar()
        self._load()

    @work(group="stats-load", exclusive=True)
    async def _load(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        cid, p = self.customer_id, self.period
        try:
            view = await self.app.services.stats.view(cid, p)
        except StorageError as exc:
            self.app.flash(escape(f"Stats not loaded, press r to retry: {exc}"), error=True)
            return
        if (cid, p) != (self.customer_id, self.period):
            return  # moved on meanwhile: that load is on its way
        self.view = view
        self._paint(view)
        self.loads += 1
        if p.kind == "live":  # re-armed after each load: two never overlap
            self._timer = self.set_timer(LIVE_EVERY, self._tick)

    def _tick(self) -> None:
        self._timer = None
        screen = self.screen
        if self.is_attached and getattr(screen, "active_tab", None) == "stats" \
                and screen.is_current and self.period and self.period.kind == "live":
            self.reload()

    # -- painting ---------------------------------------------------------------------------
    def _show_bar(self) -> None:
        p = self.period
        if p is None:
            return
        hint = "p period" if p.kind == "live" else "< > move · t today · p period"
        self.query_one("#stats-bar", Static).update(
            Text.assemble((f"{p.label} (UTC)", "bold"), ("  ·  " + hint, "dim")))

    def _paint(self, view: StatsView) -> None:
        wide = self.size.width >= WIDE
        self.query_one("#stats-kpis", Static).update(
            kpi_grid(view, 4 if wide else 3))
        attempts = [p.attempts for p in view.series]
        asr = [p.asr for p in view.series]
        room = max(len(view.series), self.size.width - 4)
        per_point = max(1, min(8, room // max(1, len(view.series))))
        for key, values, what, fmt in (
                ("attempts", attempts, "Attempts", lambda v: f"{v:,}"),
                ("asr", asr, "ASR %", lambda v: f"{v:.1f}")):
            self.query_one(f"#label-{key}", Static).update(
                chart_label(what, values, view, fmt))
            chart = self.query_one(f"#chart-{key}", Sparkline)
            # each value `per_point` times, in exactly as many cells: one bar is always
            # equally wide (Sparkline spreads fewer values over more cells unevenly)
            chart.styles.width = len(values) * per_point
            chart.data = [v for v in values for _ in range(per_point)]
        self.query_one("#chart-axis", Static).update(axis(view, per_point))
        self.query_one("#stats-codes", Static).update(codes_table(view))
        self.query_one("#stats-top", Static).update(top_table(view))

    # -- actions ----------------------------------------------------------------------------
    def _go(self, p: Period | None, why: str) -> None:
        if p is None:
            self.app.flash(why)
            return
        self.period = p
        self.reload()

    def action_move(self, step: int) -> None:
        if self.period is None:
            return
        if self.period.kind == "live":
            self.app.flash("Live is the last 24 hours: p picks a day, week or month")
            return
        self._go(shift(self.period, step, self.app.clock()), "That period has not begun yet")

    def action_today(self) -> None:
        if self.period is not None:
            self._go(period(self.period.kind, self.app.clock()), "")

    def action_next_period(self) -> None:
        if self.period is not None:
            kind = next_kind(self.period.kind)
            self._go(period(kind, self.app.clock(), self.period.anchor), "")

    def action_refresh(self) -> None:
        self.reload()
        self.app.flash("Stats refreshed")
