"""An audit row as the short sentence an operator reads: "created IP auth 203.0.113.5",
"changed route #4: channels 10 → 20". Pure: tested without a screen."""

from __future__ import annotations

from connex_tui.data.audit import MASK, AuditRow
from connex_tui.engine import present

VERBS = {"create": "created", "update": "changed", "delete": "deleted",
         "archive": "archived", "erase": "erased", "restore": "restored"}
# table -> (what one row is called, the field that names it)
ENTITIES = {
    "customers": ("customer", "name"),
    "ip_auth": ("IP auth", "host"),
    "sip_users": ("SIP user", "username"),
    "ingress_routes": ("route", "tech_prefix"),
    "cli_rules": ("CLI rule", "cli"),
    "payments": ("payment", ""),
    "contacts": ("contact", "email"),
}
LABELS = {
    "debit_limit": "debit limit", "tax_percent": "tax %", "flow_speed": "CPS",
    "paypal_email": "PayPal", "portal_access": "portal", "notes_public": "public note",
    "notes_private": "private note", "tech_prefix": "tech prefix", "dial_string": "dial string",
    "rate_card": "rate card", "capped_rate": "capped rate",
    "provider_capped_rate": "provider cap", "profit_assurance": "profit assurance",
    "block_connect_cost": "block connect cost", "max_duration": "max duration",
    "rtp_media_proxy": "RTP proxy", "rtp_proxy_mode": "RTP proxy mode",
    "lock_cards": "lock cards", "exclude_cards": "exclude cards", "rewrite_cli": "rewrite",
    "p_asserted_id": "PAID", "ip_whitelist": "IP whitelist", "cli_prefix": "CLI prefix",
    "dial_pattern": "dial pattern", "sw_version": "SW version", "archived_at": "archived",
}
SECRETS = ("password_hash", "ha1")  # masked by the audit writer; one change = new password
# What an operator looks for first in a change.
FIRST = ("status", "archived_at", "archived", "name", "debit_limit", "channels", "flow_speed",
         "currency", "tax_percent")
VALUE_WIDTH = 24


def value_text(value, width: int = VALUE_WIDTH) -> str:
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return present.clip(present.one_line(value), width)


def audit_sentence(row: AuditRow) -> str:
    """One line: verb, the thing, and for a change the fields in the order that matters."""
    verb = VERBS.get(row.action, present.one_line(row.action))
    noun, name_field = ENTITIES.get(row.table, (row.table.replace("_", " "), ""))
    changes = row.changes or {}
    if row.table == "customers" and row.action in ("archive", "erase", "restore"):
        return f"{verb} the customer"
    if row.action in ("create", "delete", "erase") and name_field in changes:
        before, after = changes[name_field]
        name = after if row.action == "create" else before
        if name in (None, "") and name_field == "tech_prefix":
            thing = f"{noun} without tech prefix"
        else:
            thing = f"{noun} {value_text(name, 40)}"
        direction = (changes.get("direction") or [None, None])[1 if row.action == "create"
                                                               else 0]
        if direction == "egress":
            thing += " (egress)"
        return f"{verb} {thing}"
    if row.table == "customers":  # on the customer's own tab: "changed status a → b"
        return f"{verb} {fields_text(changes)}" if changes else f"{verb} the customer"
    thing = noun if row.row_id is None else f"{noun} #{row.row_id}"
    return f"{verb} {thing}: {fields_text(changes)}" if changes else f"{verb} {thing}"


def fields_text(changes: dict) -> str:
    """`status active → penalty, channels 10 → 20`; a new password once, never a value."""
    parts = []
    ordered = sorted(changes.items(),
                     key=lambda kv: FIRST.index(kv[0]) if kv[0] in FIRST else len(FIRST))
    for key, (before, after) in ordered:
        if key in SECRETS or MASK in (before, after):
            if "new password" not in parts:
                parts.append("new password")
            continue
        label = LABELS.get(key, present.one_line(key).replace("_", " "))
        parts.append(f"{label} {value_text(before)} {present.glyphs().arrow} {value_text(after)}")
    return ", ".join(parts)
