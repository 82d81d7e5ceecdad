"""Routing tab: the customer's ingress routes (docs/domain.md §4) and CLI rules (§5)."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.binding import Binding

from connex_tui.data.access import NotFound
from connex_tui.engine import present
from connex_tui.engine.present import clip, limit
from connex_tui.screens.customer_detail.pane_tab import Pane, PaneTab, Saved, pane_bindings
from connex_tui.screens.dialogs.cli_rule_form import cli_rule_form, cli_rule_label
from connex_tui.screens.dialogs.route_form import route_form, route_label
from connex_tui.screens.rate_card import RateCardScreen
from connex_tui.widgets.row_table import Column

DIAL_WIDTH = 22


def yes_no(value: bool, *, no_style: str = "dim") -> Text:
    return Text("yes") if value else Text("no", style=no_style)


class RoutesPane(Pane):
    key = "routes"
    title = "Ingress routes"
    empty = "No ingress routes: press a to add one (the customer cannot call without)"
    columns = (Column("Tech prefix", 11), Column("Rate card", 16), Column("Chan", 5, right=True),
               Column("CPS", 4, right=True), Column("Dial string", DIAL_WIDTH),
               Column("Enabled", 7))
    _choices: tuple[str, tuple[list[str], list[str], list[str]]] | None = None  # of fetch

    def cells(self, r):
        return (r.tech_prefix or Text("(none)", style="dim"), clip(r.rate_card, 16),
                limit(r.channels), limit(r.flow_speed),
                clip(r.dial_string, DIAL_WIDTH) or Text("(every number)", style="dim"),
                yes_no(r.enabled, no_style="bold red"))

    def label(self, r) -> str:
        return route_label(r.tech_prefix)

    async def rows(self):
        return await self.services.routes.routes(self.customer_id)

    async def fetch(self, row_id: int):
        # The form's choices are read beside the route (not after it): one wait, not two.
        row, self._choices = await asyncio.gather(
            self.services.routes.route(row_id), self.choices())
        return row

    async def choices(self) -> tuple[str, tuple[list[str], list[str], list[str]]]:
        """The customer's currency and the form's choices (RoutesService.form_choices)."""
        customer_id = self.customer_id
        # Only customer cards in the customer's currency can be chosen (the service refuses
        # others), so the one preselected on add can be saved as it is. The currency never
        # changes once created: the screen's copy saves a read (key to form painted).
        detail = getattr(self.tab.screen, "detail", None)
        currency = (detail.currency if detail is not None and detail.id == customer_id
                    else (await self.services.customers.get(customer_id)).currency)
        return currency, await self.services.routes.form_choices(currency)

    async def form(self, row):
        svc = self.services.routes
        customer_id = self.customer_id
        # an edit's choices came with its row (fetch); an add reads them now
        found, self._choices = self._choices, None
        currency, (cards, provider_cards, scripts) = (
            found if row is not None and found is not None else await self.choices())
        if not cards and row is None:
            self.tab.app.flash(f"No customer rate card in {currency} exists yet: create one "
                               "first (connex-tui config apply or rates import)", error=True)
            return None

        async def save(raw):
            label = route_label(str(raw.get("tech_prefix", "")).strip())
            if row is None:
                return Saved(await svc.create_route(customer_id, raw), f"{label} added")
            await svc.update_route(row.id, row.version, raw)
            return Saved(row.id, f"{label} saved")

        return route_form(self.tab.app, None if row is None else row.form_values(), save,
                          cards=cards, currency=currency, provider_cards=provider_cards,
                          scripts=scripts)

    async def delete(self, row) -> None:
        await self.services.routes.delete_route(row.id)

    def delete_note(self, row) -> str:
        return (f"Calls with tech prefix {row.tech_prefix or '(none)'} will no longer use "
                f"this route (rate card {row.rate_card}). The audit log keeps a record.")


class CliRulesPane(Pane):
    key = "cli-rules"
    title = "CLI rules"
    empty = "No CLI rules: every CLI passes unchanged. Press a to add one"
    # "#" is the rule's place in the order the rules are tried (1 = first), as the
    # simulate trace numbers them ("rule 1"), whatever positions are stored.
    columns = (Column("#", 3, right=True, line_number=True), Column("CLI", 20),
               Column("Rewrite", 16), Column("PAID", 16), Column("Forced", 6))

    def cells(self, r):
        return (clip(r.cli, 20), clip(r.rewrite_cli, 16), clip(r.p_asserted_id, 16),
                Text("yes", style="bold") if r.forced else "")

    def note(self, rows) -> str:
        """§5: one non-forced rule turns the rules into a whitelist."""
        whitelist = any(not r.forced for r in rows)
        forced = any(r.forced for r in rows)
        if whitelist:
            return ("whitelist: a CLI matching no rule " +
                    ("gets the forced one" if forced else "is rejected (403)"))
        return "every CLI gets the forced rule's CLI" if forced else ""

    def label(self, r) -> str:
        return cli_rule_label(r.cli, r.forced)

    async def rows(self):
        return await self.services.cli_rules.cli_rules(self.customer_id)

    async def fetch(self, row_id: int):
        for r in await self.services.cli_rules.cli_rules(self.customer_id):
            if r.id == row_id:
                return r
        raise NotFound(f"CLI rule {row_id}")

    async def form(self, row):
        svc = self.services.cli_rules
        customer_id = self.customer_id

        async def save(raw):
            label = cli_rule_label(str(raw.get("cli", "")).strip(), bool(raw.get("forced")))
            if row is None:
                return Saved(await svc.create_cli_rule(customer_id, raw), f"{label} added")
            await svc.update_cli_rule(row.id, row.version, raw)
            return Saved(row.id, f"{label} saved")

        return cli_rule_form(self.tab.app, None if row is None else row.form_values(), save)

    async def delete(self, row) -> None:
        await self.services.cli_rules.delete_cli_rule(row.id)


class RoutingTab(PaneTab):
    PANES = (RoutesPane, CliRulesPane)
    BINDINGS = [
        *pane_bindings("routing"),
        Binding("v", "view_card", "View card", id="routing.view_card"),
    ]

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "view_card":
            return self.active_pane.key == "routes"
        return True

    def action_view_card(self) -> None:
        row = self.current(self.panes[0])
        if row is None:
            return
        detail = getattr(self.screen, "detail", None)
        g = present.glyphs()
        crumb = f"Customers {g.crumb} {detail.name} {g.crumb} Routing" if detail else ""
        self.app.push_screen(RateCardScreen(row.rate_card_id, row.rate_card, crumb))
