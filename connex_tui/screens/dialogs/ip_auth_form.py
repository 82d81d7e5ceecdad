"""The IP authentication add/edit form (docs/domain.md §6), in Basic and Advanced sections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.markup import escape

from connex_tui.engine.routing_validation import (
    AUTH_DIRECTIONS,
    CODECS,
    DEFAULT_CODECS,
    DIAL_PATTERNS,
    PROTOCOLS,
)
from connex_tui.widgets.form import FieldSpec, FormScreen, reusable


def _choices(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((v, v) for v in values)


IP_AUTH_FIELDS = [
    FieldSpec("host", "Host", section="Basic",
              help="IPv4/IPv6 or CIDR; host name: egress only"),
    FieldSpec("direction", "Direction", kind="select", options=_choices(AUTH_DIRECTIONS),
              section="Basic", help="ingress: calls from it; egress: calls to it"),
    FieldSpec("channels", "Channels", section="Basic",
              help="concurrent calls; 0 = unlimited"),
    FieldSpec("flow_speed", "Flow speed (CPS)", section="Basic",
              help="new calls per second; 0 = unlimited"),
    FieldSpec("tech_prefix", "Tech prefix", section="Basic",
              help="digits * #, put before the number"),
    FieldSpec("strip_digits", "Strip digits", section="Basic",
              help="leading digits cut off first (0-20)"),
    FieldSpec("cli_prefix", "CLI prefix", section="Basic", help="put before the CLI"),
    FieldSpec("dial_pattern", "Dial pattern", kind="select", options=_choices(DIAL_PATTERNS),
              section="Basic"),
    FieldSpec("codecs", "Codecs", section="Advanced", help="of: " + " ".join(CODECS)),
    FieldSpec("manufacturer", "Manufacturer", section="Advanced"),
    FieldSpec("sw_version", "Version", section="Advanced", help="software version"),
    FieldSpec("protocol", "Protocol", kind="select", options=_choices(PROTOCOLS),
              section="Advanced"),
    FieldSpec("port", "Port", section="Advanced", help="1-65535; empty = 5060 (5061 for tls)"),
    FieldSpec("bandwidth", "Bandwidth (kbit/s)", section="Advanced", help="0 = unlimited"),
    FieldSpec("force_from", "Force From", section="Advanced",
              help="From header to send instead of the caller's"),
]

NEW_IP_AUTH = {"host": "", "direction": "ingress", "channels": "0", "flow_speed": "0",
               "tech_prefix": "", "strip_digits": "0", "cli_prefix": "", "dial_pattern": "e164",
               "codecs": DEFAULT_CODECS.replace(",", " "), "manufacturer": "", "sw_version": "",
               "protocol": "udp", "port": "", "bandwidth": "0", "force_from": ""}


def ip_auth_label(host: str) -> str:
    return f"IP {host}" if host else "IP entry"


def ip_auth_form(app: App, values: dict[str, Any] | None,
                 save: Callable[[dict[str, Any]], Awaitable[Any]]) -> FormScreen:
    title = ("Add IP authentication" if values is None
             else "Edit " + escape(ip_auth_label(values.get("host", ""))))
    return reusable(app, "ip-auth", title, IP_AUTH_FIELDS, dict(values or NEW_IP_AUTH), save)
