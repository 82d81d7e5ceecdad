"""The SIP user add/edit form (docs/domain.md §6) and the one-time display of a password."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.engine.routing_validation import SIP_PASSWORD_MIN
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable
from connex_tui.widgets.text_view import TextScreen


def sip_user_fields(creating: bool) -> list[FieldSpec]:
    password_help = (f"{SIP_PASSWORD_MIN}+ characters, or empty with generate on"
                     if creating else "empty = keep it; or a new one, or generate")
    return [
        FieldSpec("username", "Username", help="3-64 of: letters, digits, . _ -"),
        FieldSpec("password", "Password", help=password_help, extra={"password": True}),
        FieldSpec("generate", "Generate password", kind="switch",
                  help="random password, shown once after saving"),
        FieldSpec("channels", "Channels", help="concurrent calls; 0 = unlimited"),
        FieldSpec("flow_speed", "Flow speed (CPS)", help="new calls per second; "
                                                         "0 = unlimited"),
        FieldSpec("ip_whitelist", "IP whitelist", kind="textarea",
                  help="CIDRs allowed, one a line; empty = any"),
    ]


NEW_SIP_USER = {"username": "", "password": "", "generate": True, "channels": "0",
                "flow_speed": "0", "ip_whitelist": ""}


def sip_user_label(username: str) -> str:
    return f"SIP user {username}" if username else "SIP user"


def sip_user_form(app: App, values: dict[str, Any] | None,
                  save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    creating = values is None
    title = ("Add SIP user" if creating
             else "Edit " + escape(sip_user_label(values.get("username", ""))))
    start = dict(NEW_SIP_USER if creating else {**values, "password": "", "generate": False})
    return reusable(app, "sip-user", title, sip_user_fields(creating), start, save)


def password_once(username: str, password: str) -> TextScreen:
    """The only time a SIP password is shown: it is stored as hashes from now on."""
    return TextScreen(f"Password of SIP user {username}", [
        "", f"    {password}", "",
        "Copy it now: it is stored only as a hash and will NOT be shown again.",
        "If it is lost, press p on the user to set a new one.",
    ])
