"""Dialogs tab: the customer's live calls, refreshed every second (screens/live_calls)."""

from __future__ import annotations

from textual.app import ComposeResult

from connex_tui.screens.customer_detail.tab_base import CustomerTab
from connex_tui.screens.live_calls import LiveCallsPanel


class DialogsTab(CustomerTab):
    def compose(self) -> ComposeResult:
        yield LiveCallsPanel(id="dialogs-live")

    @property
    def panel(self) -> LiveCallsPanel:
        return self.query_one(LiveCallsPanel)

    def on_show(self) -> None:
        # As on the Calls tab: the keys (ctrl+d, s, /) work as soon as the tab is shown.
        self.call_after_refresh(self._take_focus)

    def _take_focus(self) -> None:
        focused = self.screen.focused
        if self.display and (focused is None or self not in focused.ancestors):
            self.panel.table.focus()

    def reload(self) -> None:
        panels = self.query(LiveCallsPanel)  # none before compose
        if self.customer_id is not None and panels:
            panels.first().show_customer(self.customer_id)
