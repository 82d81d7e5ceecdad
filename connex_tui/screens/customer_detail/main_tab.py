"""Main tab: the customer's details, traffic summary, contacts and audit history."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from connex_tui.data.audit import AuditRow
from connex_tui.data.customers import CustomerDetail
from connex_tui.engine import present
from connex_tui.engine.clock import relative
from connex_tui.engine.stats import Summary, fmt_mss, fmt_pct
from connex_tui.screens.customer_detail.audit_text import audit_sentence
from connex_tui.screens.customer_detail.contacts_section import ContactsSection
from connex_tui.widgets.cells import status_cell
from connex_tui.widgets.text_view import TextScreen


def _when(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "-"


def _full(value) -> str:
    return present.glyphs().empty if value in (None, "") else str(value)


def _short(value, width: int = 24) -> str:
    """One line of a value, escaped and clipped; an empty one shows as the empty mark."""
    if value in (None, ""):
        return present.glyphs().empty
    return present.clip(present.one_line(value), width)




def summary_grid(rows: list[tuple[str, Summary]], currency: str) -> Table:
    """Live / Today / Month (docs/domain.md §9) in one table: money rounded to cents (the
    Stats tab shows it exact), durations in hours."""
    grid = Table(box=None, padding=(0, 0, 0, 1), pad_edge=False, header_style="dim")
    # the first header names the currency of the money columns (80 columns: short labels)
    for i, label in enumerate((present.text(currency) or "Traffic", "Attempts", "Conn.",
                               "ASR", "ACD", "Dur.h", "Bill.h", "Charge", "Profit",
                               "Profit%")):
        grid.add_column(label, justify="right" if i else "left", no_wrap=True)
    for label, s in rows:
        grid.add_row(Text(label, style="dim"), f"{s.attempts:,}", f"{s.connected:,}",
                     fmt_pct(s.asr), fmt_mss(s.acd_s), present.hours(s.duration_s),
                     present.hours(s.billed_s), present.money_rounded(s.charge),
                     present.money_rounded(s.profit), fmt_pct(s.profit_percent))
    return grid


class MainTab(VerticalScroll):
    """Scrolls when its sections do not fit (80x24): the focused table is scrolled in."""

    can_focus = False  # tab moves between the contacts and the history, not to the scroll
    DEFAULT_CSS = """
    MainTab { height: 1fr; scrollbar-size-vertical: 1; }
    MainTab #details { height: auto; padding: 0 1; }
    MainTab #summary { height: auto; padding: 0 1; }  /* no margins: 80x24 is full */
    MainTab #audit-title { text-style: bold; padding: 0 1; }
    MainTab #audit { height: 1fr; min-height: 6; }
    """

    history: list[AuditRow] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="details")
        yield Static("", id="summary")
        yield ContactsSection(id="contacts-section")
        yield Static("History (audit log) · enter shows a change in full · e edit customer",
                     id="audit-title")
        yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#audit", DataTable).add_columns("When (UTC)", "Who", "What")

    def clear(self) -> None:
        self.query_one("#details", Static).update("")
        self.query_one("#summary", Static).update("")
        self.query_one("#audit", DataTable).clear()

    def show(self, d: CustomerDetail, history: list[AuditRow], now) -> None:
        grid = Table.grid(padding=(0, 1), expand=True)
        for _ in range(2):
            grid.add_column(style="dim", no_wrap=True)
            grid.add_column(ratio=1, overflow="ellipsis", no_wrap=True)
        pairs = [
            ("Name", d.name), ("Status", status_cell(d.status, d.archived_at is not None,
                                                     long=True)),
            ("Currency", d.currency), ("Debit limit", present.money(d.debit_limit, d.currency)),
            ("Balance", present.money(d.balance, d.currency)),
            ("Available", present.money(d.available, d.currency)),
            ("Tax", f"{d.tax_percent.normalize():f} %"), ("Portal", "yes" if d.portal_access
                                                          else "no"),
            ("Channels", f"{d.live_channels} live / {d.channels or 'unlimited'}"),
            ("Flow speed", f"{d.flow_speed or 'unlimited'} cps"),
            ("PayPal", d.paypal_email or "-"), ("Website", d.website or "-"),
            ("Last call", relative(d.last_call_at, now)), ("Created", _when(d.created_at)),
            ("Address", _short(d.address, 40) if d.address else "-"),
            ("Public note", _short(d.notes_public, 40) if d.notes_public else "-"),
            ("Private note", _short(d.notes_private, 40) if d.notes_private else "-"),
        ]
        if d.archived_at:
            pairs.append(("Archived", _when(d.archived_at)))
        # Text, not str: a Table reads a str as markup; every value is escaped.
        pairs = [(label, value if isinstance(value, Text) else Text(present.text(value)))
                 for label, value in pairs]
        for i in range(0, len(pairs), 2):
            (l1, v1), (l2, v2) = pairs[i], pairs[i + 1] if i + 1 < len(pairs) else ("", "")
            grid.add_row(l1, v1, l2, v2)
        body = Table.grid(expand=True)
        body.add_column()
        body.add_row(grid)
        if not d.has_auth or not d.has_route:
            missing = " and no ".join(w for w, ok in (("ingress authentication", d.has_auth),
                                                      ("enabled ingress route", d.has_route))
                                      if not ok)
            body.add_row(Text(f"! No {missing}: this customer cannot place calls.",
                              style="bold yellow"))
        self.query_one("#details", Static).update(body)
        table = self.query_one("#audit", DataTable)
        table.clear()
        self.history = history
        who_w = max((len(h.operator) for h in history), default=3)
        # the sentence is cut to the screen (enter shows it whole), never scrolled sideways
        room = max(20, self.app.size.width - 16 - who_w - 7)
        for h in history:
            # Text, not str: DataTable reads a str as markup ("[/]" in a CLI regex crashes)
            what = present.clip(audit_sentence(h), room)
            table.add_row(_when(h.at), Text(present.text(h.operator)), Text(what, no_wrap=True))

    def show_summary(self, rows: list[tuple[str, Summary]], currency: str) -> None:
        self.query_one("#summary", Static).update(summary_grid(rows, currency))

    @on(DataTable.RowSelected, "#audit")
    def _open_entry(self, event: DataTable.RowSelected) -> None:
        h = self.history[event.cursor_row]
        arrow = present.glyphs().arrow
        lines = [f"{k}: {_full(b)} {arrow} {_full(a)}" for k, (b, a) in h.changes.items()]
        self.app.push_screen(TextScreen(  # TextScreen escapes what it shows
            f"{_when(h.at)} UTC · {h.operator} · {audit_sentence(h)}",
            lines or ["(no field changed)"]))
