"""The Contacts section of the Main tab (docs/domain.md §2): a table with add, edit, delete and
"portal password" (`p`: generate and mail, or type).

A generated password that was not mailed (no SMTP configured, or the mail failed) is shown
once in a modal right after it was set; a mailed or typed one is never shown. With no
contact, `e` and `ctrl+d` fall through to the customer screen (edit / delete the customer),
as they did before the section existed.
"""

from __future__ import annotations

from textual import work
from textual.binding import Binding
from textual.markup import escape

from connex_tui.data.access import NotFound
from connex_tui.engine import present
from connex_tui.engine.validation import ValidationError
from connex_tui.screens.customer_detail.pane_tab import Opening, Pane, PaneTab, Saved
from connex_tui.screens.dialogs.contact_form import (
    contact_form,
    contact_label,
    password_form,
    password_once,
)
from connex_tui.widgets.row_table import Column

NEEDS_ROW = ("edit", "delete", "password")


class ContactsPane(Pane):
    key = "contacts"
    title = "Contacts"
    empty = "No contacts: press a to add one (its email is the portal login)"
    hint = "press a to add one (its email is the portal login)"
    columns = (Column("Name", 18), Column("Email", 32), Column("Phone", 16), Column("Pw", 2))

    def cells(self, r):
        return (present.clip(r.name, 18), present.clip(r.email, 32), r.phone or "-",
                present.glyphs().allow if r.has_password else "-")

    def label(self, r) -> str:
        return contact_label(r.name)

    def note(self, rows: list) -> str:
        """80x24 has no line to spare: the empty hint follows the title."""
        return "" if rows else self.hint

    async def rows(self):
        return await self.services.contacts.contacts(self.customer_id)

    async def fetch(self, row_id: int):
        row = await self.services.contacts.get(row_id)
        if row.customer_id != self.customer_id:
            raise NotFound(f"contact {row_id}")
        return row

    async def form(self, row):
        svc = self.services.contacts
        customer_id = self.customer_id

        async def save(raw):
            label = contact_label(str(raw.get("name", "")).strip())
            if row is None:
                return Saved(await svc.create(customer_id, raw), f"{label} added")
            await svc.update(row.id, row.version, raw)
            return Saved(row.id, f"{label} saved")

        return contact_form(self.tab.app, None if row is None else row.form_values(), save)

    async def delete(self, row) -> None:
        await self.services.contacts.delete(row.id)

    def delete_note(self, row) -> str:
        return (f"{row.email} can no longer log in to the portal. The audit log keeps a "
                "record.")


class ContactsSection(PaneTab):
    """A PaneTab of one pane, inside the Main tab (the screen reloads it with the tabs)."""

    DEFAULT_CSS = """
    ContactsSection { height: auto; }
    ContactsSection TablePane { height: auto; }
    ContactsSection TablePane > RowTable { height: auto; max-height: 5; }
    ContactsSection TablePane > .pane-empty { display: none; }  /* said in the title */
    """
    PANES = (ContactsPane,)
    BINDINGS = [
        Binding("a", "add", "Add", id="contacts.add"),
        Binding("e", "edit", "Edit", id="contacts.edit"),
        Binding("ctrl+d,delete", "delete", "Delete", id="contacts.delete"),
        Binding("p", "password", "Password", id="contacts.password",
                tooltip="Set a contact's portal password (generate and mail, or type)"),
    ]

    def on_show(self) -> None:
        """The Main tab decides the focus (PaneTab's would take it from the screen)."""

    def check_action(self, action: str, parameters) -> bool | None:
        if action in NEEDS_ROW:
            return bool(self.table(self.panes[0]).rows_shown)
        return True

    def changed(self) -> None:
        """A contact was written: the Main tab's history shows it."""
        load = getattr(self.screen, "load", None)
        if load is not None:
            load()

    async def after_save(self, cover: Opening, pane: Pane, saved: Saved) -> None:
        self.changed()

    def action_password(self) -> None:
        row = self.current(self.panes[0])
        if row is not None and (cover := self._start("write")):
            self._password(cover, row)

    @work(group="pane-action")
    async def _password(self, cover: Opening, row) -> None:
        from connex_tui.feeds.mail import SmtpSettings
        from connex_tui.feeds.portal_password import set_password

        async with self._covered(cover):
            smtp = SmtpSettings.from_config(self.app.config)
            svc = self.app.services.contacts

            async def save(raw):
                generate = bool(raw.get("generate"))
                typed = raw.get("password") or ""
                if generate and typed:
                    raise ValidationError({"password": "leave empty to generate one"})
                return await set_password(svc, row.id, smtp,
                                          typed=None if generate else typed)

            outcome = await self.show(cover, password_form(self.app, row.name,
                                                           row.email if smtp else None, save))
            if outcome is None:
                return
            self.changed()
            self.reload({"contacts": row.id})
            who = escape(present.one_line(outcome.saved.email))
            off = "" if outcome.saved.portal_access else " (portal access is off)"
            if outcome.mailed:
                self.app.flash(f"New password mailed to {who}{escape(off)}")
            elif outcome.show_once:
                why = (f"Not mailed: {outcome.mail_error}" if outcome.mail_error
                       else "Not mailed: no SMTP is configured.")
                self.app.flash(f"New password set for {who}, not mailed{escape(off)}",
                               error=bool(outcome.mail_error))
                await self.app.push_screen_wait(password_once(outcome.saved.email,
                                                              outcome.show_once, why))
            else:
                self.app.flash(f"Password set for {who}{escape(off)}")
