"""Payments tab (docs/domain.md §8): the customer's payments newest first with the totals
of the completed ones (to the cent: tax makes micro-units; `enter` shows them exactly), `a` add, `e` edit (description, fee, status), `enter` every field,
`c` complete a pending payment, `x` (or ctrl+d) cancel one after a confirm, `b` the balance
history. Nothing is ever deleted: a completed payment is reversed by a cancelling ledger
entry. After every change the header's balance is read again at once.
"""

from __future__ import annotations

from contextlib import suppress

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.markup import escape
from textual.widgets import DataTable

from connex_tui.data.access import NotFound, PermissionDenied, StaleError, StorageError
from connex_tui.engine import present
from connex_tui.engine.validation import ValidationError
from connex_tui.screens.customer_detail.pane_tab import Opening, Pane, PaneTab, Saved
from connex_tui.screens.dialogs.payment_form import payment_form
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.row_table import Column
from connex_tui.widgets.text_view import TextScreen

STATUS_STYLE = {"completed": "", "pending": "yellow", "cancelled": "dim strike"}


def payment_label(payment_id: int) -> str:
    return f"Payment {payment_id}"


def detail_lines(r, currency: str) -> list[str]:
    """Every field of a payment, the private note too (operators only)."""
    m = present.money
    return [f"Date        {r.paid_at:%Y-%m-%d %H:%M} UTC",
            f"Description {r.public or '-'}",
            f"Private     {r.note or '-'}",
            f"Amount      {m(r.amount, currency)} (gross)",
            f"Tax         {m(r.tax, currency)}",
            f"Net         {m(r.net, currency)}"
            + (" (credited)" if r.status == "completed" else ""),
            f"Fee         {m(r.fee, currency)} (for reference)",
            f"Status      {r.status}"]


class PaymentsPane(Pane):
    key = "payments"
    title = "Payments"
    empty = "No payments: press a to add one (completed ones are credited at once)"
    columns = (Column("Date", 10), Column("Description", 13), Column("Amount", 10, right=True),
               Column("Tax", 8, right=True), Column("Net", 10, right=True),
               Column("Fee", 6, right=True), Column("Status", 9))

    def __init__(self, tab: PaneTab):
        super().__init__(tab)
        self.page = None  # the PaymentPage last shown: its totals and currency

    @property
    def currency(self) -> str:
        return self.page.currency if self.page is not None else ""

    def cells(self, r):
        m = present.money_rounded  # to the cent; enter shows the exact micro-units
        return (f"{r.paid_at:%Y-%m-%d}", present.clip(r.public, 13), m(r.amount), m(r.tax),
                m(r.net), m(r.fee), Text(r.status, style=STATUS_STYLE.get(r.status, "")))

    def label(self, r) -> str:
        return payment_label(r.id)

    async def rows(self):
        self.page = await self.services.payments.page(self.customer_id)
        return list(self.page.rows)

    def note(self, rows: list) -> str:
        if self.page is None:
            return ""
        t, cur, m = self.page.totals, self.page.currency, present.money_rounded
        out = f"completed {m(t.amount, cur)}, net {m(t.net)}"
        if self.page.total > len(rows):  # the totals are of all of them
            out = f"newest {len(rows)} of {self.page.total:,}; {out}"
        if t.pending:
            out += f"; pending {m(t.pending)}"
        return out

    async def fetch(self, row_id: int):
        return await self.services.payments.get(row_id)

    async def form(self, row):
        svc = self.services.payments
        customer_id = self.customer_id

        async def save(raw) -> Saved:
            # the header is redrawn before the form closes: one frame shows both
            if row is None:
                pid = await svc.add(customer_id, raw)
                await self.tab.refresh_balance()
                return Saved(pid, f"{payment_label(pid)} added")
            await svc.update(row.id, row.version, raw)
            await self.tab.refresh_balance()
            return Saved(row.id, f"{payment_label(row.id)} saved")

        return payment_form(self.tab.app, None if row is None else row.form_values(),
                            self.currency, save, None if row is None else row.id)


class PaymentsTab(PaneTab):
    PANES = (PaymentsPane,)
    BINDINGS = [
        Binding("a", "add", "Add", id="payments.add"),
        Binding("e", "edit", "Edit", id="payments.edit", show=False,
                tooltip="Edit description, fee or status"),
        Binding("c", "set_status('completed')", "Complete", id="payments.complete"),
        Binding("x,ctrl+d,delete", "set_status('cancelled')", "Cancel",
                id="payments.cancel", tooltip="Cancel the payment (never deleted)"),
        Binding("b", "history", "History", id="payments.history",
                tooltip="Balance history: ledger entries with the running balance"),
    ]

    @property
    def pane(self) -> PaymentsPane:
        return self.panes[0]

    async def refresh_balance(self) -> None:
        """The header shows the new balance at once (the list's Credit follows on return)."""
        refresh = getattr(self.screen, "refresh_balance", None)
        if refresh is not None:
            with suppress(NotFound, StorageError):  # the tab's reload says what failed
                await refresh()

    @on(DataTable.RowSelected)
    def _open_detail(self, event: DataTable.RowSelected) -> None:
        event.stop()
        event.prevent_default()  # enter shows the payment; e edits it
        row = self.table(self.pane).current
        if row is not None:
            self.app.push_screen(TextScreen(payment_label(row.id),
                                            detail_lines(row, self.pane.currency)))

    def action_set_status(self, status: str) -> None:
        row = self.current(self.pane)
        if row is None:
            return
        if status == "completed" and row.status != "pending":
            self.app.flash(f"{payment_label(row.id)} is {row.status}: only a pending payment "
                           "can be completed", error=True)
            return
        if status == "cancelled" and row.status == "cancelled":
            self.app.flash(f"{payment_label(row.id)} is cancelled already", error=True)
            return
        if cover := self._start("write"):
            self._set_status(cover, row, status)

    @work(group="pane-action")
    async def _set_status(self, cover: Opening, row, status: str) -> None:
        async with self._covered(cover):
            cur = self.pane.currency
            label = payment_label(row.id)
            if status == "completed":
                title, yes = f"Complete {label}?", "Complete"
                note = f"{present.money(row.net, cur)} is credited to the balance now."
            else:
                title, yes = f"Cancel {label}?", "Cancel payment"
                note = (f"A cancelling entry debits {present.money(row.net, cur)} back; "
                        "the payment stays, marked cancelled, and this is final."
                        if row.status == "completed" else
                        "No money moves; the payment stays, marked cancelled, and this is "
                        "final.")
            if not await self.show(cover, ConfirmScreen(title, escape(note), yes=yes,
                                                        no="Keep")):
                return
            try:
                await self.app.services.payments.set_status(row.id, row.version, status)
            except StaleError:
                self.app.flash(f"{label} was changed by someone else: shown again, try "
                               "once more", error=True)
            except ValidationError as exc:
                self.app.flash(escape("; ".join(exc.errors.values())), error=True)
            except (PermissionDenied, NotFound) as exc:
                self.app.flash(escape(str(exc)), error=True)
            else:
                self.app.flash(f"{label} {status}")
                await self.refresh_balance()
            self.reload({self.pane.key: row.id})

    def action_history(self) -> None:
        if self.customer_id is not None:
            from connex_tui.screens.customer_detail.balance_history import (
                BalanceHistoryScreen,
            )

            name = getattr(getattr(self.screen, "detail", None), "name", "")
            self.app.push_screen(BalanceHistoryScreen(self.customer_id, name))
