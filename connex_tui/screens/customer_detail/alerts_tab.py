"""Alerts tab (docs/domain.md §10): the customer's alerts, and the history of their events
(firings, re-arms, penalties ending) under them.

`a` / `e` / `ctrl+d` add, edit and delete an alert; `t` tests the selected one: what it
would do now (its value, the decision, the mail), without doing it.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.markup import escape

from connex_tui.data.access import NotFound, StorageError
from connex_tui.engine.alerts import MONEY_AREAS, report_lines
from connex_tui.engine.present import clip
from connex_tui.screens.customer_detail.pane_tab import (
    Opening,
    Pane,
    PaneTab,
    Saved,
    pane_bindings,
)
from connex_tui.screens.dialogs.alert_form import alert_form, alert_label
from connex_tui.widgets.row_table import Column
from connex_tui.widgets.text_view import TextScreen

STATE_STYLE = {"ready": "", "fired": "bold yellow", "penalty": "bold red"}


def _when(at) -> str:
    return f"{at:%m-%d %H:%M}" if at else "-"


class AlertsPane(Pane):
    key = "alerts"
    title = "Alerts"
    empty = "No alerts: press a to add one (low balance, ASR, ...)"
    columns = (Column("Title", 20), Column("Condition", 22), Column("State", 7),
               Column("Repeat", 6), Column("Last fired", 11))

    def cells(self, r):
        state = Text(r.state if r.enabled else "off",
                     style=STATE_STYLE.get(r.state, "") if r.enabled else "dim")
        return (clip(r.title, 20), clip(r.condition, 22), state, r.repeat,
                _when(r.last_fired_at))

    def label(self, r) -> str:
        return alert_label(r.title)

    async def rows(self):
        return await self.services.alerts.alerts(self.customer_id)

    async def fetch(self, row_id: int):
        return await self.services.alerts.get(row_id)

    async def form(self, row):
        svc = self.services.alerts
        customer_id = self.customer_id

        async def save(raw):
            label = alert_label(str(raw.get("title", "")).strip())
            if row is None:
                return Saved(await svc.create(customer_id, raw), f"{label} added")
            await svc.update(row.id, row.version, raw)
            return Saved(row.id, f"{label} saved")

        return alert_form(self.tab.app, None if row is None else row.form_values(), save)

    async def delete(self, row) -> None:
        await self.services.alerts.delete(row.id)

    def delete_note(self, row) -> str:
        return "Its event history goes with it. The audit log keeps a record."

    def note(self, rows: list) -> str:
        money = any(r.area in MONEY_AREAS for r in rows)
        return "t tests the selected alert" + (" · money in the customer's currency"
                                               if money else "")


class EventsPane(Pane):
    key = "alert-events"
    title = "Events"
    empty = "No events yet: the evaluator writes one when an alert fires or re-arms"
    # enter shows an event whole
    columns = (Column("At (UTC)", 11), Column("Alert", 18), Column("Value", 12),
               Column("What happened", None))

    def cells(self, r):
        return (_when(r.at), clip(r.title, 18), clip(r.value, 12), clip(r.message, 200))

    def label(self, r) -> str:
        return f"Event of {r.title}"

    async def rows(self):
        return await self.services.alerts.events(self.customer_id)


class AlertsTab(PaneTab):
    PANES = (AlertsPane, EventsPane)
    BINDINGS = [
        *pane_bindings("alerts"),
        Binding("t", "test", "Test", id="alerts.test"),
    ]

    def check_action(self, action: str, parameters) -> bool | None:
        # add/edit/delete stay enabled on the events pane: a disabled binding would let
        # the key through to the screen's own e / ctrl+d (edit, delete the customer)
        if action == "test":
            return self.active_pane.key == "alerts"
        return True

    def action_add(self) -> None:  # from either pane: an alert
        if cover := self._start("write"):
            self._add(cover, self.panes[0])

    def action_delete(self) -> None:
        if self.active_pane.key == "alerts":
            super().action_delete()
        else:
            self.app.flash("Events are the alerts' history: they go with their alert")

    def action_edit(self) -> None:
        if self.active_pane.key == "alerts":
            super().action_edit()
        else:  # enter on an event: show it whole
            row = self.table(self.panes[1]).current
            if row is not None:
                self.app.push_screen(TextScreen(f"Event of {row.title}", [
                    f"At:    {row.at:%Y-%m-%d %H:%M:%S} UTC", f"Value: {row.value}", "",
                    row.message]))

    def action_test(self) -> None:
        row = self.current(self.panes[0])
        if row is not None and (cover := self._start("read")):
            self._test(cover, row)

    def _start(self, action: str) -> Opening | None:
        if action != "read":
            return super()._start(action)
        if self._busy or self.customer_id is None:  # a test writes nothing: any role
            return None
        self._busy = True
        cover = Opening()
        self.app.push_screen(cover)
        return cover

    @work(group="pane-action")
    async def _test(self, cover: Opening, row) -> None:
        async with self._covered(cover):
            try:
                out = await self.app.services.alerts.test(row.id)
            except NotFound:
                self.app.flash(f"{escape(alert_label(row.title))} no longer exists",
                               error=True)
                self.reload()
                return
            except StorageError as exc:
                self.app.flash(escape(f"Not tested: {exc}"), error=True)
                return
            await self.show(cover, TextScreen(f"Test: {row.title} (nothing is done)",
                                              report_lines(out)))
