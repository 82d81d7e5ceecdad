"""The contact add/edit form, the portal-password form and the one-time display of a
generated password (docs/domain.md §2)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.engine import present
from connex_tui.engine.contact_validation import GENERATED_PORTAL_LENGTH, PORTAL_PASSWORD_MIN
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable
from connex_tui.widgets.text_view import TextScreen

CONTACT_FIELDS = [
    FieldSpec("name", "Name"),
    FieldSpec("email", "Email", help="the portal login: unique across all contacts"),
    FieldSpec("phone", "Phone", help="+ country code and number, or empty"),
    FieldSpec("notes_public", "Public notes", kind="textarea",
              help="a portal may show them to the customer"),
    FieldSpec("notes_private", "Private notes", kind="textarea", help="operators only"),
]
NEW_CONTACT = {"name": "", "email": "", "phone": "", "notes_public": "", "notes_private": ""}


def contact_label(name: str) -> str:
    return f"Contact {name}" if name else "Contact"


def contact_form(app: App, values: dict[str, Any] | None,
                 save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    title = ("Add contact" if values is None
             else "Edit " + escape(present.one_line(contact_label(values.get("name", "")))))
    return reusable(app, "contact", title, CONTACT_FIELDS, dict(values or NEW_CONTACT), save)


def password_fields(mail_to: str | None) -> list[FieldSpec]:
    where = (f"mailed to {present.one_line(mail_to)}" if mail_to
             else "shown once here (no SMTP configured)")
    return [
        FieldSpec("generate", "Generate", kind="switch",
                  help=f"random, {GENERATED_PORTAL_LENGTH} characters, {where}"),
        FieldSpec("password", "Or type one", extra={"password": True},
                  help=f"{PORTAL_PASSWORD_MIN}+ characters, with generate off; not mailed"),
    ]


def password_form(app: App, name: str, mail_to: str | None,
                  save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    """Generate (and mail) or type a contact's portal password; `mail_to` None: no SMTP."""
    title = f"Portal password of {escape(present.one_line(name))}"
    return reusable(app, "contact-password", title, password_fields(mail_to),
                    {"generate": True, "password": ""}, save)


def password_once(email: str, password: str, why: str) -> TextScreen:
    """The only time a generated portal password is shown: stored as a hash from now on."""
    return TextScreen(f"Portal password of {email}", [
        why, "", f"    {password}", "",
        "Pass it on to the contact now: it is stored only as a hash and will NOT be shown "
        "again.",
        "If it is lost, press p on the contact to set a new one.",
    ])
