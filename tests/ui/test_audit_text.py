"""Audit rows read as short sentences on the Main tab."""

from __future__ import annotations

from datetime import UTC, datetime

from connex_tui.data.audit import MASK, AuditRow
from connex_tui.screens.customer_detail.audit_text import audit_sentence

AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def row(action: str, table: str, changes: dict, row_id: int | None = 7) -> AuditRow:
    return AuditRow(AT, "ana", action, table, row_id, changes)


def test_created_and_deleted_rows_are_named():
    assert audit_sentence(row("create", "ip_auth", {
        "host": [None, "203.0.113.5"], "direction": [None, "ingress"],
        "channels": [None, 0]})) == "created IP auth 203.0.113.5"
    assert audit_sentence(row("delete", "ip_auth", {
        "host": ["gw.example.net", None], "direction": ["egress", None]})) \
        == "deleted IP auth gw.example.net (egress)"
    assert audit_sentence(row("create", "sip_users", {
        "username": [None, "alice"], "ha1": [None, MASK]})) == "created SIP user alice"
    assert audit_sentence(row("create", "ingress_routes", {
        "tech_prefix": [None, "1111#"]})) == "created route 1111#"
    assert audit_sentence(row("create", "ingress_routes", {
        "tech_prefix": [None, ""]})) == "created route without tech prefix"
    assert audit_sentence(row("delete", "cli_rules", {"cli": ["^44", None]})) \
        == "deleted CLI rule ^44"
    assert audit_sentence(row("create", "customers", {
        "name": [None, "Acme Telecom"], "currency": [None, "USD"]})) \
        == "created customer Acme Telecom"


def test_changes_list_what_matters_first_in_plain_words():
    assert audit_sentence(row("update", "customers", {
        "channels": [10, 20], "debit_limit": ["50.00", "100.00"], "status": ["active",
                                                                         "penalty"]})) \
        == "changed status active → penalty, debit limit 50.00 → 100.00, channels 10 → 20"
    assert audit_sentence(row("update", "ingress_routes", {
        "enabled": [True, False], "lock_cards": [[], ["UK A", "UK B"]]}, row_id=4)) \
        == "changed route #4: enabled yes → no, lock cards none → UK A, UK B"
    assert audit_sentence(row("archive", "customers", {"archived_at": [None, "2026"]})) \
        == "archived the customer"
    assert audit_sentence(row("restore", "customers", {"archived": [True, False]})) \
        == "restored the customer"


def test_passwords_never_show_and_count_once():
    assert audit_sentence(row("update", "sip_users", {
        "ha1": [MASK, MASK], "password_hash": [MASK, MASK]}, row_id=3)) \
        == "changed SIP user #3: new password"


def test_hostile_text_is_escaped_and_long_values_cut():
    text = audit_sentence(row("update", "cli_rules", {
        "rewrite_cli": ["\x1b]52;c;AAAA\x07", "a\u202eb\nc" + "9" * 40]}))
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b" in text and "\\u202e" in text and " ⏎ " in text
    assert text.endswith("…")
