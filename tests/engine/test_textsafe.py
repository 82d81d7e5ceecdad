"""engine/textsafe: what reaches a terminal shows every control and bidi character as a
visible escape, and keeps printable Unicode."""

from __future__ import annotations

import pytest

from connex_tui.engine.textsafe import has_control, safe_text


@pytest.mark.parametrize("raw, shown", [
    ("ACME\x1b[2J", "ACME\\x1b[2J"),
    ("\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07"),  # OSC 52 writes the clipboard
    ("a\x9b31m", "a\\x9b31m"),  # the one-byte CSI
    ("evil\u202egnp.exe", "evil\\u202egnp.exe"),
    ("x\u2066y\u2069", "x\\u2066y\\u2069"),
    ("del\x7f\r\n\t", "del\\x7f\\x0d\\x0a\\x09"),
    ("Zürich 東京 … ∞ 🔎", "Zürich 東京 … ∞ 🔎"),
])
def test_safe_text_escapes_controls_and_keeps_printable_text(raw, shown):
    assert safe_text(raw) == shown
    assert not has_control(safe_text(raw))


def test_has_control_lets_new_lines_and_tabs_through_only_when_multiline():
    assert has_control("a\nb") and not has_control("a\n\tb", multiline=True)
    assert has_control("a\nb\x1b", multiline=True)
    assert not has_control("Zürich 東京")
