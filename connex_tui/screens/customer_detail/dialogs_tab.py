"""Dialogs tab: the customer's live calls, refreshed every second (screens/live_calls)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from connex_tui.screens.customer_detail.tab_base import CustomerTab
from connex_tui.screens.live_calls import LiveCallsPanel, call_lines
from connex_tui.widgets.text_view import TextScreen


class CustomerCallsPanel(LiveCallsPanel):
    def on_shown(self) -> None:
        """The header's live channel count follows the tab's (it was read at open)."""
        show = getattr(self.screen, "show_live_channels", None)
        if show is not None and self.polls and self.customer_id is not None:
            show(self.customer_id, len(self.rows))


class DialogsTab(CustomerTab):
    # enter reaches the table first (it selects the row, handled below); listed for `?`
    BINDINGS = [Binding("enter", "open_call", "Call details", show=False,
                        id="dialogs.open")]

    def compose(self) -> ComposeResult:
        yield CustomerCallsPanel(id="dialogs-live")

    @property
    def panel(self) -> LiveCallsPanel:
        return self.query_one(LiveCallsPanel)

    def on_show(self) -> None:
        # As on the Calls tab: the keys (ctrl+d, s, /) work as soon as the tab is shown.
        self.call_after_refresh(self._take_focus)

    def _take_focus(self) -> None:
        """The table, unless a filter is being typed. The screen hands a tab shown with
        nothing focused to its first widget, the filter box: the tab's keys (s, ?, ctrl+d)
        were typed into it when the tab was opened from the Main tab."""
        box = self.panel.filter_box
        if self.display and not (box.has_focus and box.value):
            self.panel.table.focus()

    @on(DataTable.RowSelected)
    def action_open_call(self) -> None:
        """enter: every field of the call, the ones the columns leave out too."""
        row = self.panel.current
        if row is not None:
            self.app.push_screen(TextScreen(f"Call {row.call_id}",
                                            call_lines(row, self.app.clock())))

    def reload(self) -> None:
        panels = self.query(LiveCallsPanel)  # none before compose
        if self.customer_id is not None and panels:
            panels.first().show_customer(self.customer_id)
