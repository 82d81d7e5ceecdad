"""Auth tab: the customer's IP authentication entries and SIP users (docs/domain.md §6).

A generated SIP password (generate on, or a reset with `p`) is shown once, in a modal, right
after it was set; a typed one is not shown back (the operator knows it: "password set" is
flashed). The table and the audit log never hold it.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.markup import escape

from connex_tui.data.access import NotFound, PermissionDenied
from connex_tui.data.auth import NeedsConfirmation
from connex_tui.engine.present import clip, limit
from connex_tui.engine.textsafe import safe_text
from connex_tui.engine.validation import ValidationError
from connex_tui.screens.customer_detail.pane_tab import (
    Opening,
    Pane,
    PaneTab,
    Saved,
    pane_bindings,
)
from connex_tui.screens.dialogs.ip_auth_form import ip_auth_form, ip_auth_label
from connex_tui.screens.dialogs.sip_user_form import password_once, sip_user_form, sip_user_label
from connex_tui.widgets.confirm import ConfirmScreen
from connex_tui.widgets.row_table import Column


def confirm_auth(warnings: list[str]) -> ConfirmScreen:
    return ConfirmScreen("Save this IP authentication?",
                         "\n".join(f"! {escape(safe_text(w))}" for w in warnings),
                         yes="Save anyway", no="Back to the form")


async def _find(rows_coro, row_id: int, what: str):
    for r in await rows_coro:
        if r.id == row_id:
            return r
    raise NotFound(f"{what} {row_id}")


class IpAuthPane(Pane):
    key = "ip-auth"
    title = "IP authentication"
    empty = "No IP authentication: press a to add the customer's switch address"
    columns = (Column("Host", 24), Column("Dir", 7), Column("Chan", 5, right=True),
               Column("CPS", 4, right=True), Column("Tech pfx", 8), Column("Proto/port", 10))

    def cells(self, r):
        direction = Text(r.direction, style="" if r.direction == "ingress" else "dim")
        return (clip(r.host, 24), direction, limit(r.channels), limit(r.flow_speed),
                clip(r.tech_prefix, 8), f"{r.protocol}/{r.port}")

    def label(self, r) -> str:
        return ip_auth_label(r.host)

    async def rows(self):
        return await self.services.auth.ip_auth(self.customer_id)

    async def fetch(self, row_id: int):
        return await _find(self.services.auth.ip_auth(self.customer_id), row_id, "IP entry")

    async def form(self, row):
        svc = self.services.auth
        customer_id = self.customer_id

        async def write(raw, confirmed: bool) -> Saved:
            label = ip_auth_label(str(raw.get("host", "")).strip())
            if row is None:
                return Saved(await svc.create_ip_auth(customer_id, raw, confirmed=confirmed),
                             f"{label} added")
            await svc.update_ip_auth(row.id, row.version, raw, confirmed=confirmed)
            return Saved(row.id, f"{label} saved")

        async def save(raw):
            try:
                return await write(raw, False)
            except NeedsConfirmation as exc:  # nothing written yet: ask, in the form's worker
                if not await self.tab.app.push_screen_wait(confirm_auth(exc.warnings)):
                    raise ValidationError({"host": "not saved: change the host, or save "
                                                   "again and confirm"}) from None
            return await write(raw, True)

        return ip_auth_form(self.tab.app, None if row is None else row.form_values(), save)

    async def delete(self, row) -> None:
        await self.services.auth.delete_ip_auth(row.id)

    def delete_note(self, row) -> str:
        if row.direction == "ingress":
            return (f"Calls from {row.host} will no longer be accepted for this customer. "
                    "The audit log keeps a record.")
        return super().delete_note(row)


def saved_user(row_id: int, message: str, username: str, password: str | None,
               raw: dict) -> Saved:
    """Only a generated password is shown (once); the one the operator typed is known."""
    if not password:
        return Saved(row_id, message)
    if password == raw.get("password"):
        return Saved(row_id, f"{message}, password set")
    return Saved(row_id, message, secret=(username, password))


class SipUsersPane(Pane):
    key = "sip-users"
    title = "SIP users"
    empty = "No SIP users: press a to add one (a password can be generated)"
    columns = (Column("Username", 24), Column("Chan", 5, right=True), Column("CPS", 4,
                                                                            right=True),
               Column("IP whitelist", 30))

    def cells(self, r):
        nets = r.ip_whitelist.split()
        whitelist = (Text("(any address)", style="dim") if not nets
                     else clip(", ".join(nets), 30))
        return (clip(r.username, 24), limit(r.channels), limit(r.flow_speed),
                whitelist)

    def label(self, r) -> str:
        return sip_user_label(r.username)

    async def rows(self):
        return await self.services.auth.sip_users(self.customer_id)

    async def fetch(self, row_id: int):
        return await _find(self.services.auth.sip_users(self.customer_id), row_id, "SIP user")

    async def form(self, row):
        svc = self.services.auth
        customer_id = self.customer_id

        async def save(raw):
            username = str(raw.get("username", "")).strip()
            label = sip_user_label(username)
            if row is None:
                row_id, password = await svc.create_sip_user(customer_id, raw)
                return saved_user(row_id, f"{label} added", username, password, raw)
            password = await svc.update_sip_user(row.id, row.version, raw)
            return saved_user(row.id, f"{label} saved", username, password, raw)

        return sip_user_form(self.tab.app, None if row is None else row.form_values(), save)

    async def delete(self, row) -> None:
        await self.services.auth.delete_sip_user(row.id)

    def delete_note(self, row) -> str:
        return (f"Phones registered as {row.username} can no longer call. "
                "The audit log keeps a record.")


class AuthTab(PaneTab):
    PANES = (IpAuthPane, SipUsersPane)
    BINDINGS = [
        *pane_bindings("auth"),
        Binding("p", "reset_password", "New password", id="auth.reset_password"),
    ]

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "reset_password":
            return self.active_pane.key == "sip-users"
        return True

    async def after_save(self, cover: Opening, pane: Pane, saved: Saved) -> None:
        if saved.secret:  # shown whatever is on top: it cannot be seen again
            await self.app.push_screen_wait(password_once(*saved.secret))

    def action_reset_password(self) -> None:
        pane = self.panes[1]
        row = self.current(pane)
        if row is not None and (cover := self._start("write")):
            self._reset_password(cover, row)

    @work(group="pane-action")
    async def _reset_password(self, cover: Opening, row) -> None:
        async with self._covered(cover):
            name = escape(row.username)
            if not await self.show(cover, ConfirmScreen(
                    f"New password for {name}?",
                    f"A random password replaces the current one of SIP user {name}: phones "
                    "using the old one stop registering. It is shown once.",
                    yes="Set new password", no="Keep")):
                return
            try:
                password = await self.app.services.auth.reset_sip_password(row.id)
            except (PermissionDenied, NotFound) as exc:
                self.app.flash(escape(str(exc)), error=True)
                return
            self.app.flash(f"New password set for SIP user {name}")
            await self.app.push_screen_wait(password_once(row.username, password))
