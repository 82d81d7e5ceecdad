"""Command palette providers: go to customer (from the database), go to tab, actions."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from connex_tui.data.customers import FILTER_LABELS, STATUS_FILTERS


class CustomerCommands(Provider):
    """'Go to customer: NAME' for any customer whose name, email, IP, SIP user, DID or tech
    prefix matches what is typed; plus the list's filters and 'Add customer'."""

    def _actions(self):
        from connex_tui.screens.customer_list import CustomerListScreen

        screen = self.screen
        out = []
        if isinstance(screen, CustomerListScreen):
            out.append(("Add customer", screen.action_add, "Open the new-customer form"))
            out.append(("Simulate call…", self._simulate,
                        "What the switch would do with a call; the customer is found by "
                        "IP or SIP user"))
            for s in STATUS_FILTERS:
                out.append((f"Filter: {FILTER_LABELS[s]}", partial(self._set_filter, screen, s),
                            "Show customers with this status"))
        out.append(("Live calls", self.app.action_live_calls,
                    "Every customer's live calls, with per-customer totals"))
        out.append(("DIDs", self.app.action_dids,
                    "Every DID: search any number, see whose it is, the unassigned stock"))
        out.append(("Package catalogue", self.app.action_packages,
                    "Every package: add, edit, delete"))
        tabs = getattr(screen, "tab_commands", None)
        if tabs:
            out.extend(tabs())
        return out

    def _simulate(self) -> None:
        from connex_tui.screens.dialogs.simulate import open_simulate

        open_simulate(self.app)

    @staticmethod
    def _set_filter(screen, status: str) -> None:
        from textual.widgets import Select

        screen.query_one("#status", Select).value = status

    async def discover(self) -> Hits:
        for name, callback, help_text in self._actions():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._actions():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        q = query.strip()
        if len(q) < 1:
            return
        app = self.app
        for cid, name, archived in await app.services.customers.find(q, limit=15):
            text = f"Go to customer: {name}" + (" (archived)" if archived else "")
            yield Hit(max(matcher.match(text), 0.5), matcher.highlight(text),
                      partial(app.open_customer, cid), help="Open the customer")
