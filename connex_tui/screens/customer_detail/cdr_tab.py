"""CDR tab (docs/domain.md §7): the customer's CDRs one UTC day at a time.

`<` `>` move a day, `t` goes to today, `d` to a date; `f` cycles all / answered / failed,
`s` filters by SIP code, `/` searches a number or call id as you type. Rows are read a page
at a time (keyset, data/cdrs.py) as the cursor nears the last one. `enter` shows every field
of a CDR, `x` writes what is shown (the whole day under the filters) to a CSV file, `c`
recalculates (admin), `h` lists the recalcs done. The table is the Calls tab's (same
columns, widths and cells).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

from connex_tui.data.access import NotFound, StorageError
from connex_tui.data.cdrs import MAX_QUERY, OUTCOMES, CdrFilter, CdrRecord
from connex_tui.data.recalc import RecalcHistoryRow
from connex_tui.engine import present
from connex_tui.engine.cdr_fields import EXPORT_FIELDS, export_values
from connex_tui.engine.days import parse_day, step_day
from connex_tui.engine.recalc import summary_lines
from connex_tui.engine.validation import ValidationError
from connex_tui.screens.customer_detail.calls_tab import CallTableTab, cells, column_widths
from connex_tui.screens.dialogs.recalc import (
    RECALC_FIELDS,
    RecalcProgressScreen,
    parse_request,
)
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable
from connex_tui.widgets.text_view import TextScreen

NEAR_END = 10  # rows from the last loaded one at which the next page is read
# every key of the tab on one line of 80 columns (the footer has room for one of them)
HINT = "<> day  t today  d date  f outcome  s SIP code  / find  x CSV  c recalc  h log"


class RecalcForm(FormScreen):
    """The recalc form: its submit shows a preview, it saves nothing."""

    BINDINGS = [Binding("ctrl+s", "save", "Preview", id="recalc.preview", priority=True)]
    SUBMIT = "Preview"
    KEYS = "ctrl+s preview · esc cancel"
    REFUSED = "No preview"


class AskScreen(FormScreen):
    """A one-field question (a date, a SIP code, a file name): enter answers it."""

    SUBMIT = "OK"
    KEYS = "enter ok · esc cancel"
    ENTER_SUBMITS = True


def detail_lines(r: CdrRecord, currency: str = "") -> list[str]:
    """Every field of a CDR, export names and values (TextScreen escapes them)."""
    values = dict(zip(EXPORT_FIELDS, export_values(r), strict=True))
    for money in ("rate", "connect_fee", "charge", "provider_cost"):
        values[money] = f"{values[money]} {currency}".strip()
    shown = {}
    for name, v in values.items():
        if name != "free_s":
            shown[name] = v
        if name == "charge":  # the free seconds under the charge they lowered
            shown["free_s"] = values["free_s"]
    shown["switch_ip"], shown["route"] = r.switch_ip, r.route_id
    return [f"{name:<15}{'-' if v in (None, '') else v}" for name, v in shown.items()]


def history_lines(rows: list[RecalcHistoryRow], currency: str) -> list[str]:
    if not rows:
        return ["No recalc has been run for this customer."]
    out = []
    for h in rows:
        span = f"{h.first}" if h.first == h.last else f"{h.first}..{h.last}"
        out.append(f"#{h.id} {h.at:%Y-%m-%d %H:%M} UTC by {h.operator}: {span}, {h.what}"
                   f" [{h.status}]")
        out.append(f"    {h.calls:,} calls, {present.money(h.old_total, currency, 4)} "
                   f"{present.glyphs().arrow} "
                   f"{present.money(h.new_total, currency, 4)}"
                   + (f", {h.skipped:,} skipped" if h.skipped else ""))
    return out


class CdrTab(CallTableTab):
    DEFAULT_CSS = """
    CdrTab #cdr-bar { height: 1; }
    CdrTab #cdr-day { width: auto; padding: 0 1 0 0; text-style: bold; }
    CdrTab #cdr-search { width: 1fr; }
    CdrTab #cdr-count { width: auto; min-width: 10; padding: 0 1; color: $text-muted; }
    CdrTab #cdr-hint, CdrTab #cdr-last { height: 1; color: $text-muted; }
    CdrTab #cdr { height: 1fr; }
    """
    TABLE_ID = "cdr"
    SEARCH_ID = "cdr-search"
    BINDINGS = [
        Binding("c", "recalc", "Recalc", id="cdr.recalc"),
        # the rest stay out of the footer (80 columns): the hint line names them, ? lists them
        Binding("x", "export", "Export CSV", show=False, id="cdr.export"),
        Binding("less_than_sign,comma", "day(-1)", "Previous day", show=False,
                id="cdr.prev_day"),
        Binding("greater_than_sign,full_stop", "day(1)", "Next day", show=False,
                id="cdr.next_day"),
        Binding("t", "today", "Today", show=False, id="cdr.today"),
        Binding("d", "goto_day", "Go to date", show=False, id="cdr.goto_day"),
        Binding("f", "outcome", "Answered / failed / all", show=False, id="cdr.outcome"),
        Binding("s", "sip_code", "SIP code filter", show=False, id="cdr.sip_code"),
        Binding("slash", "search", "Search", show=False, id="cdr.search"),
        Binding("h", "history", "Recalc history", show=False, id="cdr.history"),
        Binding("r", "refresh", "Refresh", show=False, id="cdr.refresh"),
        Binding("j", "cursor(1)", "Down", show=False, id="cdr.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="cdr.up"),
    ]

    def __init__(self, *, id: str | None = None):
        super().__init__(id=id)
        self.day: date | None = None
        self.outcome = "all"
        self.sip_code: int | None = None
        self.rows: list[CdrRecord] = []
        self.more = False
        self._gen = 0  # bumped by every new view: an older read is dropped
        self._paging = False
        self.loads = 0  # tests watch these
        self.pages = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="cdr-bar"):
            yield Static("", id="cdr-day", markup=False)
            search = Input(placeholder="/ search number or call id", id="cdr-search",
                           compact=True, max_length=MAX_QUERY)
            search.cursor_blink = False
            yield search
            yield Static("", id="cdr-count", markup=False)
        yield Static(HINT, id="cdr-hint", markup=False)
        yield DataTable(id="cdr", cursor_type="row", zebra_stripes=True)
        yield Static("", id="cdr-last", markup=False)

    def on_resize(self) -> None:
        widths = column_widths(self.size.width)
        if widths != self.widths:
            self._set_columns(widths)
            for r in self.rows:
                self.table.add_row(*cells(r, self.widths), key=str(r.id))

    @property
    def filter(self) -> CdrFilter:
        query = self.search.value.strip()[:MAX_QUERY]
        return CdrFilter(self.outcome, self.sip_code, query)

    @property
    def currency(self) -> str:
        detail = getattr(self.screen, "detail", None)
        return detail.currency if detail is not None and detail.id == self.customer_id else ""

    @property
    def customer_name(self) -> str:
        detail = getattr(self.screen, "detail", None)
        return detail.name if detail is not None and detail.id == self.customer_id else ""

    # -- loading ----------------------------------------------------------------------------
    def show_customer(self, customer_id: int) -> None:
        if customer_id != self.customer_id and self.is_mounted:
            self.search.value = ""
            self.outcome, self.sip_code = "all", None
        super().show_customer(customer_id)

    def reload(self) -> None:
        if self.customer_id is None:
            return
        if self.day is None:
            self.day = self.app.clock().date()
        self._gen += 1
        self.rows, self.more = [], False
        self.table.clear()
        self._show_bar(f"loading{present.glyphs().ellipsis}")
        self._load_first(self._gen)
        self._load_history()

    def _show_bar(self, count: str) -> None:
        self.query_one("#cdr-day", Static).update(f"< {self.day:%a %Y-%m-%d} UTC >")
        f = self.filter
        # the search is left out: the box beside shows it (a long one repeated here
        # squeezed the box to nothing)
        what = CdrFilter(f.outcome, f.sip_code).describe() if (
            f.outcome != "all" or f.sip_code is not None) else ""
        self.query_one("#cdr-count", Static).update(
            present.text(" · ".join(p for p in (what, count) if p)))

    @work(group="cdr-load")
    async def _load_first(self, gen: int) -> None:
        try:
            page = await self.app.services.cdrs.page(self.customer_id, self.day, self.filter)
        except StorageError as exc:
            self.app.flash(escape(f"Not loaded, press r to retry: {exc}"), error=True)
            return
        except ValueError as exc:  # a filter the data layer refuses
            self.app.flash(escape(str(exc)), error=True)
            return
        if gen != self._gen:
            return
        self.table.clear()
        self.rows = []
        self._append(page.rows, page.more)
        if self.rows:
            self.table.move_cursor(row=0, animate=False)
        self.loads += 1

    def _append(self, rows: list[CdrRecord], more: bool) -> None:
        t = self.table
        for r in rows:
            t.add_row(*cells(r, self.widths), key=str(r.id))
        self.rows += rows
        self.more = more
        self.pages += 1
        n = len(self.rows)
        if n:
            count = f"{n:,}{'+' if more else ''} call{'s' if n != 1 or more else ''}"
        else:
            count = "no calls this day"
        self._show_bar(count)

    @work(group="cdr-page")
    async def _load_more(self, gen: int) -> None:
        if self._paging or not self.more or not self.rows:
            return
        self._paging = True
        try:
            page = await self.app.services.cdrs.page(self.customer_id, self.day, self.filter,
                                                     after=self.rows[-1].key)
            if gen == self._gen:
                self._append(page.rows, page.more)
        except StorageError as exc:
            self.app.flash(escape(f"Next page not loaded: {exc}"), error=True)
        finally:
            self._paging = False

    @work(group="cdr-history", exclusive=True)
    async def _load_history(self) -> None:
        try:
            rows = await self.app.services.recalc.history(self.customer_id, limit=1)
        except StorageError:
            return
        last = self.query_one("#cdr-last", Static)
        if not rows:
            last.update("No recalc yet · c recalculates (admin) · h lists recalcs")
            return
        h = rows[0]
        cur = self.currency
        last.update(f"Last recalc #{h.id} {h.at:%m-%d %H:%M} by {present.text(h.operator)}: "
                    f"{h.calls:,} "
                    f"calls {present.money(h.old_total, cur, 4)} {present.glyphs().arrow} "
                    f"{present.money(h.new_total, cur, 4)} [{h.status}] · h all")

    @on(DataTable.RowHighlighted, "#cdr")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.more and event.cursor_row >= len(self.rows) - NEAR_END:
            self._load_more(self._gen)

    @on(DataTable.RowSelected, "#cdr")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.rows):
            self._open(self.rows[event.cursor_row])

    @work(group="cdr-open", exclusive=True)
    async def _open(self, row: CdrRecord) -> None:
        try:
            full = await self.app.services.cdrs.detail(row.id)
        except (StorageError, NotFound) as exc:  # gone since: say so
            self.app.flash(escape(str(exc)), error=True)
            return
        self.app.push_screen(TextScreen(f"CDR {full.call_id}",
                                        detail_lines(full, self.currency)))

    # -- search -----------------------------------------------------------------------------
    @on(Input.Changed, "#cdr-search")
    def _search_changed(self) -> None:
        self.reload()

    # -- actions ----------------------------------------------------------------------------
    def action_day(self, step: int) -> None:
        if self.day is not None:
            today = self.app.clock().date()
            if step > 0 and self.day >= today:  # no CDR is dated after today (as Stats)
                self.app.flash(f"No CDRs after today, {today}", error=True)
                return
            day = step_day(self.day, step)
            if day is None:  # year 1 - 1 day overflowed: the app ended with a traceback
                self.app.flash(f"No day {'before' if step < 0 else 'after'} {self.day}",
                               error=True)
                return
            self.day = day
            self.reload()

    def action_today(self) -> None:
        self.day = self.app.clock().date()
        self.reload()

    def action_outcome(self) -> None:
        self.outcome = OUTCOMES[(OUTCOMES.index(self.outcome) + 1) % len(OUTCOMES)]
        self.reload()
        self.app.flash(f"Showing {self.filter.describe()}")

    def action_refresh(self) -> None:
        self.reload()
        self.app.flash("CDRs refreshed")

    def action_goto_day(self) -> None:
        async def save(raw: dict[str, Any]) -> date:
            try:
                return parse_day(str(raw["day"]))
            except ValueError as exc:
                raise ValidationError({"day": str(exc)}) from None

        def done(day: date | None) -> None:
            if day is not None:
                self.day = day
                self.reload()

        spec = FieldSpec("day", "Day (UTC)", placeholder="YYYY-MM-DD")
        self.app.push_screen(AskScreen("Go to date", [spec], {"day": str(self.day or "")},
                                       save), done)

    def action_sip_code(self) -> None:
        async def save(raw: dict[str, Any]) -> tuple[int | None]:
            text = str(raw["code"]).strip()
            if not text:
                return (None,)
            if not (text.isascii() and text.isdigit() and 100 <= int(text) <= 699):
                raise ValidationError({"code": "a SIP code 100..699, or empty for any"})
            return (int(text),)

        def done(code: tuple[int | None] | None) -> None:
            if code is not None:
                self.sip_code = code[0]
                self.reload()

        spec = FieldSpec("code", "SIP code", placeholder="e.g. 486; empty: any")
        self.app.push_screen(AskScreen("Filter by SIP code", [spec],
                                       {"code": str(self.sip_code or "")}, save), done)

    def action_export(self) -> None:
        if self.customer_id is None or self.day is None:
            return
        cid, day, f = self.customer_id, self.day, self.filter
        name = "".join(ch if ch.isalnum() else "-" for ch in self.customer_name)[:40] or str(cid)

        async def save(raw: dict[str, Any]) -> tuple[int, str]:
            from connex_tui.feeds.cdr_export import export_cdrs
            from connex_tui.feeds.export_file import open_export

            path = str(raw["path"]).strip()
            if not path or not path.isprintable() or len(path) > 4096:
                raise ValidationError({"path": "a file name, printable characters only"})
            path = str(Path(path).expanduser())
            try:
                with open_export(path) as out:
                    n = await export_cdrs(self.app.services.cdrs, cid, day, day, out, "csv", f)
            except OSError as exc:
                raise ValidationError({"path": f"cannot write: {exc.strerror}"}) from None
            return n, path

        def done(result: tuple[int, str] | None) -> None:
            if result is not None:
                self.app.flash(escape(f"{result[0]:,} CDRs written to {result[1]}"))

        spec = FieldSpec("path", "CSV file", help=f"{day} UTC, {f.describe()}")
        self.app.push_screen(AskScreen("Export CDRs to CSV", [spec],
                                       {"path": f"cdr-{name}-{day}.csv"}, save), done)

    @work(group="cdr-history-view", exclusive=True)
    async def action_history(self) -> None:
        if self.customer_id is None:
            return
        try:
            rows = await self.app.services.recalc.history(self.customer_id)
        except StorageError as exc:
            self.app.flash(escape(str(exc)), error=True)
            return
        self.app.push_screen(TextScreen(f"Recalcs of {self.customer_name}",
                                        history_lines(rows, self.currency)))

    def action_recalc(self) -> None:
        if self.customer_id is None or self.day is None:
            return
        if self.app.actor.role != "admin":
            self.app.flash(escape(f"Recalc needs the admin role; {self.app.actor.name} is "
                                  f"{self.app.actor.role}"), error=True)
            return
        cid = self.customer_id
        svc = self.app.services.recalc

        async def preview(raw: dict[str, Any]):
            first, last, spec = parse_request(raw)
            return first, last, spec, await svc.preview(cid, first, last, spec)

        def confirm(got) -> None:
            if got is None:
                return
            first, last, spec, p = got
            if not p.calls:
                self.app.flash("No calls to recalculate in that range")
                return
            span = f"{first}" if first == last else f"{first}..{last}"
            message = "\n".join([f"{span} UTC, {spec.describe()}", "",
                                 *summary_lines(p.calls, p.changed, p.skipped, p.old_total,
                                                p.new_total, p.currency), "",
                                 "Old charges are refunded and new ones debited."])

            def go(yes: bool | None) -> None:
                if yes:
                    self._run_recalc(first, last, spec, span)

            self.app.push_screen(ConfirmScreen(
                f"Recalculate {p.calls:,} call{'s' if p.calls != 1 else ''}?",
                escape(message), yes="Recalculate", no="Cancel"), go)

        day = str(self.day)
        self.app.push_screen(reusable(
            self.app, "cdr-recalc", "Recalc CDRs", RECALC_FIELDS,
            {"first": day, "last": day, "release_reason": "", "min_duration": "",
             "new_duration": ""}, preview, mode=RecalcForm), confirm)

    def _run_recalc(self, first: date, last: date, spec, span: str) -> None:
        cid = self.customer_id
        svc = self.app.services.recalc

        async def run(progress, cancelled):
            return await svc.run(cid, first, last, spec, progress=progress,
                                 cancelled=cancelled)

        def done(summary) -> None:
            self.reload()
            if summary is None:
                return
            cur = self.currency
            self.app.flash(escape(
                f"Recalc #{summary.run_id} {summary.status}: {summary.changed:,} CDRs "
                f"corrected, {present.money(summary.old_total, cur, 4)} "
                f"{present.glyphs().arrow} "
                f"{present.money(summary.new_total, cur, 4)}"))

        self.app.push_screen(RecalcProgressScreen(f"Recalculating {span} UTC", run), done)

